"""Legs, bridges and actions on simulated timers; every state change becomes a pushed event.

All state sits behind one lock: HTTP handler threads and the timer thread both mutate it, and the
simulator is for tests and local runs, not for a million calls. Timers never block; the push runs
on its own workers (simulator/push.py), so a slow endpoint never stalls a leg's clock.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.catalogue import BY_NAME, EventName, EventType
from contract.catalogue import BridgeState as BridgeStateName
from legs.models import LEG_STATUS_FIELDS, CreateBridgeRequest, CreateLegRequest
from legs.wire import load_wire
from simulator.config import SimulatorConfig
from simulator.errors import ApiError
from simulator.exoml import Verb
from simulator.push import Delivery, Pusher
from simulator.scheduler import Scheduler
from simulator.sids import go_time, new_sid, rfc3339

# Outcomes by the dialled number's last four digits (docs/SIMULATOR.md).
OUTCOMES = {"1002": "busy", "1003": "no-answer", "1004": "machine", "1005": "fail", "1006": "no-ring"}

# Q.850 cause codes carried in leg_terminated.event_data.data.hangup_cause_code.
CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19
CAUSE_TIMER_EXPIRY = 102
CAUSE_FAILURE = 41

MEDIA_VERBS = {"Say", "StartSay", "Play", "StartPlay", "StartStream", "StartRecording"}
#: A blocking verb with ``loop=0`` holds the rest of its flow until something stops it.
FOREVER = math.inf


def outcome_for(contact_uri: str) -> str:
    """``busy``/``no-answer``/``machine``/``fail``/``no-ring`` or ``human``, from the last four digits."""
    user = contact_uri.removeprefix("sip:").split("@", 1)[0]
    digits = re.sub(r"\D", "", user)
    return OUTCOMES.get(digits[-4:], "human")


@dataclass
class Media:
    kind: str  # play | say
    action_sid: str
    action_custom_parameter: str | None
    token: int


@dataclass
class LegState:
    sid: str
    account_sid: str
    contact_uri: str
    exophone: str
    direction: str
    network_type: str
    endpoint: str
    custom_param: str | None
    time_limit: int
    timeout: int
    setup_timeout: int
    ring_timeout: int
    amd_enable: bool = False
    async_amd: bool = False
    outcome: str = "human"
    state: str = "created"
    terminal_status: str | None = None
    answered_by: str | None = None
    date_created: str = ""
    date_updated: str = ""
    start_time: str | None = None
    end_time: str | None = None
    answered_ns: int | None = None
    ended_ns: int | None = None
    last_event_ns: int = 0
    bridge_sid: str | None = None
    media: Media | None = None
    media_token: int = 0
    streaming: bool = False
    recording: bool = False
    limit_token: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def caller_id(self) -> str:
        """The exophone as Exotel shows it in events: national digits without the 0 / 91 prefix."""
        if self.exophone.startswith("sip:"):
            return self.exophone
        return self.exophone[-10:]


@dataclass
class BridgeState:
    sid: str
    account_sid: str
    leg_sids: list[str]
    endpoint: str | None
    #: "legs": created with leg_sids (ends when one of its legs ends); "bridge": created empty (docs.exotel.com
    #: post-create-a-bridge), legs <JoinBridge>/<LeaveBridge>, it lives until stopped.
    model: str = "legs"
    bridge_type: str = "audio"
    max_participants: int | None = None
    recording: bool = False
    state: str = "created"
    terminal_status: str | None = None
    active_legs: list[str] = field(default_factory=list)
    date_created: str = ""
    date_updated: str = ""
    start_time: str | None = None
    end_time: str | None = None
    last_event_ns: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.legs: dict[str, LegState] = {}
        self.bridges: dict[str, BridgeState] = {}
        self.scheduler = Scheduler()
        self.pusher = Pusher(
            attempts=config.push_attempts,
            timeout=config.push_timeout,
            backoff=config.push_backoff,
            auth_token=config.push_auth_token,
            workers=config.push_workers,
            wire=load_wire(config.push_proto, config.push_rpc),  # ProtoError (a ValueError) if unusable
            default_port=config.push_default_port,
        )
        self._cps_window: deque[float] = deque()
        self._request_window: deque[float] = deque()
        self._enqueued_until = 0.0

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.pusher.close()

    # ---- time ------------------------------------------------------------------------------
    def _later(self, sim_seconds: float, callback: Callable[[], None]) -> None:
        def locked() -> None:
            with self.lock:
                callback()

        self.scheduler.call_later(self.config.scaled(sim_seconds), locked)

    # ---- events ----------------------------------------------------------------------------
    @staticmethod
    def _next_ns(holder: LegState | BridgeState) -> int:
        ns = max(time.time_ns(), holder.last_event_ns + 1)  # strictly increasing per leg
        holder.last_event_ns = ns
        return ns

    def leg_data(self, leg: LegState) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account_sid": leg.account_sid,
            "caller_id": leg.caller_id,
            "contact_uri": leg.contact_uri,
            "date_created": leg.date_created,
            "date_updated": leg.date_updated,
            "dc_code": self.config.dc_code,
            "direction": leg.direction,
            "exophone": leg.exophone,
            "leg_sid": leg.sid,
            "network_type": leg.network_type,
            "nso_code": self.config.nso_code,
            "state": leg.state,
            "time_limit": leg.time_limit,
        }
        if leg.custom_param is not None:
            data["custom_param"] = leg.custom_param
        if leg.start_time:
            data["start_time"] = leg.start_time
        if leg.answered_by:
            data["answered_by"] = leg.answered_by
        if leg.state == "terminal":
            data["terminal_status"] = leg.terminal_status
            data["end_time"] = leg.end_time
        return data

    def _touch(self, leg: LegState | BridgeState) -> int:
        ns = self._next_ns(leg)
        leg.date_updated = rfc3339(ns)
        return ns

    def emit_leg(
        self,
        leg: LegState,
        name: str,
        *,
        event_data: dict[str, Any] | None = None,
        action_sid: str | None = None,
        action_custom_parameter: str | None = None,
    ) -> None:
        ns = self._next_ns(leg)
        spec = BY_NAME.get(name)
        event: dict[str, Any] = {
            "event_sid": new_sid(),
            "event_type": str(spec.event_type if spec else EventType.LEG_LIFECYCLE),
            "event_name": str(name),
            "event_timestamp": {"seconds": ns // 1_000_000_000, "nanos": ns % 1_000_000_000},
            "data": self.leg_data(leg),
        }
        if action_sid:
            event["action_sid"] = action_sid
        if action_custom_parameter:
            event["action_custom_parameter"] = action_custom_parameter
        if event_data:
            event["event_data"] = event_data

        def record(delivery: Delivery) -> None:
            with self.lock:
                leg.deliveries.append(delivery)

        self.pusher.submit(leg.sid, leg.endpoint, event, record)

    def bridge_data(self, bridge: BridgeState) -> dict[str, Any]:
        data: dict[str, Any] = {
            "bridge_sid": bridge.sid,
            "sid": bridge.sid,
            "account_sid": bridge.account_sid,
            "state": bridge.state,
            "leg_sids": list(bridge.leg_sids),
            "active_legs": list(bridge.active_legs),
            "date_created": bridge.date_created,
            "date_updated": bridge.date_updated,
        }
        if bridge.start_time:
            data["start_time"] = bridge.start_time
        if bridge.state == "terminal":
            data["terminal_status"] = bridge.terminal_status
            data["end_time"] = bridge.end_time
        return data

    def emit_bridge(self, bridge: BridgeState, name: str, event_data: dict[str, Any] | None = None) -> None:
        ns = self._next_ns(bridge)
        if not bridge.endpoint:
            return
        event: dict[str, Any] = {
            "event_sid": new_sid(),
            "event_type": str(EventType.BRIDGE_LIFECYCLE),
            "event_name": str(name),
            "event_timestamp": {"seconds": ns // 1_000_000_000, "nanos": ns % 1_000_000_000},
            "data": self.bridge_data(bridge),
        }
        if event_data:
            event["event_data"] = event_data

        def record(delivery: Delivery) -> None:
            with self.lock:
                bridge.deliveries.append(delivery)

        self.pusher.submit(bridge.sid, bridge.endpoint, event, record)

    # ---- rate limit ------------------------------------------------------------------------
    def count_request(self) -> None:
        """Exotel's per-account API limit (docs.exotel.com rate-limits: 100 requests/minute by default);
        over it: 429 ``rate_limit_exceeded`` with ``Retry-After``. Off when ``rate_limit_per_minute`` is 0."""
        limit = self.config.rate_limit_per_minute
        if limit <= 0:
            return
        now = time.monotonic()
        with self.lock:
            window = self._request_window
            while window and now - window[0] >= 60.0:
                window.popleft()
            if len(window) < limit:
                window.append(now)
                return
            wait = 60.0 - (now - window[0])
        raise ApiError(
            429,
            "Rate limit exceeded. Please retry after some time.",
            f"at most {limit} API requests per minute for this account",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def admit(self, priority: str) -> float:
        """Per-account CPS control. Returns the real delay before the leg starts (enqueued when > 0)."""
        limit = self.config.cps_limit
        if limit <= 0:
            return 0.0
        now = time.monotonic()
        while self._cps_window and now - self._cps_window[0] >= 1.0:
            self._cps_window.popleft()
        if len(self._cps_window) < limit:
            self._cps_window.append(now)
            return 0.0
        wait = 1.0 - (now - self._cps_window[0])
        if priority == "high":  # Exotel: "the response contains status as enqueued" (seed)
            self._enqueued_until = max(self._enqueued_until, now) + 1.0 / limit
            return max(wait, self._enqueued_until - now)
        raise ApiError(
            429,
            "Rate limit exceeded. Please retry after some time.",
            f"leg creation is limited to {limit:g} per second for this account",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )

    # ---- legs ------------------------------------------------------------------------------
    def get_leg(self, sid: str) -> LegState:
        leg = self.legs.get(sid)
        if leg is None:
            raise ApiError(404, "Leg not found", f"no leg with sid {sid!r} in this account")
        return leg

    def create_leg(self, request: CreateLegRequest) -> dict[str, Any]:
        with self.lock:
            if request.reference_leg_sid and request.reference_leg_sid not in self.legs:
                raise ApiError(
                    400, "Invalid reference_leg_sid", f"no leg {request.reference_leg_sid!r} to co-locate with"
                )
            delay = self.admit(request.priority)
            ns = time.time_ns()
            leg = LegState(
                sid=new_sid(),
                account_sid=self.config.account_sid,
                contact_uri=request.contact_uri,
                exophone=request.exophone,
                direction="outbound",
                network_type=request.network_type or "pstn",
                endpoint=request.leg_event_endpoint,
                custom_param=request.custom_param,
                time_limit=request.time_limit,
                timeout=request.timeout,
                setup_timeout=request.setup_timeout,
                ring_timeout=request.ring_timeout,
                amd_enable=request.amd_enable,
                async_amd=request.async_amd,
                outcome=outcome_for(request.contact_uri),
                date_created=rfc3339(ns),
                date_updated=rfc3339(ns),
            )
            self.legs[leg.sid] = leg
            start = self.config.connect_seconds + (delay / self.config.time_scale if self.config.time_scale else 0)
            self._later(start, lambda: self._connecting(leg))
            created = {
                "leg_sid": leg.sid,
                "created_at": go_time(ns),
                "account_sid": leg.account_sid,
                "contact_uri": leg.contact_uri,
                "network_type": leg.network_type,
                "exophone": leg.exophone,
                "custom_param": leg.custom_param,
                # The seed's sample reply shows the endpoint without its grpc:// scheme.
                "leg_event_endpoint": leg.endpoint.removeprefix("grpc://"),
            }
            if delay > 0:
                created["status"] = "enqueued"
            return created

    def _connecting(self, leg: LegState) -> None:
        if leg.state != "created":
            return
        cfg = self.config
        if leg.outcome == "fail":
            self._terminate(
                leg,
                "failed",
                CAUSE_FAILURE,
                name=EventName.LEG_FAILED_TO_CREATE,
                error={"error_code": 1005, "message": "Leg could not be created", "description": "simulated failure"},
            )
            return
        ns = self._touch(leg)
        leg.state = "connecting"
        leg.start_time = rfc3339(ns)
        self.emit_leg(leg, EventName.LEG_CONNECTING)
        # Seconds since initiation are measured from here (connect_seconds is negligible).
        setup_limit = min(leg.setup_timeout, leg.timeout)
        if leg.outcome == "no-ring" or cfg.setup_seconds >= setup_limit:
            self._later(setup_limit, lambda: self._setup_timeout(leg))
            return
        if leg.outcome == "busy":
            self._later(cfg.setup_seconds, lambda: self._busy(leg))
            return
        self._later(cfg.setup_seconds, lambda: self._ringing(leg))

    def _setup_timeout(self, leg: LegState) -> None:
        if leg.state != "connecting":
            return
        self._terminate(
            leg,
            "failed",
            CAUSE_TIMER_EXPIRY,
            error={"error_code": 408, "message": "Setup timeout", "description": "the leg never started ringing"},
            reason="setup_timeout",
        )

    def _busy(self, leg: LegState) -> None:
        if leg.state != "connecting":
            return
        self._terminate(
            leg,
            "busy",
            CAUSE_BUSY,
            error={"error_code": 486, "message": "Busy", "description": "the callee is busy"},
            reason="busy",
        )

    def _ringing(self, leg: LegState) -> None:
        if leg.state != "connecting":
            return
        cfg = self.config
        self._touch(leg)
        leg.state = "ringing"
        self.emit_leg(leg, EventName.LEG_RINGING)
        # Pick-up must happen within ring_timeout of ringing and within timeout of initiation.
        ring_limit = max(0.0, min(leg.ring_timeout, leg.timeout - cfg.setup_seconds))
        if leg.outcome in ("human", "machine") and cfg.ring_seconds < ring_limit:
            self._later(cfg.ring_seconds, lambda: self._answer(leg))
        else:
            self._later(ring_limit, lambda: self._no_answer(leg))

    def _no_answer(self, leg: LegState) -> None:
        if leg.state != "ringing":
            return
        self._terminate(
            leg,
            "no-answer",
            CAUSE_NO_ANSWER,
            error={"error_code": 480, "message": "No answer", "description": "ring timeout"},
            reason="ring_timeout",
        )

    def _answer(self, leg: LegState, answered_by: str | None = None) -> None:
        if leg.state != "ringing":
            return
        ns = self._touch(leg)
        leg.state = "connected"
        leg.answered_ns = ns
        detected = answered_by or ("MACHINE" if leg.outcome == "machine" else "HUMAN")
        if leg.async_amd and leg.amd_enable:  # async_amd alone is ignored (create-a-leg: only with amd_enable)
            self.emit_leg(leg, EventName.LEG_ANSWERED)  # the verdict follows in amd_result_success
            self._later(self.config.amd_seconds, lambda: self._amd_result(leg, detected))
        else:
            leg.answered_by = detected
            self.emit_leg(leg, EventName.LEG_ANSWERED)
        self._arm_time_limit(leg)
        self._later(self.config.talk_seconds, lambda: self._remote_hangup(leg))

    def _arm_time_limit(self, leg: LegState) -> None:
        leg.limit_token += 1
        token = leg.limit_token
        self._later(leg.time_limit, lambda: self._time_limit(leg, token))

    def _amd_result(self, leg: LegState, detected: str) -> None:
        if leg.state != "connected":
            return
        self._touch(leg)
        leg.answered_by = detected
        self.emit_leg(leg, EventName.AMD_RESULT_SUCCESS)

    def _remote_hangup(self, leg: LegState) -> None:
        if leg.state == "connected":
            self._terminate(leg, "completed", CAUSE_NORMAL, reason="callee_hangup")

    def person_hangs_up(self, sid: str) -> dict[str, Any]:
        """The person on the line hangs up now (what ``talk_seconds`` does on its own), or rejects a ringing call."""
        leg = self.get_leg(sid)
        if leg.state == "connected":
            self._remote_hangup(leg)
        elif leg.state == "ringing":
            self._terminate(leg, "no-answer", CAUSE_NO_ANSWER, reason="callee_rejected")
        return self.leg_summary(leg)

    def _time_limit(self, leg: LegState, token: int) -> None:
        if leg.state == "connected" and token == leg.limit_token:
            self._terminate(leg, "completed", CAUSE_NORMAL, reason="time_limit")

    def _terminate(
        self,
        leg: LegState,
        status: str,
        cause: int,
        *,
        name: str = EventName.LEG_TERMINATED,
        error: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        if leg.state == "terminal":
            return
        if leg.bridge_sid:
            bridge = self.bridges.get(leg.bridge_sid)
            if bridge and bridge.state != "terminal":
                if bridge.model == "legs":
                    self._end_bridge(bridge, "completed", reason=f"leg {leg.sid} ended")
                else:  # a bridge made first outlives its participants
                    self._leave_bridge(leg, bridge)
        leg.media = None
        ns = self._touch(leg)
        leg.state = "terminal"
        leg.terminal_status = status
        leg.ended_ns = ns
        leg.end_time = rfc3339(ns)
        event_data: dict[str, Any] = {}
        if name == EventName.LEG_TERMINATED:
            event_data["data"] = {"hangup_cause_code": cause}
            if reason:
                event_data["data"]["hangup_reason"] = reason  # a simulator extra (a guess)
        if error:
            event_data["error"] = error
        self.emit_leg(leg, name, event_data=event_data or None)

    def on_call_duration_ms(self, leg: LegState) -> int:
        if leg.answered_ns is None:
            return 0
        end = leg.ended_ns or time.time_ns()
        scale = self.config.time_scale or 1.0
        return int((end - leg.answered_ns) / 1e6 / scale)

    @staticmethod
    def leg_summary(leg: LegState) -> dict[str, Any]:
        """One leg for ``GET /_sim/legs`` (a test hook: who is on the line, in which bridge, for which plan)."""
        return {
            "leg_sid": leg.sid,
            "contact_uri": leg.contact_uri,
            "state": leg.state,
            "terminal_status": leg.terminal_status,
            "bridge_sid": leg.bridge_sid,
            "custom_param": leg.custom_param,
            "date_created": leg.date_created,
            "end_time": leg.end_time,
        }

    def leg_resource(self, leg: LegState, fields: list[str] | None = None) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "leg_sid": leg.sid,
            "account_sid": leg.account_sid,
            "contact_uri": leg.contact_uri,
            "exophone": leg.exophone,
            "caller_id": leg.caller_id,
            "direction": leg.direction,
            "network_type": leg.network_type,
            "time_limit": leg.time_limit,
            "state": leg.state,
            "terminal_status": leg.terminal_status,
            "date_created": leg.date_created,
            "date_updated": leg.date_updated,
            "start_time": leg.start_time,
            "end_time": leg.end_time,
            "on_call_duration_ms": self.on_call_duration_ms(leg),
            "custom_param": leg.custom_param,
            "answered_by": leg.answered_by,
        }
        if fields:
            unknown = [name for name in fields if name not in LEG_STATUS_FIELDS]
            if unknown:
                raise ApiError(
                    400, "Invalid fields", f"unknown field {unknown[0]!r}; allowed: {', '.join(LEG_STATUS_FIELDS)}"
                )
            statuses = self.leg_statuses(leg)
            resource["additional_info"] = {name: statuses[name] for name in fields}
        return resource

    @staticmethod
    def leg_statuses(leg: LegState) -> dict[str, str]:
        """``fields=`` blocks: strings under ``additional_info`` (developer.exotel.com api/get-leg). The
        values are the simulator's own words; Exotel does not publish its vocabulary."""
        playing = leg.media.kind if leg.media else None
        audio = "active" if leg.state == "connected" else "inactive"
        return {
            "bridge_status": f"bridged:{leg.bridge_sid}" if leg.bridge_sid else "not_bridged",
            "recording_status": "recording" if leg.recording else "not_recording",
            "hold_status": "not_on_hold",
            "gather_status": "not_gathering",
            "play_status": {"play": "playing", "say": "saying"}.get(playing or "", "idle"),
            "tx_audio_status": audio,
            "rx_audio_status": audio,
        }

    def update_leg(self, leg: LegState, body: dict[str, Any]) -> dict[str, Any]:
        if leg.state == "terminal":
            raise ApiError(409, "Leg is terminated", f"leg {leg.sid} has ended and cannot be updated")
        if "time_limit" in body:
            leg.time_limit = body["time_limit"]
            if leg.state == "connected":
                elapsed = self.on_call_duration_ms(leg) / 1000
                leg.limit_token += 1
                token = leg.limit_token
                self._later(max(0.0, leg.time_limit - elapsed), lambda: self._time_limit(leg, token))
        if "custom_param" in body:
            leg.custom_param = body["custom_param"]
        self._touch(leg)
        return self.leg_resource(leg)

    # ---- inbound ---------------------------------------------------------------------------
    def inbound(self, *, caller: str, exophone: str, endpoint: str, custom_param: str | None) -> dict[str, Any]:
        ns = time.time_ns()
        leg = LegState(
            sid=new_sid(),
            account_sid=self.config.account_sid,
            contact_uri=caller,
            exophone=exophone,
            direction="inbound",
            network_type="voip" if caller.startswith("sip:") else "pstn",
            endpoint=endpoint,
            custom_param=custom_param,
            time_limit=14400,
            timeout=30,
            setup_timeout=30,
            ring_timeout=30,
            date_created=rfc3339(ns),
            date_updated=rfc3339(ns),
            start_time=rfc3339(ns),
            state="ringing",
        )
        self.legs[leg.sid] = leg
        self.emit_leg(leg, self.config.inbound_event_name)
        self._later(leg.ring_timeout, lambda: self._no_answer(leg))
        return self.leg_resource(leg)

    # ---- bridges ---------------------------------------------------------------------------
    def get_bridge(self, sid: str) -> BridgeState:
        bridge = self.bridges.get(sid)
        if bridge is None:
            raise ApiError(404, "Bridge not found", f"no bridge with sid {sid!r} in this account")
        return bridge

    def create_bridge(self, request: CreateBridgeRequest) -> tuple[int, dict[str, Any]]:
        """Legs first (``leg_sids``: 202, bridged at once) or bridge first (201, legs ``<JoinBridge>`` later)."""
        if request.leg_sids is None:
            return 201, self._create_empty_bridge(request)
        sids = request.leg_sids
        if request.max_participants is not None and len(sids) > request.max_participants:
            raise ApiError(
                400, "Invalid leg_sids", f"{len(sids)} legs exceed max_participants {request.max_participants}"
            )
        if len(set(sids)) != len(sids):
            raise ApiError(400, "Invalid leg_sids", "leg_sids must not repeat a leg")
        if len(sids) < 2:
            raise ApiError(400, "Invalid leg_sids", "a bridge joins at least two legs")
        for sid in sids:
            leg = self.legs.get(sid)
            if leg is None:
                raise ApiError(400, "Invalid leg_sids", f"no leg with sid {sid!r}")
            if leg.state != "connected":
                raise ApiError(
                    409, "Leg not connected", f"leg {sid} is {leg.state}; only connected legs can be bridged"
                )
            if leg.bridge_sid:
                raise ApiError(409, "Leg already bridged", f"leg {sid} is already in bridge {leg.bridge_sid}")
        ns = time.time_ns()
        bridge = BridgeState(
            sid=new_sid(),
            account_sid=self.config.account_sid,
            leg_sids=list(sids),
            endpoint=request.bridge_event_endpoint,
            bridge_type=request.bridge_type or "audio",
            max_participants=request.max_participants,
            recording=bool(request.recording),
            date_created=rfc3339(ns),
            date_updated=rfc3339(ns),
            extra=request.model_extra or {},
        )
        self.bridges[bridge.sid] = bridge
        for sid in sids:
            self.legs[sid].bridge_sid = bridge.sid
        self._later(self.config.connect_seconds, lambda: self._bridge_up(bridge))
        return 202, {
            "bridge_sid": bridge.sid,
            "created_at": go_time(ns),
            "account_sid": bridge.account_sid,
            "leg_sids": list(sids),
            "bridge_event_endpoint": (bridge.endpoint or "").removeprefix("grpc://") or None,
        }

    def _create_empty_bridge(self, request: CreateBridgeRequest) -> dict[str, Any]:
        ns = time.time_ns()
        bridge = BridgeState(
            sid=new_sid(),
            account_sid=self.config.account_sid,
            leg_sids=[],
            endpoint=request.bridge_event_endpoint,
            model="bridge",
            bridge_type=request.bridge_type or "audio",
            max_participants=request.max_participants,
            recording=bool(request.recording),
            date_created=rfc3339(ns),
            date_updated=rfc3339(ns),
            extra=request.model_extra or {},
        )
        self.bridges[bridge.sid] = bridge
        # docs.exotel.com post-create-a-bridge: 201 {bridge_sid, bridge_type, state: created, date_created}
        return {
            "bridge_sid": bridge.sid,
            "bridge_type": bridge.bridge_type,
            "state": bridge.state,
            "date_created": bridge.date_created,
            "account_sid": bridge.account_sid,
            "max_participants": bridge.max_participants,
            "recording": bridge.recording,
            "bridge_event_endpoint": (bridge.endpoint or "").removeprefix("grpc://") or None,
        }

    def _activate(self, bridge: BridgeState) -> None:
        """``created`` -> ``active``, announced by ``bridge_created`` (whose state is active)."""
        ns = self._touch(bridge)
        bridge.state = BridgeStateName.ACTIVE.value
        bridge.start_time = rfc3339(ns)
        self.emit_bridge(bridge, EventName.BRIDGE_CREATED)

    def _bridge_up(self, bridge: BridgeState) -> None:
        if bridge.state != "created":
            return
        self._activate(bridge)
        for sid in bridge.leg_sids:
            leg = self.legs[sid]
            if leg.state == "connected" and leg.bridge_sid == bridge.sid:
                bridge.active_legs.append(sid)
                self._touch(leg)
                self.emit_leg(leg, EventName.LEG_JOINED_BRIDGE, event_data={"bridge_sid": bridge.sid})

    def _join_bridge(self, leg: LegState, bridge_sid: str) -> None:
        """``<JoinBridge>``: checked when the action is requested (see :meth:`check_join`)."""
        bridge = self.bridges[bridge_sid]
        leg.bridge_sid = bridge.sid
        if leg.sid not in bridge.leg_sids:
            bridge.leg_sids.append(leg.sid)
        bridge.active_legs.append(leg.sid)
        if bridge.state == "created":
            self._activate(bridge)  # bridge_created lists the leg that made it active
        else:
            self._touch(bridge)
        self._touch(leg)
        self.emit_leg(leg, EventName.LEG_JOINED_BRIDGE, event_data={"bridge_sid": bridge.sid})

    def _leave_bridge(self, leg: LegState, bridge: BridgeState) -> None:
        if leg.sid in bridge.active_legs:
            bridge.active_legs.remove(leg.sid)
        leg.bridge_sid = None
        self._touch(bridge)
        self._touch(leg)
        self.emit_leg(leg, EventName.LEG_LEFT_BRIDGE, event_data={"bridge_sid": bridge.sid})

    def check_join(self, leg: LegState, verbs: list[Verb]) -> None:
        """Refuse a ``<JoinBridge>`` that cannot work before the action is accepted (404 / 409)."""
        for verb in verbs:
            if verb.name != "JoinBridge":
                continue
            bridge = self.bridges.get(verb.bridge_sid)
            if bridge is None:
                raise ApiError(404, "Bridge not found", f"no bridge with sid {verb.bridge_sid!r} to join")
            if leg.state != "connected":
                raise ApiError(409, "Leg not connected", f"leg {leg.sid} is {leg.state}; only connected legs join")
            if bridge.state == "terminal":
                raise ApiError(409, "Bridge is terminated", f"bridge {bridge.sid} has ended")
            if leg.bridge_sid and leg.bridge_sid != bridge.sid:
                raise ApiError(409, "Leg already bridged", f"leg {leg.sid} is already in bridge {leg.bridge_sid}")
            limit = bridge.max_participants
            if limit is not None and leg.sid not in bridge.active_legs and len(bridge.active_legs) >= limit:
                raise ApiError(409, "Bridge is full", f"bridge {bridge.sid} allows {limit} participants")

    def _end_bridge(self, bridge: BridgeState, status: str, reason: str) -> None:
        if bridge.state == "terminal":
            return
        for sid in list(bridge.active_legs):
            leg = self.legs[sid]
            self._touch(leg)
            leg.bridge_sid = None
            bridge.active_legs.remove(sid)
            self.emit_leg(leg, EventName.LEG_LEFT_BRIDGE, event_data={"bridge_sid": bridge.sid})
        for sid in bridge.leg_sids:  # legs reserved but not yet joined
            if self.legs[sid].bridge_sid == bridge.sid:
                self.legs[sid].bridge_sid = None
        ns = self._touch(bridge)
        bridge.state = "terminal"
        bridge.terminal_status = status
        bridge.end_time = rfc3339(ns)
        self.emit_bridge(bridge, EventName.BRIDGE_TERMINATED, event_data={"data": {"reason": reason}})

    def stop_bridge(self, bridge: BridgeState) -> dict[str, Any]:
        """202 ``{bridge_sid}`` (the shape of every bridge action's reply); ``bridge_terminated`` follows."""
        if bridge.state == "terminal":
            raise ApiError(409, "Bridge already terminated", f"bridge {bridge.sid} has ended")
        self._end_bridge(bridge, "completed", reason="stopped")
        return {"bridge_sid": bridge.sid}

    def bridge_resource(self, bridge: BridgeState) -> dict[str, Any]:
        return {
            "sid": bridge.sid,
            "bridge_sid": bridge.sid,
            "account_sid": bridge.account_sid,
            "bridge_type": bridge.bridge_type,
            "max_participants": bridge.max_participants,
            "recording": bridge.recording,
            "state": bridge.state,
            "terminal_status": bridge.terminal_status,
            "date_created": bridge.date_created,
            "date_updated": bridge.date_updated,
            "start_time": bridge.start_time,
            "end_time": bridge.end_time,
            "active_legs": list(bridge.active_legs),
            "leg_sids": list(bridge.leg_sids),
        }

    # ---- actions ---------------------------------------------------------------------------
    def leg_action(self, leg: LegState, verbs: list[Verb], action_custom_parameter: str | None) -> dict[str, Any]:
        if leg.state == "terminal":
            raise ApiError(409, "Leg is terminated", f"leg {leg.sid} has ended; no action can run on it")
        self.check_join(leg, verbs)
        action_sid = new_sid()
        self._run(leg, verbs, 0, action_sid, action_custom_parameter)
        return {"action_sid": action_sid, "leg_sid": leg.sid}

    def bridge_action(
        self, bridge: BridgeState, verbs: list[Verb], action_custom_parameter: str | None
    ) -> dict[str, Any]:
        if bridge.state == "terminal":
            raise ApiError(409, "Bridge is terminated", f"bridge {bridge.sid} has ended; no action can run on it")
        action_sid = new_sid()
        targets = bridge.active_legs or [s for s in bridge.leg_sids if self.legs[s].bridge_sid == bridge.sid]
        for sid in list(targets):
            self._run(self.legs[sid], verbs, 0, action_sid, action_custom_parameter)
        return {"action_sid": action_sid, "bridge_sid": bridge.sid}

    def _run(self, leg: LegState, verbs: list[Verb], index: int, action_sid: str, acp: str | None) -> None:
        """Play verbs in order; Say (``say_blocks``) and Play hold the flow until done, Start*/Stop* do not."""
        while index < len(verbs) and leg.state != "terminal":
            verb = verbs[index]
            index += 1
            blocking_for = self._verb(leg, verb, action_sid, acp)
            if blocking_for == FOREVER:  # loop=0 on a blocking verb: the rest waits for good
                return
            if blocking_for is not None:
                token = leg.media.token if leg.media else None

                def resume(token: int | None = token, index: int = index) -> None:
                    self._media_done(leg, token)
                    self._run(leg, verbs, index, action_sid, acp)

                self._later(blocking_for, resume)
                return

    def _verb(self, leg: LegState, verb: Verb, action_sid: str, acp: str | None) -> float | None:
        """Apply one verb now; return the simulated seconds to wait for a blocking one."""
        emit = self._action_emitter(leg, action_sid, acp)
        name = verb.name
        if name == "Hangup":
            self._terminate(leg, "completed" if leg.state == "connected" else "no-answer", CAUSE_NORMAL, reason="api")
            return None
        if name == "Answer":  # picks up an inbound call; outbound legs are answered by the callee
            if leg.state == "ringing" and leg.direction == "inbound":
                self._answer(leg, "HUMAN")
            return None
        if name in MEDIA_VERBS and leg.state != "connected":
            emit(
                EventName.PLAY_FAILED_TO_START,
                {"error": {"error_code": 409, "message": f"{name} needs a connected leg", "description": leg.state}},
            )
            return None
        if name in ("Say", "StartSay", "Play", "StartPlay"):
            self._interrupt_media(leg)
            kind = "say" if name in ("Say", "StartSay") else "play"
            leg.media_token += 1
            leg.media = Media(kind, action_sid, acp, leg.media_token)
            loop = verb.loop
            if kind == "say":
                once = max(1.0, len(verb.text) * self.config.say_seconds_per_char)
                emit(EventName.SAY_STARTED, {"data": {"text": verb.text, "loop": loop}})
            else:
                once = self.config.play_seconds
                emit(EventName.PLAY_STARTED, {"data": {"url": verb.text or verb.attrs.get("url"), "loop": loop}})
            seconds = once * loop if loop else FOREVER  # loop 0: until stopped, interrupted or hung up
            blocking = name == "Play" or (name == "Say" and self.config.say_blocks)
            if not blocking:  # background: completes on its own unless stopped
                if seconds != FOREVER:
                    token = leg.media_token
                    self._later(seconds, lambda: self._media_done(leg, token))
                return None
            return seconds
        if name in ("StopPlay", "StopSay"):  # StopSay stops <Say> and <StartSay> alike
            if leg.media and leg.media.kind == ("play" if name == "StopPlay" else "say"):
                self._interrupt_media(leg)
            return None
        if name == "StartStream":
            leg.streaming = True
            emit(EventName.STREAM_STARTED, {"data": dict(verb.attrs)})
        elif name == "StopStream":
            if leg.streaming:
                leg.streaming = False
                emit(EventName.STREAM_STOPPED, None)
        elif name == "StartRecording":
            leg.recording = True
            emit(EventName.RECORDING_STARTED, None)
        elif name == "StopRecording" and leg.recording:
            leg.recording = False
            emit(EventName.RECORDING_STOPPED, None)
        elif name == "JoinBridge":
            bridge = self.bridges.get(verb.bridge_sid)
            if bridge is not None and bridge.state != "terminal" and leg.bridge_sid != bridge.sid:
                self._join_bridge(leg, bridge.sid)
        elif name == "LeaveBridge" and leg.bridge_sid:
            bridge = self.bridges.get(leg.bridge_sid)
            if bridge is not None and (not verb.bridge_sid or verb.bridge_sid == bridge.sid):
                self._leave_bridge(leg, bridge)
        return None

    def _action_emitter(self, leg: LegState, action_sid: str, acp: str | None) -> Callable[..., None]:
        def emit(name: str, event_data: dict[str, Any] | None) -> None:
            self._touch(leg)
            self.emit_leg(
                leg,
                name,
                event_data=event_data,
                action_sid=action_sid,
                action_custom_parameter=acp,
            )

        return emit

    def _interrupt_media(self, leg: LegState) -> None:
        media = leg.media
        if media is None:
            return
        leg.media = None
        # The interruption belongs to the action that started the media.
        emitter = self._action_emitter(leg, media.action_sid, media.action_custom_parameter)
        emitter(EventName(f"{media.kind}_interrupted"), None)

    def _media_done(self, leg: LegState, token: int | None) -> None:
        media = leg.media
        if media is None or token is None or media.token != token or leg.state != "connected":
            return
        leg.media = None
        emitter = self._action_emitter(leg, media.action_sid, media.action_custom_parameter)
        emitter(EventName(f"{media.kind}_completed"), None)
