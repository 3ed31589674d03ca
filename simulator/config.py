"""Simulator settings: one dataclass, filled from ``SIM_*`` environment variables by ``from_env``."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from contract.catalogue import EventName
from contract.env import SimulatorEnv


@dataclass
class SimulatorConfig:
    """Every duration is in simulated seconds; ``time_scale`` converts them to real seconds."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 = pick a free port
    time_scale: float = 1.0  # 0.01 = 100x faster
    account_sid: str = "local-account"
    api_key: str = "local-key"
    api_token: str = "local-token"
    cps_limit: float = 0.0  # leg creations per second per account; 0 = off
    rate_limit_per_minute: int = 0  # API requests per (real) minute per account; 0 = off; Exotel's default is 100
    talk_seconds: float = 5.0  # a human (or machine) hangs up this long after answering
    ring_seconds: float = 2.0  # ringing until a human picks up
    connect_seconds: float = 0.2  # request accepted until leg_connecting
    setup_seconds: float = 1.0  # leg_connecting until leg_ringing
    amd_seconds: float = 2.0  # answer until amd_result_success (async_amd)
    play_seconds: float = 3.0  # one loop of StartPlay
    say_seconds_per_char: float = 0.06  # Say duration per character, one loop
    say_blocks: bool = True  # <Say> holds the rest of its <Flow> until spoken (undocumented; <StartSay> never does)
    inbound_endpoint: str | None = None  # grpc://host[:port] for /_sim/inbound legs
    inbound_event_name: str = EventName.LEG_INCOMING.value  # Exotel uses both leg_incoming and incoming_leg
    push_attempts: int = 3  # like Exotel's HTTPS push: 3 attempts
    push_timeout: float = 1.0  # real seconds per attempt
    push_backoff: float = 0.1  # real seconds before the 2nd attempt (doubles after)
    push_auth_token: str | None = None  # sent as "authorization: Bearer <token>" metadata
    push_workers: int = 32
    push_proto: str | None = None  # the customer's .proto / descriptor set (like BRIDGE_PROTO); None: ours
    push_rpc: str | None = None  # package.Service/Method in it (like BRIDGE_RPC)
    push_default_port: int = 443  # for a grpc://host endpoint without a port (Exotel's examples have none)
    dc_code: str = "101"
    nso_code: str = "9988fd96-ce41-11ed-9a09-0242ac110003"

    def __post_init__(self) -> None:
        """Refuse settings that would make the simulator misbehave quietly."""
        from legs.models import check_grpc_endpoint

        if not 0 <= self.port <= 65535:
            raise ValueError(f"SIM_PORT must be 0..65535, not {self.port}")
        if self.time_scale < 0:
            raise ValueError(f"SIM_TIME_SCALE must not be negative, not {self.time_scale}")
        if self.push_attempts < 1 or self.push_workers < 1 or self.push_timeout <= 0:
            raise ValueError("SIM_PUSH_ATTEMPTS and SIM_PUSH_WORKERS must be >= 1, SIM_PUSH_TIMEOUT > 0")
        if not 0 < self.push_default_port < 65536:
            raise ValueError(f"{SimulatorEnv.PUSH_DEFAULT_PORT} must be 1..65535, not {self.push_default_port}")
        if self.rate_limit_per_minute < 0:
            raise ValueError(f"SIM_RATE_LIMIT_PER_MINUTE must not be negative, not {self.rate_limit_per_minute}")
        if self.push_rpc and not self.push_proto:
            raise ValueError(f"{SimulatorEnv.PUSH_RPC} names a method in {SimulatorEnv.PUSH_PROTO}, which is not set")
        negative = [f.name for f in fields(self) if f.name.endswith("seconds") and getattr(self, f.name) < 0]
        if negative or self.cps_limit < 0 or self.say_seconds_per_char < 0:
            raise ValueError(f"durations and SIM_CPS_LIMIT must not be negative: {negative or ['cps_limit']}")
        if self.inbound_endpoint:
            check_grpc_endpoint(self.inbound_endpoint, SimulatorEnv.INBOUND_ENDPOINT)

    def scaled(self, seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return max(0.0, seconds * self.time_scale)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SimulatorConfig:
        """``SIM_<FIELD>`` for every field, plus Exotel's credential names ``EXOTEL_API_KEY``/``_TOKEN``."""
        env = dict(os.environ if env is None else env)
        aliases = {"api_key": SimulatorEnv.API_KEY, "api_token": SimulatorEnv.API_TOKEN}
        values: dict[str, object] = {}
        for field in fields(cls):
            name = aliases.get(field.name, f"SIM_{field.name.upper()}")
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            kind = field.type if isinstance(field.type, str) else field.type.__name__
            try:
                if kind.startswith("bool"):
                    values[field.name] = _boolean(raw)
                elif kind.startswith("int"):
                    values[field.name] = int(raw)
                elif kind.startswith("float"):
                    values[field.name] = float(raw)
                else:
                    values[field.name] = raw
            except ValueError as exc:
                raise ValueError(f"{name}={raw!r} is not a valid {kind}") from exc
        return cls(**values)  # type: ignore[arg-type]


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not a boolean")
