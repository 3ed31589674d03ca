"""End-to-end latency on the devstack: an event pushed to the bridge -> the leg-state reactor has run.

The hook is the public API: each pushed ``leg_ringing`` carries a fresh ``leg_sid``; the probe
polls ``GET /legs/{leg_sid}`` (every 5 ms) until the leg-state function, invoked by the lambda
runner from its rule queue, has recorded it. So the figure covers bridge -> bus -> rule -> queue
-> runner -> handler -> DynamoDB, plus one API read. Baseline in the same run: the bridge's
acknowledgement of the same pushes.
"""

from __future__ import annotations

import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import grpc
from pydantic import BaseModel

from bench.payload import METHOD
from bench.stats import percentile
from contract.env import DevstackEnv
from legs.wire import event_to_proto


class E2EFigure(BaseModel):
    events: int
    found: int
    ack_p50_ms: float
    ack_p99_ms: float
    e2e_p50_ms: float
    e2e_p99_ms: float
    e2e_max_ms: float
    error: str | None = None


def _event(leg_sid: str) -> bytes:
    now = time.time()
    event = {
        "event_sid": f"bench-e2e-{uuid.uuid4().hex}",
        "event_type": "leg_lifecycle_event",
        "event_name": "leg_ringing",
        "event_timestamp": {"seconds": int(now), "nanos": int((now % 1) * 1e9)},
        "data": {
            "leg_sid": leg_sid,
            "account_sid": "local-account",
            "contact_uri": "09163816621",
            "exophone": "08030752400",
            "direction": "outbound",
            "state": "ringing",
        },
    }
    return event_to_proto(event).SerializeToString()


def _leg_found(api_url: str, leg_sid: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/legs/{leg_sid}", timeout=5) as reply:
            return reply.status == 200
    except urllib.error.HTTPError:
        return False


def run_e2e(quick: bool, bus_mode: str | None = None) -> E2EFigure:
    """``bus_mode`` ``ordered``: the devstack's local EventsV2 bus and FIFO subscriber queue instead of the rule."""
    from devstack.launcher import DevstackProcess

    count = 20 if quick else 60
    env = {
        "AWS_EMULATOR_PORT": "0",
        "SIM_PORT": "0",
        "BRIDGE_PORT": "0",
        "API_PORT": "0",
        "DEVSTACK_LOG_LEVEL": "WARNING",
        # the local console's feed rule is one more target of every PutEvents: not part of the adapter
        DevstackEnv.CONSOLE: "0",
    }
    if bus_mode:
        env[DevstackEnv.BUS_MODE] = bus_mode
    with tempfile.TemporaryDirectory(prefix="bench-devstack-") as workdir:
        stack = DevstackProcess(Path(workdir), env=env, start_timeout=120)
        try:
            info = stack.start()
            target = info["bridge_endpoint"].removeprefix("grpc://")
            acks: list[float] = []
            e2e: list[float] = []
            with grpc.insecure_channel(target) as channel:
                call = channel.unary_unary(METHOD)
                for _ in range(count):
                    leg_sid = f"benchleg{uuid.uuid4().hex[:20]}"
                    body = _event(leg_sid)
                    started = time.perf_counter()
                    call(body, timeout=5)
                    acks.append((time.perf_counter() - started) * 1000)
                    deadline = started + 30
                    while time.perf_counter() < deadline:
                        if _leg_found(info["api_url"], leg_sid):
                            e2e.append((time.perf_counter() - started) * 1000)
                            break
                        time.sleep(0.005)
            return E2EFigure(
                events=count,
                found=len(e2e),
                ack_p50_ms=percentile(acks, 50),
                ack_p99_ms=percentile(acks, 99),
                e2e_p50_ms=percentile(e2e, 50),
                e2e_p99_ms=percentile(e2e, 99),
                e2e_max_ms=max(e2e) if e2e else float("nan"),
            )
        except Exception as exc:
            return E2EFigure(
                events=count,
                found=0,
                ack_p50_ms=float("nan"),
                ack_p99_ms=float("nan"),
                e2e_p50_ms=float("nan"),
                e2e_p99_ms=float("nan"),
                e2e_max_ms=float("nan"),
                error=f"{type(exc).__name__}: {str(exc)[-1500:]}",
            )
        finally:
            stack.stop()
