"""The two-party call as pure rules: the call-plan model and its decisions (no AWS, no HTTP, no env)."""
