"""The `leg_state` function (handler: `lambdas.leg_state.handler.handler`)."""
