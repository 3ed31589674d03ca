"""The `sweeper` function (handler: `lambdas.sweeper.handler.handler`)."""
