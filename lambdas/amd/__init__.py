"""The `amd` function (handler: `lambdas.amd.handler.handler`)."""
