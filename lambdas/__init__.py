"""Lambda functions: one package per function, plus the routing table (``routing.py``)."""
