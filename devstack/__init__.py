"""The embedded local deployment: AWS emulator, simulator, bridge, lambda runner and local API (``make run``)."""
