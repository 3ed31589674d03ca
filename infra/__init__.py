"""CDK constructs and stacks. ``definitions`` is plain Python (no CDK) so the devstack can import it."""
