"""The local console: what a team evaluating the adapter looks at in a browser (``/console`` on the API port).

Devstack-only (never deployed, not part of the Lambda API or its OpenAPI document): a live feed of the
bus, legs and calls with their timelines, the dead-letter and fallback queues, and buttons that run the
demo's scenarios. ``Console`` assembles the parts; ``server.ConsoleHttp`` answers the requests.
"""

from __future__ import annotations

from devstack.console.app import Console

__all__ = ["Console"]
