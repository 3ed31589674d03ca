"""Devstack settings, read from the environment (AWS SDK names where they exist), with defaults for a human."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from pydantic import BaseModel, Field, field_validator

from contract.bus import DEFAULT_SOURCE, BusMode
from contract.env import AwsEnv, BridgeEnv, DevstackEnv, Env, PowertoolsEnv, SimulatorEnv
from contract.metrics import NAMESPACE

#: Credentials the simulator accepts and the local Exotel secret holds (INTERFACES.md "Local defaults").
LOCAL_ACCOUNT_SID = "local-account"
LOCAL_API_KEY = "local-key"
LOCAL_API_TOKEN = "local-token"
#: moto's default account id: ARNs the emulator hands out use it.
LOCAL_AWS_ACCOUNT = "123456789012"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class DevstackConfig(BaseModel):
    """Everything ``python -m devstack`` needs; port 0 means "pick a free one" (see :meth:`with_free_ports`)."""

    host: str = "127.0.0.1"
    aws_emulator_port: int = Field(default=4566, ge=0, le=65535)
    sim_port: int = Field(default=8080, ge=0, le=65535)
    bridge_port: int = Field(default=50051, ge=0, le=65535)
    api_port: int = Field(default=3000, ge=0, le=65535)
    aws_region: str = "us-east-1"
    sim_time_scale: float = Field(default=0.2, gt=0, description="simulator timers x this; 0.2 = 5x faster")
    log_level: str = "INFO"
    max_receive_count: int = Field(default=3, ge=1, le=20, description="attempts before a rule's DLQ")
    metrics_namespace: str = NAMESPACE
    event_source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=256)
    bus_mode: BusMode = Field(default=BusMode.CLASSIC, description="ordered: a local EventsV2 bus (devstack.ordered)")
    eventsv2_port: int = Field(default=0, ge=0, le=65535, description="the local EventsV2 endpoint (ordered mode)")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.strip().upper()
        if upper not in LOG_LEVELS:
            raise ValueError(f"DEVSTACK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {value!r})")
        return upper

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DevstackConfig:
        env = os.environ if environ is None else environ
        names = {
            "aws_emulator_port": DevstackEnv.AWS_EMULATOR_PORT,
            "sim_port": SimulatorEnv.PORT,
            "bridge_port": BridgeEnv.PORT,
            "api_port": DevstackEnv.API_PORT,
            "aws_region": AwsEnv.REGION,
            "sim_time_scale": SimulatorEnv.TIME_SCALE,
            "log_level": DevstackEnv.LOG_LEVEL,
            "max_receive_count": DevstackEnv.MAX_RECEIVE_COUNT,
            "metrics_namespace": PowertoolsEnv.METRICS_NAMESPACE,
            "event_source": Env.EVENT_SOURCE,
            "bus_mode": DevstackEnv.BUS_MODE,
            "eventsv2_port": DevstackEnv.EVENTSV2_PORT,
        }
        given = {field: env[name] for field, name in names.items() if env.get(name, "").strip()}
        return cls.model_validate(given)

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


_PORT_ENV = {
    "aws_emulator_port": DevstackEnv.AWS_EMULATOR_PORT,
    "sim_port": SimulatorEnv.PORT,
    "bridge_port": BridgeEnv.PORT,
    "api_port": DevstackEnv.API_PORT,
    "eventsv2_port": DevstackEnv.EVENTSV2_PORT,
}


def check_ports_free(config: DevstackConfig) -> None:
    """Fail early and clearly when a fixed port is taken (a part would otherwise fail later, less readably,
    or, worse, the devstack would talk to whatever else listens there)."""
    for field, env_name in _PORT_ENV.items():
        port = getattr(config, field)
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
