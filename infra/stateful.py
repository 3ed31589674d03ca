"""The stateful stack (``<prefix>Data``): what holds data and must survive a redeploy of the service.

Composed of :class:`~infra.constructs.AlarmTopic`, :class:`~infra.constructs.EventBus` (bus, archive,
schema registry), :class:`~infra.constructs.Tables`, :class:`~infra.constructs.Queues` (with their
dead-letter queues, the reactors' failure queue and depth alarms) and :class:`~infra.constructs.Secrets`.
Everything that holds data is retained on stack deletion, and keeps the logical ID of the first
version (``infra/logical_ids.py``; pinned by ``tests/infra/test_logical_ids.py``).
"""

from __future__ import annotations

from constructs import Construct

from contract.bus import BusMode
from infra.config import DeployConfig
from infra.constructs import AlarmTopic, EventBus, Queues, Secrets, Tables
from infra.logical_ids import GroupedStack
from infra.ordered_bus import OrderedBus


class StatefulStack(GroupedStack):
    """Data that outlives the compute: replace the stateless stacks freely, never this one lightly.

    The other stacks take what they need from the attributes below (bus, tables, queues, secrets, alarm action).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        alarm_topic = AlarmTopic(self, "AlarmTopic", email=config.alarm_email)
        event_bus = EventBus(self, "EventBus", config=config)
        tables = Tables(self, "Tables")
        queues = Queues(self, "Queues", config=config, alarm_action=alarm_topic.action)
        secrets = Secrets(self, "Secrets", bridge_token=config.bridge_auth_token)
        # ordered mode: an EventsV2 bus besides the classic one (infra/ordered_bus.py)
        self.ordered = OrderedBus(self, "OrderedBus", config=config) if config.bus_mode is BusMode.ORDERED else None

        self.alarm_action = alarm_topic.action
        self.bus = event_bus.bus
        self.tables = tables.tables
        self.queues = queues.queues
        self.queue_dlqs = queues.dead_letter_queues
        self.reactor_failures = queues.reactor_failures
        self.exotel_secret = secrets.exotel
        self.bridge_token_secret = secrets.bridge_token
