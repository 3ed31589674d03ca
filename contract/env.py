"""Environment-variable names: the contract between whoever starts a process (CDK, the devstack, a
test) and the process itself. Each process kind reads its own through a settings model
(``bridge/config.py``, ``lambdas/shared/config.py``, ``simulator/config.py``, ``devstack/config.py``);
nothing else spells these names.
"""

from __future__ import annotations


class Env:
    """What wires a function (and the bridge) to a resource or to Exotel."""

    LEG_STATE_TABLE = "LEG_STATE_TABLE"
    CALL_PLANS_TABLE = "CALL_PLANS_TABLE"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    EXOTEL_SECRET_NAME = "EXOTEL_SECRET_NAME"  # JSON: {account_sid, api_key, api_token}
    EXOTEL_BASE_URL = "EXOTEL_BASE_URL"  # e.g. https://cpaas-api.in.exotel.com (Mumbai)
    BRIDGE_ENDPOINT = "BRIDGE_ENDPOINT"  # grpc://host[:port], default leg_event_endpoint
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    EVENT_SOURCE = "EVENT_SOURCE"
    EVENT_BUS_KIND = "EVENT_BUS_KIND"  # contract.bus.BusKind: "classic" (default) or "v2" (EventBridge EventsV2)
    EVENT_BUS_ARN = "EVENT_BUS_ARN"  # the EventsV2 bus (arn:...:event-busv2/<name>/<id>); needed when kind is v2
    RETRY_QUEUE_URL = "RETRY_QUEUE_URL"
    FALLBACK_QUEUE_URL = "FALLBACK_QUEUE_URL"
    DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
    RETENTION_DAYS = "RETENTION_DAYS"  # TTL of leg-state and plan items, days
    DEPLOY_ENVIRONMENT = "DEPLOY_ENVIRONMENT"  # informational: the deployment's ``environment`` context
    EXOTEL_TIMEOUT_S = "EXOTEL_TIMEOUT_S"  # seconds a Legs API request may take (connect + reply), default 10
    # Deadlines of a call plan (seconds; lambdas/domain/deadlines.py): past one, the sweeper drives the plan on.
    PLAN_PENDING_DEADLINE_S = "PLAN_PENDING_DEADLINE_S"  # a dial or bridge neither confirmed nor refused: re-issue
    PLAN_HANGUP_DEADLINE_S = "PLAN_HANGUP_DEADLINE_S"  # a hangup / stop / end message not confirmed: hang up again
    PLAN_DIAL_DEADLINE_S = "PLAN_DIAL_DEADLINE_S"  # a dial neither answered nor ended: hang up, count it failed
    PLAN_REDIAL_SLACK_S = "PLAN_REDIAL_SLACK_S"  # a re-dial whose message never came: dialled after delay + this
    PLAN_BRIDGING_DEADLINE_S = "PLAN_BRIDGING_DEADLINE_S"  # a bridge asked for but never joined: end the call
    PLAN_BRIDGED_DEADLINE_S = "PLAN_BRIDGED_DEADLINE_S"  # a bridged call longer than this is ended
    PLAN_MESSAGE_DEADLINE_S = "PLAN_MESSAGE_DEADLINE_S"  # an end message whose say_completed never came: hang up
    PLAN_MAX_TRIES = "PLAN_MAX_TRIES"  # times an unconfirmed action is issued before the sweeper gives up on it


class AwsEnv:
    """The AWS SDK's and Lambda runtime's own names."""

    ENDPOINT_URL = "AWS_ENDPOINT_URL"
    REGION = "AWS_REGION"
    DEFAULT_REGION = "AWS_DEFAULT_REGION"
    ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
    SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
    SESSION_TOKEN = "AWS_SESSION_TOKEN"
    LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"

    @staticmethod
    def endpoint_url_for(service: str) -> str:
        """``AWS_ENDPOINT_URL_<SERVICE>``: botocore's per-service endpoint override."""
        return f"AWS_ENDPOINT_URL_{service.upper()}"


