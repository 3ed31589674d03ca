"""The custom event bus, its archive (for replay) and a schema registry of the events on it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra.config import DeployConfig
from infra.logical_ids import Grouping
from infra.schemas import load_schemas


class EventBus(Grouping):
    """Where the bridge puts Exotel's leg events; every event from ``event_source`` is archived."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=config.bus_name, description="Exotel leg events")
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"{config.bus_name}-archive"[:48],
            description="Every Exotel event, for replay",
            event_pattern=events.EventPattern(source=[config.event_source]),
            retention=Duration.days(config.archive_retention_days) if config.archive_retention_days else None,
        )
        self.schema_names = self._schemas(config.bus_name, config.event_source)

    def _schemas(self, registry_name: str, event_source: str) -> list[str]:
        """One JSON Schema (draft 4) per event type, as consumers see them from ``event_source``."""
        registry = eventschemas.CfnRegistry(
            self, "SchemaRegistry", registry_name=registry_name, description="Schemas of Exotel leg events"
        )
        names = []
        for index, schema in enumerate(load_schemas(event_source)):
            cfn_schema = eventschemas.CfnSchema(
                self,
                f"Schema{index}",
                registry_name=registry.registry_name or registry_name,
                schema_name=schema.name,
                type="JSONSchemaDraft4",
                content=schema.content,
                description=schema.description,
            )
            cfn_schema.node.add_dependency(registry)  # registry first
            names.append(schema.name)
        return names
