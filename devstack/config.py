"""Devstack settings, read from the environment (AWS SDK names where they exist), with defaults for a human."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, field_validator

from contract.bus import DEFAULT_SOURCE, BusMode
from contract.env import AwsEnv, BridgeEnv, DevstackEnv, Env, PowertoolsEnv, SimulatorEnv
from contract.metrics import NAMESPACE
from legs.settings import EnvSettings

#: Credentials the simulator accepts and the local Exotel secret holds (INTERFACES.md "Local defaults").
LOCAL_ACCOUNT_SID = "local-account"
LOCAL_API_KEY = "local-key"
LOCAL_API_TOKEN = "local-token"
#: moto's default account id: ARNs the emulator hands out use it.
LOCAL_AWS_ACCOUNT = "123456789012"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class DevstackConfig(EnvSettings):
    """Everything ``python -m devstack`` needs; port 0 means "pick a free one" (see :meth:`with_free_ports`).

    :meth:`from_env` reads the variables named in ``contract.env`` (the AWS SDK's, the simulator's and the
    bridge's own where they exist); built by hand it takes only what it is given.
    """

    subject = "devstack configuration"

    host: str = "127.0.0.1"
    aws_emulator_port: int = Field(default=4566, ge=0, le=65535, validation_alias=DevstackEnv.AWS_EMULATOR_PORT)
    sim_port: int = Field(default=8080, ge=0, le=65535, validation_alias=SimulatorEnv.PORT)
    bridge_port: int = Field(default=50051, ge=0, le=65535, validation_alias=BridgeEnv.PORT)
    api_port: int = Field(default=3000, ge=0, le=65535, validation_alias=DevstackEnv.API_PORT)
    aws_region: str = Field(default="us-east-1", min_length=1, validation_alias=AwsEnv.REGION)
    sim_time_scale: float = Field(
        default=0.2,
        gt=0,
        description="simulator timers x this; 0.2 = 5x faster",
        validation_alias=SimulatorEnv.TIME_SCALE,
    )
    log_level: str = Field(default="INFO", validation_alias=DevstackEnv.LOG_LEVEL)
    max_receive_count: int = Field(
        default=3,
        ge=1,
        le=20,
        description="attempts before a rule's DLQ",
        validation_alias=DevstackEnv.MAX_RECEIVE_COUNT,
    )
    metrics_namespace: str = Field(default=NAMESPACE, min_length=1, validation_alias=PowertoolsEnv.METRICS_NAMESPACE)
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256, validation_alias=Env.EVENT_SOURCE)
    bus_mode: BusMode = Field(
        default=BusMode.CLASSIC,
        description="ordered: a local EventsV2 bus (devstack/eventsv2)",
        validation_alias=DevstackEnv.BUS_MODE,
    )
    eventsv2_port: int = Field(
        default=0, ge=0, le=65535, description="the local EventsV2 endpoint", validation_alias=DevstackEnv.EVENTSV2_PORT
    )
    schedule_scale: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="scheduled functions (the sweeper) and call-plan deadlines x this; 0.25 = every 15 s",
        validation_alias=DevstackEnv.SCHEDULE_SCALE,
    )
    console: bool = Field(
        default=True,
        description="serve /console on the API port (and feed it from the bus)",
        validation_alias=DevstackEnv.CONSOLE,
    )
    #: A customer's .proto / descriptor set: the bridge serves it and the simulator pushes with it.
    bridge_proto: str | None = Field(default=None, validation_alias=BridgeEnv.PROTO)
    bridge_rpc: str | None = Field(default=None, validation_alias=BridgeEnv.RPC)

    @field_validator("bridge_proto")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        # The children run from the repository root: a path relative to the caller's directory must not change.
        if value is None:
            return None
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"no readable file at {value}")
        return str(path)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.strip().upper()
        if upper not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return upper

    def with_free_ports(self) -> DevstackConfig:
        """Port 0 for the simulator or the bridge becomes a free port now (their processes get a number).

        The emulator and the local API bind port 0 themselves and report the port they got.
        """
        updates = {name: free_port(self.host) for name in ("sim_port", "bridge_port") if getattr(self, name) == 0}
        return self.model_copy(update=updates)

    @property
    def sim_url(self) -> str:
        return f"http://{self.host}:{self.sim_port}"

    @property
    def bridge_endpoint(self) -> str:
        return f"grpc://{self.host}:{self.bridge_port}"


_PORTS = ("aws_emulator_port", "sim_port", "bridge_port", "api_port", "eventsv2_port")


def check_ports_free(config: DevstackConfig) -> None:
    """Fail early and clearly when a fixed port is taken (a part would otherwise fail later, less readably,
    or, worse, the devstack would talk to whatever else listens there)."""
    for field in _PORTS:
        port, env_name = getattr(config, field), DevstackConfig.source_name(field)
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no conflict
            try:
                sock.bind((config.host, port))
            except OSError as exc:
                raise RuntimeError(
                    f"port {port} ({env_name}) is already in use on {config.host}: is another devstack running? "
                    f"Stop it, or set {env_name}=0 to pick a free port ({exc.strerror})"
                ) from exc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
