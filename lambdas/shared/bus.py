"""The EventBridge event every reactor receives: Powertools' envelope with ``detail`` a :class:`LegEvent`."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from legs.events import LegEvent


class LegBusEvent(EventBridgeModel):
    """``{"version", "id", "detail-type", "source", "time", ..., "detail": <Exotel event>}``."""

    detail: LegEvent
