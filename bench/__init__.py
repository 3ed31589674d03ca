"""Benchmarks of the adapter: ``python -m bench`` measures and writes ``docs/PERFORMANCE.md``.

Every figure is taken on loopback, bounded in count and time, and reported next to a baseline
measured in the same run (a no-op gRPC server, a bare interpreter, ...), because absolute
numbers on a shared two-core machine mean little on their own.
"""