class PowertoolsEnv:
    """Powertools for AWS Lambda's own names (the bridge honours the first three too)."""

    SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
    TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
    IDEMPOTENCY_DISABLED = "POWERTOOLS_IDEMPOTENCY_DISABLED"  # tests only
    DEV = "POWERTOOLS_DEV"
    LOGGER_LOG_EVENT = "POWERTOOLS_LOGGER_LOG_EVENT"
    TRACER_CAPTURE_RESPONSE = "POWERTOOLS_TRACER_CAPTURE_RESPONSE"


class BridgeEnv:
    """``python -m bridge``. Besides these: Env.EVENT_BUS_NAME, EVENT_SOURCE, FALLBACK_QUEUE_URL,
    DEAD_LETTER_QUEUE_URL, the AWS SDK's and Powertools' names."""

    PREFIX = "BRIDGE_"
    HOST = "BRIDGE_HOST"
    PORT = "BRIDGE_PORT"
    AUTH_TOKEN = "BRIDGE_AUTH_TOKEN"
    TLS_CERT_FILE = "BRIDGE_TLS_CERT_FILE"
    TLS_KEY_FILE = "BRIDGE_TLS_KEY_FILE"
    TLS_CLIENT_CA_FILE = "BRIDGE_TLS_CLIENT_CA_FILE"
    # "true": a load balancer in front does mutual TLS (verify mode) and forwards x-amzn-mtls-clientcert-subject
    LB_MUTUAL_TLS = "BRIDGE_LB_MUTUAL_TLS"
    # verified client certificate subjects (RFC 2253) allowed to push: a JSON list, or one subject
    CLIENT_SUBJECTS = "BRIDGE_CLIENT_SUBJECTS"
    BATCH_MAX_ENTRIES = "BRIDGE_BATCH_MAX_ENTRIES"
    LINGER_MS = "BRIDGE_LINGER_MS"
    LINGER_WHEN = "BRIDGE_LINGER_WHEN"  # busy (default: only while the CPUs are busy, bridge/busy.py) | always
    BUSY_PERCENT = "BRIDGE_BUSY_PERCENT"  # CPU use from which they count as busy (default 85)
    MAX_IN_FLIGHT = "BRIDGE_MAX_IN_FLIGHT"
    PUBLISH_DEADLINE_MS = "BRIDGE_PUBLISH_DEADLINE_MS"
    FALLBACK_DEADLINE_MS = "BRIDGE_FALLBACK_DEADLINE_MS"
    MAX_EVENT_BYTES = "BRIDGE_MAX_EVENT_BYTES"
    DEDUP_SIZE = "BRIDGE_DEDUP_SIZE"
    DEDUP_TTL_S = "BRIDGE_DEDUP_TTL_S"
    SHUTDOWN_GRACE_S = "BRIDGE_SHUTDOWN_GRACE_S"
    DRAIN_DELAY_S = "BRIDGE_DRAIN_DELAY_S"
    KEEPALIVE_TIME_S = "BRIDGE_KEEPALIVE_TIME_S"
    KEEPALIVE_TIMEOUT_S = "BRIDGE_KEEPALIVE_TIMEOUT_S"
    MAX_CONNECTION_AGE_S = "BRIDGE_MAX_CONNECTION_AGE_S"
    METRICS_INTERVAL_S = "BRIDGE_METRICS_INTERVAL_S"
    PUBLISHER = "BRIDGE_PUBLISHER"  # async (default: PutEvents on the event loop) | threads (boto3 in a pool)
    WORKERS = "BRIDGE_WORKERS"  # processes sharing the port (default: the CPUs the task has)
    CPU_AFFINITY = "BRIDGE_CPU_AFFINITY"  # auto (default: one worker per CPU pinned to it) | off
    EVENT_LOOP = "BRIDGE_EVENT_LOOP"  # uvloop (default, when installed) | asyncio
    HTTP_CLIENT = "BRIDGE_HTTP_CLIENT"  # builtin (default: bridge/http1.py) | aiohttp
    PROTO = "BRIDGE_PROTO"  # the customer's .proto or FileDescriptorSet (default: protos/exotel_legs.proto)
    RPC = "BRIDGE_RPC"  # package.Service/Method in it (optional when it has one unary method)
    # python -m bridge.healthcheck (the container's HEALTHCHECK)
    HEALTHCHECK_CA_FILE = "BRIDGE_HEALTHCHECK_CA_FILE"
    HEALTHCHECK_CLIENT_KEY_FILE = "BRIDGE_HEALTHCHECK_CLIENT_KEY_FILE"
    HEALTHCHECK_CLIENT_CERT_FILE = "BRIDGE_HEALTHCHECK_CLIENT_CERT_FILE"
    HEALTHCHECK_SERVER_NAME = "BRIDGE_HEALTHCHECK_SERVER_NAME"


