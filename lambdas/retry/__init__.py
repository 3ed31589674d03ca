"""The `retry` function (handler: `lambdas.retry.handler.handler`)."""
