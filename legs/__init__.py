"""The shared domain: Exotel Legs models, events, the REST client and the EventBridge mapping."""
