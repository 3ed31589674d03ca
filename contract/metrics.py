"""CloudWatch metric names and namespace: emitted by the bridge and the functions, alarmed on by CDK."""

from __future__ import annotations

from enum import StrEnum

#: Namespace of every metric (overridable with ``POWERTOOLS_METRICS_NAMESPACE``).
NAMESPACE = "ExotelLegs"
#: Powertools service names (the ``service`` dimension).
BRIDGE_SERVICE = "bridge"


class BridgeMetric(StrEnum):
    """What the bridge emits (EMF, aggregated per interval)."""

    RECEIVED = "EventsReceived"
    PUBLISHED = "EventsPublished"
    SPILLED = "EventsSpilledToFallback"
    REJECTED = "EventsRejected"
    DUPLICATES = "EventsDuplicate"
    UNAVAILABLE = "EventsUnavailable"
    RETRIES = "PublishRetries"
    PUT_EVENTS_CALLS = "PutEventsCalls"
    DEAD_LETTERED = "EventsDeadLettered"
    BUS_DEDUPLICATED = "EventsDeduplicatedByBus"  # EventsV2 answered DEDUPLICATED: another task had stored it
    BATCH_SIZE = "BatchSize"
    PUBLISH_LATENCY = "PublishLatency"
    PUBLISH_LATENCY_MAX = "PublishLatencyMax"


class FunctionMetric(StrEnum):
    """What the functions emit (Powertools Metrics)."""

    EVENTS_PROCESSED = "EventsProcessed"
    EVENTS_IGNORED = "EventsIgnored"
    LEGS_API_CALLS = "LegsApiCalls"
    RETRIES_DIALLED = "RetriesDialled"
    EVENTS_REDRIVEN = "EventsRedriven"
    EVENTS_RECORDED = "EventsRecorded"
    LATE_EVENTS = "LateEvents"
    PLANS_SWEPT = "PlansSwept"  # plans the sweeper found past a deadline and drove on
    ACTIONS_REISSUED = "ActionsReissued"  # unconfirmed Legs API calls made again
    ACTIONS_GIVEN_UP = "ActionsGivenUp"  # unconfirmed Legs API calls abandoned after PLAN_MAX_TRIES
    STRAY_LEGS = "StrayLegsHungUp"  # legs the plan did not expect and did not need, hung up at once
    LEGS_ADOPTED = "LegsAdopted"  # legs the plan did not expect but still needed


def http_status_metric(status: int) -> str:
    """``Http2xx`` … ``Http5xx``: the API function's responses by class."""
    return f"Http{status // 100}xx"
