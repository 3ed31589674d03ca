"""Lambda functions: thin handlers (one package per function) over a pure domain, one executor and data access.

``routing.py`` and ``wiring.py`` are the data CDK and the devstack read; docs/LAMBDAS.md has the layout.
"""
