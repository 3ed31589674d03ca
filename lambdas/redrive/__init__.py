"""The `redrive` function (handler: `lambdas.redrive.handler.handler`)."""
