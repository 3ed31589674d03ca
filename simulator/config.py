"""Simulator settings: one pydantic-settings model, ``SIM_<FIELD>`` for every field from :meth:`from_env`.

Exotel's own credential names stand in for two fields (``EXOTEL_API_KEY``, ``EXOTEL_API_TOKEN``).
Built by hand (``SimulatorConfig(port=0)``, as the tests do) it takes only what it is given, never
the shell's ``SIM_*`` variables (``legs.settings``).
"""

from __future__ import annotations

import logging

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from contract.catalogue import EventName
from contract.env import SimulatorEnv
from legs.settings import EnvSettings, GrpcEndpointText


class SimulatorConfig(EnvSettings):
    """Every duration is in simulated seconds; ``time_scale`` converts them to real seconds."""

    model_config = SettingsConfigDict(env_prefix=SimulatorEnv.PREFIX, case_sensitive=False)
    subject = "simulator configuration"

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)  # 0 = pick a free port
    time_scale: float = Field(default=1.0, ge=0)  # 0.01 = 100x faster
    account_sid: str = "local-account"
    api_key: str = Field(default="local-key", validation_alias=SimulatorEnv.API_KEY)
    api_token: str = Field(default="local-token", validation_alias=SimulatorEnv.API_TOKEN)
    cps_limit: float = Field(default=0.0, ge=0)  # leg creations per second per account; 0 = off
    # API requests per (real) minute per account; 0 = off; Exotel's default is 100
    rate_limit_per_minute: int = Field(default=0, ge=0)
    talk_seconds: float = Field(default=5.0, ge=0)  # a human (or machine) hangs up this long after answering
    ring_seconds: float = Field(default=2.0, ge=0)  # ringing until a human picks up
    connect_seconds: float = Field(default=0.2, ge=0)  # request accepted until leg_connecting
    setup_seconds: float = Field(default=1.0, ge=0)  # leg_connecting until leg_ringing
    amd_seconds: float = Field(default=2.0, ge=0)  # answer until amd_result_success (async_amd)
    play_seconds: float = Field(default=3.0, ge=0)  # one loop of StartPlay
    say_seconds_per_char: float = Field(default=0.06, ge=0)  # Say duration per character, one loop
    say_blocks: bool = True  # <Say> holds the rest of its <Flow> until spoken (undocumented; <StartSay> never does)
    inbound_endpoint: GrpcEndpointText | None = None  # grpc://host[:port] for /_sim/inbound legs
    inbound_event_name: str = EventName.LEG_INCOMING.value  # Exotel uses both leg_incoming and incoming_leg
    push_attempts: int = Field(default=3, ge=1)  # like Exotel's HTTPS push: 3 attempts
    push_timeout: float = Field(default=1.0, gt=0)  # real seconds per attempt
    push_backoff: float = Field(default=0.1, ge=0)  # real seconds before the 2nd attempt (doubles after)
    push_auth_token: str | None = None  # sent as "authorization: Bearer <token>" metadata
    push_workers: int = Field(default=32, ge=1)
    push_proto: str | None = None  # the customer's .proto / descriptor set (like BRIDGE_PROTO); None: ours
    push_rpc: str | None = None  # package.Service/Method in it (like BRIDGE_RPC)
    push_default_port: int = Field(default=443, ge=1, le=65535)  # for grpc://host without a port (Exotel's examples)
    dc_code: str = "101"
    nso_code: str = "9988fd96-ce41-11ed-9a09-0242ac110003"
    log_level: str = "INFO"  # python -m simulator's logging level

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if not isinstance(logging.getLevelName(value.upper()), int):
            raise ValueError(f"must be a logging level such as DEBUG, INFO or WARNING, got {value!r}")
        return value.upper()

    @model_validator(mode="after")
    def _push_rpc_needs_proto(self) -> SimulatorConfig:
        if self.push_rpc and not self.push_proto:
            raise ValueError(f"{SimulatorEnv.PUSH_RPC} names a method in {SimulatorEnv.PUSH_PROTO}, which is not set")
        return self

    def scaled(self, seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return max(0.0, seconds * self.time_scale)
