"""The gRPC bridge: Exotel's ``TriggerCallbackEvent`` pushes -> the EventBridge bus, losing none."""
