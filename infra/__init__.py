"""CDK: three stacks (``stateful``, ``bridge_service``, ``functions``) composed of the constructs in ``constructs/``."""
