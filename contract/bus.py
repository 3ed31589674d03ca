"""The bus every event lands on: default name and source, the Detail's schema version, PutEvents limits."""

from __future__ import annotations

#: ``Source`` of every event the bridge puts on the bus (a deploy setting: ``event_source``).
DEFAULT_SOURCE = "exotel.legs"
#: The custom bus's name (a deploy setting: ``bus_name``).
DEFAULT_BUS_NAME = "exotel-legs"
#: ``Detail.bridge.schema_version``: bumped when the Detail's shape changes incompatibly.
SCHEMA_VERSION = "1"
#: PutEvents limits: 10 entries per call, 256 KiB per call (entries' sizes added up).
MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
