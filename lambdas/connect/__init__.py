"""The `connect` function (handler: `lambdas.connect.handler.handler`)."""
