"""``make demo``: the demo calls on the local stack (two-party, busy with a retry, answering machine), each
checked against the outcome it must reach, and each leg's timeline as a table.

Uses a devstack already answering on ``API_PORT`` (``make run`` in another terminal), or starts one for the
demo's duration. Talks to the local API only, as a caller would. The console (``/console``) runs the same
scenarios from its buttons (devstack/scenarios.py).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from contract.env import BridgeEnv, DevstackEnv, SimulatorEnv
from devstack.launcher import DevstackProcess
from devstack.scenarios import SCENARIOS, Scenario, ScenarioFailed, data_of, request, run_scenario
from devstack.times import epoch_ms


class DemoError(RuntimeError):
    pass


def place_call(base: str, scenario: Scenario) -> dict[str, Any]:
    """One scenario, printed as it goes; :class:`DemoError` when the call does not end as promised."""
    print(f"\n== {scenario.title}: {scenario.explains}")
    try:
        return run_scenario(base, scenario, lambda line: print(f"   {line}"))
    except ScenarioFailed as exc:
        raise DemoError(str(exc)) from exc


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
    millis = epoch_ms(value)
    return None if millis is None else millis / 1000


def answering(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run(base: str, keys: tuple[str, ...] = tuple(SCENARIOS)) -> dict[str, dict[str, Any]]:
    """Each scenario in turn, with its legs' timelines; the final plans by scenario key."""
    plans: dict[str, dict[str, Any]] = {}
    for key in keys:
        plans[key] = place_call(base, SCENARIOS[key])
        leg_table(base, plans[key])
    print(f"\nAll {len(plans)} calls ended as expected. The console shows them too: {base}/console")
    return plans


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
