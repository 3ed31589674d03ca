"""``make demo``: a two-party call and a busy call with a retry, on the local stack, each leg's timeline as a table.

Uses a devstack already answering on ``API_PORT`` (``make run`` in another terminal), or starts one for the
demo's duration. Talks to the local API only, as a caller would.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from contract.env import BridgeEnv, DevstackEnv, SimulatorEnv
from devstack.banner import AGENT, BUSY, EXOPHONE, HUMAN
from devstack.launcher import DevstackProcess

FINAL = {"completed", "failed"}
CALL_TIMEOUT = 120.0
SECOND_CHOICE = "09163810077"


class DemoError(RuntimeError):
    pass


def request(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One JSON request to the local API (stdlib only: what a user's curl does); 4xx/5xx are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def data_of(reply: Any) -> Any:
    """The local API answers in Exotel's envelope or plainly: take ``response.data`` when it is there."""
    if isinstance(reply, dict) and isinstance(reply.get("response"), dict) and "data" in reply["response"]:
        return reply["response"]["data"]
    return reply.get("data", reply) if isinstance(reply, dict) else reply


def place_call(base: str, title: str, body: dict[str, Any]) -> dict[str, Any]:
    print(f"\n== {title}\n   POST /calls {json.dumps(body)}")
    status, reply = request(base, "POST", "/calls", body)
    if status >= 300:
        raise DemoError(f"POST /calls answered {status}: {reply}")
    plan = data_of(reply)
    call_id = plan.get("plan_id") or plan.get("call_id") or plan.get("id")
    print(f"   -> {status}, call {call_id}")
    seen: list[str] = []
    deadline = time.monotonic() + CALL_TIMEOUT
    while time.monotonic() < deadline:
        status, reply = request(base, "GET", f"/calls/{call_id}")
        plan = data_of(reply)
        state = str(plan.get("status"))
        if not seen or seen[-1] != state:
            seen.append(state)
            print(f"   {time.strftime('%H:%M:%S')} call is {state}")
        if state in FINAL:
            outcome = plan.get("outcome") or plan.get("reason")
            print(f"   call {call_id}: {' -> '.join(seen)}" + (f" ({outcome})" if outcome else ""))
            return plan
        time.sleep(0.2)
    raise DemoError(f"call {call_id} did not finish within {CALL_TIMEOUT:.0f}s (last status {seen[-1:]})")


def leg_table(base: str, plan: dict[str, Any]) -> None:
    """Every leg of the call, its events timed from the call's first event (so legs line up)."""
    legs: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for attempt in plan.get("legs") or []:
        label = f"{attempt.get('role')} attempt {attempt.get('attempt')} ({attempt.get('number')})"
        sid = attempt.get("leg_sid")
        if not sid:
            print(f"\n   {label}: no leg ({attempt.get('status')}, {attempt.get('error') or 'not dialled'})")
            continue
        leg = wait_terminal(base, sid)
        status, reply = request(base, "GET", f"/legs/{sid}/events")
        events = (data_of(reply) or {}).get("events", []) if status == 200 else []
        legs.append((f"{label}: leg {sid}, {leg.get('state')} / {leg.get('terminal_status') or '-'}", leg, events))
    times = [t for _, _, events in legs for t in (_seconds(e.get("event_time")) for e in events) if t is not None]
    start = min(times) if times else 0.0
    for title, _, events in legs:
        print(f"\n   {title}")
        print_timeline(events, start)


def wait_terminal(base: str, leg_sid: str, timeout: float = 15.0) -> dict[str, Any]:
    """The leg once it is terminal (its last events may trail the call's end by a moment), or as it is."""
    deadline = time.monotonic() + timeout
    leg: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status, reply = request(base, "GET", f"/legs/{leg_sid}")
        leg = data_of(reply) if status == 200 else {}
        if leg.get("state") == "terminal":
            break
        time.sleep(0.2)
    return leg


def print_timeline(events: list[dict[str, Any]], start: float) -> None:
    if not events:
        print("     (no events recorded)")
        return
    print(f"     {'+ms':>8}  {'event':<22} {'state':<11} details")
    print(f"     {'-' * 8}  {'-' * 22} {'-' * 11} {'-' * 30}")
    for item in events:
        when = _seconds(item.get("event_time"))
        offset = f"{(when - start) * 1000:8.0f}" if when is not None else "       ?"
        details = ", ".join(
            f"{key}={item[key]}" for key in ("answered_by", "terminal_status", "bridge_sid") if item.get(key)
        )
        print(f"     {offset}  {item.get('event_name')!s:<22} {item.get('state') or ''!s:<11} {details}")


def _seconds(value: Any) -> float | None:
    if isinstance(value, dict) and "seconds" in value:
        return float(value["seconds"]) + float(value.get("nanos", 0)) / 1e9
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            trimmed = value.replace("Z", "+00:00")
            if "." in trimmed:  # RFC 3339 with nanoseconds: Python keeps microseconds
                head, tail = trimmed.split(".", 1)
                digits = "".join(ch for ch in tail if ch.isdigit())
                zone = tail[len(digits) :]
                trimmed = f"{head}.{digits[:6]}{zone}"
            return datetime.fromisoformat(trimmed).timestamp()
        except ValueError:
            return None
    return None


def answering(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run(base: str) -> None:
    two_party = place_call(
        base,
        "Two-party call: the customer answers, hears a hold message, the agent is dialled, both are bridged",
        {"customer": HUMAN, "agent": AGENT, "exophone": EXOPHONE, "hold_message": "Connecting you to an agent"},
    )
    leg_table(base, two_party)
    busy = place_call(
        base,
        "Busy customer, retried: the first dial is busy, the retry (to the second number) answers",
        {
            "customer": BUSY,
            "customer_fallbacks": [SECOND_CHOICE],
            "agent": AGENT,
            "exophone": EXOPHONE,
            "retry": {"max_attempts": 2, "delay_seconds": 2},
        },
    )
    leg_table(base, busy)


def main() -> int:
    port = int(os.environ.get(DevstackEnv.API_PORT) or 3000)
    if answering(port):
        print(f"Using the devstack answering on http://127.0.0.1:{port}")
        try:
            run(f"http://127.0.0.1:{port}")
        except DemoError as exc:
            print(f"demo failed: {exc}", file=sys.stderr)
            return 1
        return 0
    print(f"Nothing answers on port {port}: starting a devstack for the demo, on free ports (~10 s)")
    with tempfile.TemporaryDirectory(prefix="devstack-demo-") as workdir:
        free = {
            name: "0"
            for name in (DevstackEnv.AWS_EMULATOR_PORT, SimulatorEnv.PORT, BridgeEnv.PORT, DevstackEnv.API_PORT)
        }
        stack = DevstackProcess(Path(workdir), free)
        try:
            info = stack.start()
            run(info["api_url"])
        except (DemoError, RuntimeError, TimeoutError) as exc:
            print(f"demo failed: {exc}\n---- devstack log ----\n{stack.tail(80)}", file=sys.stderr)
            return 1
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
