"""The demo's calls, each with the outcome it must reach: ``make demo`` runs them, and so do the console's buttons.

A scenario talks to the local API only (``POST /calls``, then ``GET /calls/{id}`` until the call is
final), as a caller would, and says what it sees through a callback (a terminal prints it, the console
shows it). Its expectation is checked: a demo that "runs" but ends the wrong way fails.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Numbers the simulator reacts to by their last four digits (docs/SIMULATOR.md).
EXOPHONE = "08047105151"
HUMAN = "09163810001"  # anything not listed below: a human answers, talks, hangs up
BUSY = "09163811002"
NO_ANSWER = "09163811003"
MACHINE = "09163811004"
AGENT = "09163810042"
SECOND_CHOICE = "09163810077"  # the busy customer's other number: a human answers there

FINAL = frozenset({"completed", "failed"})
CALL_TIMEOUT = 120.0
POLL_SECONDS = 0.2

Say = Callable[[str], None]


class ScenarioFailed(RuntimeError):
    """The call did not end the way the scenario promises (or the API refused it)."""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    explains: str
    body: dict[str, Any]
    #: (status, outcome) the call must end with
    ends: tuple[str, str | None]
    #: further checks on the final plan: each returns a problem, or None
    checks: tuple[Callable[[dict[str, Any]], str | None], ...] = field(default=())

    def problems(self, plan: dict[str, Any], statuses: list[str]) -> list[str]:
        found = []
        status, outcome = self.ends
        if plan.get("status") != status or (outcome is not None and plan.get("outcome") != outcome):
            found.append(
                f"ended {plan.get('status')}/{plan.get('outcome')}, expected {status}/{outcome or 'any outcome'}"
                f" (statuses seen: {' -> '.join(statuses)})"
            )
        found.extend(problem for check in self.checks if (problem := check(plan)) is not None)
        return found


def attempts(plan: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The plan's dials of one party, in attempt order."""
    return sorted((leg for leg in plan.get("legs") or [] if leg.get("role") == role), key=lambda leg: leg["attempt"])


def _both_answered(plan: dict[str, Any]) -> str | None:
    missing = [role for role in ("customer", "agent") if not any(a.get("leg_sid") for a in attempts(plan, role))]
    return f"no leg for {', '.join(missing)}" if missing else None


def _bridged(plan: dict[str, Any]) -> str | None:
    return None if plan.get("bridge_sid") else "the two parties were never bridged (no bridge_sid)"


def _busy_then_second_number(plan: dict[str, Any]) -> str | None:
    dials = attempts(plan, "customer")
    if len(dials) != 2:
        return f"expected 2 dials of the customer, got {len(dials)}: {dials}"
    first, second = dials
    if first.get("number") != BUSY or first.get("terminal_status") != "busy":
        return f"the first dial should be {BUSY} and busy: {first}"
    if second.get("number") != SECOND_CHOICE or second.get("answered_by") not in (None, "HUMAN"):
        return f"the re-dial should go to {SECOND_CHOICE} and be answered: {second}"
    if second.get("terminal_status") not in (None, "completed"):
        return f"the re-dial should connect, not end {second.get('terminal_status')}: {second}"
    return None


def _machine_detected(plan: dict[str, Any]) -> str | None:
    dials = attempts(plan, "customer")
    if not dials or dials[0].get("answered_by") != "MACHINE":
        return f"the customer's dial should be answered by a MACHINE: {dials}"
    if attempts(plan, "agent"):
        return "the agent was dialled although the customer was a machine"
    return None


TWO_PARTY = Scenario(
    key="two_party",
    title="Two-party call",
    explains="the customer answers and hears a hold message, the agent is dialled, both are bridged",
    body={"customer": HUMAN, "agent": AGENT, "exophone": EXOPHONE, "hold_message": "Connecting you to an agent"},
    ends=("completed", "completed"),
    checks=(_both_answered, _bridged),
)
BUSY_RETRY = Scenario(
    key="busy_retry",
    title="Busy customer, dialled again",
    explains=(
        f"the first dial ({BUSY}) is busy; the re-dial goes to the customer's second number ({SECOND_CHOICE}), "
        "which answers: dial n uses the n-th of customer + customer_fallbacks"
    ),
    body={
        "customer": BUSY,
        "customer_fallbacks": [SECOND_CHOICE],
        "agent": AGENT,
        "exophone": EXOPHONE,
        "retry": {"max_attempts": 2, "delay_seconds": 2},
    },
    ends=("completed", "completed"),
    checks=(_busy_then_second_number, _bridged),
)
ANSWERING_MACHINE = Scenario(
    key="machine",
    title="Answering machine",
    explains="a machine answers the customer's phone: a message is left, the call ends, the agent is never dialled",
    body={
        "customer": MACHINE,
        "agent": AGENT,
        "exophone": EXOPHONE,
        "amd": {"behaviour": "message", "message": "Sorry we missed you, we will call again"},
    },
    ends=("failed", "machine"),
    checks=(_machine_detected,),
)
SCENARIOS: dict[str, Scenario] = {s.key: s for s in (TWO_PARTY, BUSY_RETRY, ANSWERING_MACHINE)}


# ---- talking to the local API ----------------------------------------------------------------------
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


def run_scenario(
    base: str,
    scenario: Scenario,
    say: Say = print,
    *,
    timeout: float = CALL_TIMEOUT,
    on_created: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Place the call, follow it to its end (saying each status), check the outcome; the final plan."""
    say(f"POST /calls {json.dumps(scenario.body)}")
    status, reply = request(base, "POST", "/calls", scenario.body)
    if status >= 300:
        raise ScenarioFailed(f"POST /calls answered {status}: {reply}")
    plan = data_of(reply)
    call_id = plan.get("plan_id") or plan.get("call_id") or plan.get("id")
    say(f"-> {status}, call {call_id}")
    if on_created is not None:
        on_created(str(call_id))
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, reply = request(base, "GET", f"/calls/{call_id}")
        if status != 200:
            raise ScenarioFailed(f"GET /calls/{call_id} answered {status}: {reply}")
        plan = data_of(reply)
        state = str(plan.get("status"))
        if not seen or seen[-1] != state:
            seen.append(state)
            say(f"{time.strftime('%H:%M:%S')} call is {state}")
        if state in FINAL:
            outcome = plan.get("outcome") or plan.get("reason")
            say(f"call {call_id}: {' -> '.join(seen)}" + (f" ({outcome})" if outcome else ""))
            problems = scenario.problems(plan, seen)
            if problems:
                raise ScenarioFailed(f"{scenario.title}: " + "; ".join(problems))
            say(f"as expected: {scenario.explains}")
            return dict(plan)
        time.sleep(POLL_SECONDS)
    raise ScenarioFailed(f"call {call_id} did not finish within {timeout:.0f}s (last status {seen[-1:]})")
