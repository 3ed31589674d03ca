"""The contract: every name two parts of the adapter must agree on, and nothing else.

The bottom of the import graph (docs/ARCHITECTURE.md): standard library only, no I/O.

- :mod:`contract.catalogue`: every event name, its kind and ``event_type``, the state it implies;
- :mod:`contract.env`: environment-variable names, per process kind;
- :mod:`contract.resources`: tables and queues;
- :mod:`contract.metrics`: metric names and namespace;
- :mod:`contract.bus`: bus name and source defaults, PutEvents limits, bus kinds and modes (classic / EventsV2);
- :mod:`contract.deployment`: deployment-wide names (project tag, stack prefix, credentials secret).

The bridge, the functions, the simulator, CDK and the devstack import these; none of them writes
one of these values as a literal (tests/architecture checks both rules).
"""