class SimulatorEnv:
    """``python -m simulator``: ``SIM_<FIELD>`` for every field of its settings, plus Exotel's credential names."""

    PREFIX = "SIM_"
    HOST = "SIM_HOST"
    PORT = "SIM_PORT"
    TIME_SCALE = "SIM_TIME_SCALE"
    ACCOUNT_SID = "SIM_ACCOUNT_SID"
    INBOUND_ENDPOINT = "SIM_INBOUND_ENDPOINT"
    TALK_SECONDS = "SIM_TALK_SECONDS"
    PUSH_PROTO = "SIM_PUSH_PROTO"  # push with the customer's .proto / descriptor set (like BRIDGE_PROTO)
    PUSH_RPC = "SIM_PUSH_RPC"
    PUSH_DEFAULT_PORT = "SIM_PUSH_DEFAULT_PORT"  # port of a grpc://host endpoint without one (Exotel: 443)
    LOG_LEVEL = "SIM_LOG_LEVEL"
    SAY_BLOCKS = "SIM_SAY_BLOCKS"  # "false": <Say> does not hold its flow (as <StartSay>); nothing may rely on it
    API_KEY = "EXOTEL_API_KEY"
    API_TOKEN = "EXOTEL_API_TOKEN"


class DevstackEnv:
    """``python -m devstack`` (``make run``). Ports: 0 picks a free one. Also SIM_PORT, BRIDGE_PORT, AWS_REGION."""

    AWS_EMULATOR_PORT = "AWS_EMULATOR_PORT"
    API_PORT = "API_PORT"
    LOG_LEVEL = "DEVSTACK_LOG_LEVEL"
    MAX_RECEIVE_COUNT = "DEVSTACK_MAX_RECEIVE_COUNT"
    CONSOLE = "DEVSTACK_CONSOLE"  # "0" / "false": no /console and no bus feed rule
    BUS_MODE = "DEVSTACK_BUS_MODE"  # contract.bus.BusMode: "classic" (default) or "ordered" (local EventsV2)
    EVENTSV2_PORT = "DEVSTACK_EVENTSV2_PORT"  # the local EventsV2 endpoint (0 = any free port, the default)
    SCHEDULE_SCALE = "DEVSTACK_SCHEDULE_SCALE"  # schedules and call-plan deadlines x this (default 0.25)


class EventsV2Env:
    """``python -m devstack.eventsv2`` (the local EventsV2 endpoint); the devstack passes the same names on."""

    PORT = "EVENTSV2_PORT"
    HOST = "EVENTSV2_HOST"
    SQS_ENDPOINT_URL = "EVENTSV2_SQS_ENDPOINT_URL"  # where subscribers' SQS targets live (the moto server)
    DEDUP_WINDOW_S = "EVENTSV2_DEDUP_WINDOW_S"  # how long a DeduplicationId is remembered (assumed 300 s)
    DELIVERY_INTERVAL_S = "EVENTSV2_DELIVERY_INTERVAL_S"  # idle poll of a subscriber's cursor
