"""A local stand-in for Exotel: the Legs & Bridges REST API plus the gRPC event push.

``python -m simulator`` or, in-process, ``simulator.server.Simulator``. See docs/SIMULATOR.md.
"""
