"""The named parts the three stacks are composed of (docs/ARCHITECTURE.md "infra").

Each is a :class:`infra.logical_ids.Grouping`: a node of the construct tree that does not change
the logical IDs of what it holds, so the templates keep the IDs of the first version.

- ``ExotelLegsData``: :class:`AlarmTopic`, :class:`EventBus`, :class:`Tables`, :class:`Queues`, :class:`Secrets`;
- ``ExotelLegsBridge``: :class:`Network`, :class:`BridgeTask`, :class:`LoadBalancer`, :class:`BridgeService`;
- ``ExotelLegsFunctions``: :class:`Reactors` and :class:`RestApi` (each function a :class:`WiredFunction`),
  plus ``infra.monitoring.Monitoring``.
"""

from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.bridge_service import BridgeService
from infra.constructs.bridge_task import BridgeTask
from infra.constructs.event_bus import EventBus
from infra.constructs.load_balancer import LoadBalancer
from infra.constructs.network import Network
from infra.constructs.queues import Queues
from infra.constructs.reactors import Reactors
from infra.constructs.rest_api import RestApi
from infra.constructs.secrets import Secrets
from infra.constructs.tables import Tables
from infra.constructs.wired_function import WiredFunction

__all__ = [
    "AlarmTopic",
    "BridgeService",
    "BridgeTask",
    "EventBus",
    "LoadBalancer",
    "Network",
    "Queues",
    "Reactors",
    "RestApi",
    "Secrets",
    "Tables",
    "WiredFunction",
]
