"""The `api` function (handler: `lambdas.api.handler.handler`)."""
