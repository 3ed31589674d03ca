"""The chaos harness: randomised two-party calls through the real functions, with faults injected everywhere.

Real parts: the functions' handlers (``api``, ``connect``, ``retry``, ``amd``, ``leg_state``, ``sweeper``)
against a moto server over HTTP (tables, the retry queue, the secret) and the Exotel simulator over
HTTP (its gRPC pushes land in an :class:`~tests.support.simulator.EventRecorder`). The harness plays
the parts AWS plays in production, and breaks them on purpose:

* **the bus** (:class:`ChaosBus`): each event goes to every function whose rule matches, as its own
  delivery; some deliveries are doubled, all are delayed by a random amount (so events arrive out of
  order), and a failed invocation is retried twice with a back-off, then dropped (the DLQ);
* **the retry queue**: its messages are drained and delivered to ``retry`` the same way;
* **the schedule**: the sweeper runs every ``sweep_every`` seconds;
* **death**: the functions' Legs client (:class:`DyingLegs`) kills the invocation, with probability
  ``death_rate``, just before a Legs API call, i.e. after the plan write and before the act
  (:class:`Killed` is a ``BaseException``: nothing in the function catches it, Powertools' idempotency
  record stays "in progress" as it would when a Lambda dies);
* **Exotel** (the simulator's ``/_sim/faults``): replies lost after the effect (a 502 or a stall past
  the client's time-out once the leg is created, the hangup done, the bridge made), 503s before the
  effect, bursts of 429;
* **people** (:class:`People`): the simulated numbers decide busy / no-answer / machine / human; a
  bridged call is ended by one of its parties after a while; some first parties give up on hold.

:func:`measure` then reads every leg from the simulator (``GET /_sim/legs``) and every plan, and counts
what the issue's bar is about: stranded legs, double dials, plans not final.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas.api.handler import handler as api_handler
from lambdas.api.service import plan_id_for
from lambdas.dal.call_plans import PlanStore
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.pending import MESSAGE_ENDS
from lambdas.domain.plan_ref import parse_plan_param
from lambdas.retry.handler import handler as retry_handler
from lambdas.sweeper.handler import handler as sweeper_handler
from legs.events import LegEvent
from tests.lambdas.flow import handler_of, routed_functions
from tests.lambdas.kit import Context, api_event, api_json, drain, eventbridge, sqs_event
from tests.support.simulator import EventRecorder

#: The bar: a leg of an ended plan may stay up at most this long after the plan ended (real seconds).
STRANDED_AFTER_S = 5.0


class Killed(BaseException):
    """The function's process died here: nothing after this point of the invocation runs."""


class DyingLegs:
    """The Legs client the functions use; the invocation dies just before a call with probability ``rate``, and
    surely before call number ``sure_by`` when none has died yet (a short run's draws may spare every call: at 6 %
    over 50 calls about one run in twenty, and the run would then not have tested a death at all)."""

    def __init__(self, inner: Any, rng: random.Random, rate: float, sure_by: int = 10) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = rate
        self.sure_by = sure_by
        self.deaths: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[float, str, str, str]] = []  # (time, call, its arguments, what came of it)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            due = not self.deaths and sum(self.calls.values()) + 1 >= self.sure_by
            if self.rng.random() < self.rate or due:
                self.deaths[name] += 1
                self.log.append((time.time(), name, f"{args} {kwargs}"[:300], "the invocation died before it"))
                raise Killed(f"died before {name}")
            self.calls[name] += 1
            said = f"{args} {kwargs}"[:300]
            try:
                result = attr(*args, **kwargs)
            except BaseException as exc:
                self.log.append((time.time(), name, said, f"raised {type(exc).__name__}: {exc}"[:300]))
                raise
            self.log.append((time.time(), name, said, repr(result)[:300]))
            return result

        return call


def http(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["response"]["data"]


#: Exotel's misbehaviour, by name: the body of a ``POST /_sim/faults``.
FAULTS: dict[str, dict[str, Any]] = {
    "dial reply lost (502 after the leg is created)": {
        "status": 502,
        "when": "after",
        "path": "/legs",
        "method": "POST",
    },
    "dial reply lost (time-out after the leg is created)": {
        "status": None,
        "delay": 1.5,
        "when": "after",
        "path": "/legs",
        "method": "POST",
    },
    "action reply lost (502 after the effect)": {"status": 502, "when": "after", "path": "/legs/", "method": "POST"},
    "bridge reply lost (502 after the effect)": {"status": 502, "when": "after", "path": "/bridges"},
    "503 before the effect": {"status": 503, "when": "before"},
    "429 burst": {"status": 429, "count": 4, "retry_after": 0.05},
    "429 sustained": {"status": 429, "count": 8, "retry_after": 0.05},
}


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    function: str = field(compare=False)
    payload: Any = field(compare=False)
    attempt: int = field(default=1, compare=False)


@dataclass
class ChaosBus:
    """EventBridge, the retry queue's event source mapping and the schedule, with duplicates, delays and deaths.

    Each function runs in its own thread, one invocation at a time (one Lambda execution environment each:
    Powertools' module-level objects expect that), so functions overlap as they do in AWS and a slow Exotel
    reply holds up only the function waiting for it.
    """

    recorder: EventRecorder
    resources: Any
    rng: random.Random
    duplicate_rate: float = 0.3
    max_delay: float = 0.4  # each delivery waits up to this long: events overtake each other
    retries: int = 2  # Lambda's asynchronous retries (then the event is dropped to the DLQ)
    sweep_every: float = 0.5
    queue: list[Delivery] = field(default_factory=list)
    seen: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _seq: Any = field(default_factory=itertools.count)
    _next_sweep: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: dict[str, ThreadPoolExecutor] = field(default_factory=dict)
    _running: list[Future[None]] = field(default_factory=list)
    _sweeping: Future[None] | None = None

    def __post_init__(self) -> None:
        self.sqs = self.resources.client("sqs")

    def close(self) -> None:
        for worker in self._workers.values():
            worker.shutdown(wait=True)

    def _submit(self, function: str, work: Callable[[], None]) -> None:
        worker = self._workers.get(function)
        if worker is None:
            worker = self._workers[function] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fn-{function}")
        self._running.append(worker.submit(work))

    def _push(self, function: str, payload: Any, *, delay: float, attempt: int = 1) -> None:
        delivery = Delivery(time.monotonic() + delay, next(self._seq), function, payload, attempt)
        with self._lock:
            heapq.heappush(self.queue, delivery)

    def _count(self, name: str, value: int = 1) -> None:
        with self._lock:
            self.counts[name] += value

    def _fan_out(self, function: str, payload: Any) -> None:
        copies = 2 if self.rng.random() < self.duplicate_rate else 1
        self._count("duplicated", copies - 1)
        for _ in range(copies):
            self._push(function, payload, delay=self.rng.uniform(0, self.max_delay))

    def step(self) -> int:
        """Take in new events and retry messages, deliver what is due, run the sweeper when due."""
        events = self.recorder.events[self.seen :]
        self.seen += len(events)
        for event in events:
            envelope = eventbridge(event.model_dump(mode="json", exclude_unset=True))
            for function in routed_functions(envelope):
                self._fan_out(function, envelope)
        for message in drain(self.sqs, self.resources.retry_queue_url, expect=0):
            self._fan_out("retry-queue", message["Body"])
        due: list[Delivery] = []
        now = time.monotonic()
        with self._lock:
            while self.queue and self.queue[0].due <= now:
                due.append(heapq.heappop(self.queue))
        for delivery in due:
            self._submit(delivery.function, lambda d=delivery: self._deliver(d))
        if now >= self._next_sweep and (self._sweeping is None or self._sweeping.done()):
            self._next_sweep = now + self.sweep_every
            self._submit("sweeper", self._sweep)
            self._sweeping = self._running[-1]
        still = []
        for future in self._running:
            if future.done():
                future.result()  # a bug in the harness itself surfaces here
            else:
                still.append(future)
        self._running = still
        return len(due) + len(events)

    def idle(self) -> bool:
        with self._lock:
            queued = bool(self.queue)
        busy = any(not f.done() for f in self._running)
        return not queued and not busy and self.seen == len(self.recorder.events)

    def _deliver(self, delivery: Delivery) -> None:
        name = delivery.function
        try:
            if name == "retry-queue":
                reply = retry_handler(sqs_event([delivery.payload]), Context("retry"))
                failed = bool(reply.get("batchItemFailures"))
            else:
                handler_of(name)(delivery.payload, Context(name))
                failed = False
        except Killed:
            self._count("invocations killed")
            failed = True
        except Exception as exc:  # e.g. the idempotency record of a killed invocation is still "in progress"
            self._count(f"invocation failed: {type(exc).__name__}")
            if not _in_progress(exc):
                with self._lock:
                    self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            failed = True
        self._count("deliveries")
        if not failed:
            return
        if delivery.attempt > self.retries:
            self._count("dropped after retries")
            return
        backoff = 0.5 * delivery.attempt
        self._push(name, delivery.payload, delay=backoff, attempt=delivery.attempt + 1)
        self._count("redelivered")

    def _sweep(self) -> None:
        try:
            summary = sweeper_handler({"detail-type": "Scheduled Event", "source": "aws.events"}, Context("sweeper"))
        except Killed:
            self._count("sweeper runs killed")
            return
        self._count("sweeper runs")
        self._count("plans swept", summary["swept"])
        for plan in summary["plans"]:
            notes = " ".join([plan["result"], *plan.get("follow_ups", [])])
            self._count("actions re-issued by the sweeper", notes.count("re-issued"))
            self._count("actions given up by the sweeper", notes.count("gave up"))


def _in_progress(exc: BaseException) -> bool:
    """A killed invocation's idempotency record is still "in progress": the retry fails until it expires, as in AWS
    (directly, or as every record of an SQS batch: Powertools' ``BatchProcessingError`` with those as its causes)."""
    if "InProgress" in type(exc).__name__:
        return True
    children = getattr(exc, "child_exceptions", None) or []
    return bool(children) and all("InProgress" in getattr(child[0], "__name__", "") for child in children)


@dataclass
class People:
    """The people on the lines: a bridged call is ended by one party after a while; some on hold give up."""

    sim_url: str
    rng: random.Random
    abandon_rate: float = 0.1
    hangups: list[tuple[float, str]] = field(default_factory=list)
    decided: set[tuple[str, str]] = field(default_factory=set)  # (plan, status) already looked at
    counts: Counter[str] = field(default_factory=Counter)

    def look(self, plan: CallPlan) -> None:
        if (plan.plan_id, plan.status) in self.decided or plan.final:
            return
        self.decided.add((plan.plan_id, plan.status))
        first = plan.current(plan.first_role)
        if plan.status == "bridged":
            party = plan.current(self.rng.choice([plan.first_role, plan.second_role]))
            if party is not None and party.leg_sid:
                self.hangups.append((time.monotonic() + self.rng.uniform(0.3, 1.5), party.leg_sid))
                self.counts["bridged calls ended by a party"] += 1
        elif plan.status == "dialing_second" and first is not None and first.leg_sid and first.status == "answered":
            gives_up = self.rng.random() < self.abandon_rate
            if gives_up:
                self.hangups.append((time.monotonic() + self.rng.uniform(0.0, 0.5), first.leg_sid))
                self.counts["first parties who gave up on hold"] += 1

    def act(self) -> None:
        now = time.monotonic()
        due = [h for h in self.hangups if h[0] <= now]
        for hangup in due:
            self.hangups.remove(hangup)
            http("POST", f"{self.sim_url}/_sim/legs/{hangup[1]}/hangup")


# ---- the calls ------------------------------------------------------------------------------
EXOPHONE = "08030752400"
HUMAN, BUSY, NO_ANSWER, MACHINE = "0000", "1002", "1003", "1004"


def random_call(rng: random.Random, n: int) -> dict[str, Any]:
    """A two-party call whose parties answer, are busy, do not answer, or are machines (by the last digits)."""

    def number(outcome: str) -> str:
        return f"0{rng.randint(600000, 999999)}{outcome}"  # an Indian mobile; the last four digits decide

    customer = rng.choices([HUMAN, BUSY, NO_ANSWER, MACHINE], weights=[6, 1, 1, 2])[0]
    agent = rng.choices([HUMAN, BUSY, NO_ANSWER], weights=[6, 2, 1])[0]
    body: dict[str, Any] = {
        "customer": number(customer),
        "agent": number(agent),
        "exophone": EXOPHONE,
        "customer_fallbacks": [number(HUMAN)],
        "agent_fallbacks": [number(HUMAN)],
        "retry": {"max_attempts": rng.choice([1, 2, 3]), "delay_seconds": rng.choice([0, 1])},
        "bridge_model": rng.choice(["legs_first", "bridge_first"]),
    }
    if rng.random() < 0.5:
        body["hold_message"] = "Please hold while we connect you"
    if rng.random() < 0.5:
        body["unavailable_message"] = "Sorry, nobody is free"
    if customer == MACHINE or rng.random() < 0.3:
        body["amd"] = rng.choice([{"behaviour": "hangup"}, {"behaviour": "message", "message": "Call us back"}])
    return body


def place_call(body: dict[str, Any], key: str, counts: Counter[str], tries: int = 3) -> str | None:
    """``POST /calls`` as a caller does: retried with the same Idempotency-Key on a 429/5xx, a 409, or a death."""
    for attempt in range(tries):
        try:
            reply = api_handler(api_event("POST", "/calls", body, headers={"Idempotency-Key": key}), Context("api"))
        except Killed:
            counts["api invocations killed"] += 1
            time.sleep(0.2)
            continue
        status = reply["statusCode"]
        counts[f"POST /calls {status}"] += 1
        if status == 202:
            return str(api_json(reply)["plan_id"])
        if status == 409:  # a killed request with this key is still "in progress": its plan exists (the key's id)
            return plan_id_for(key, "anonymous")  # api_event carries no signed identity
        time.sleep(0.1 * (attempt + 1))
    # every try died or was refused: a plan exists only if one got as far as storing it
    plan_id = plan_id_for(key, "anonymous")
    return plan_id if PlanStore.from_env().get(plan_id) is not None else None


# ---- the figures ----------------------------------------------------------------------------
def _t(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


@dataclass
class Figures:
    plans: int
    legs: int
    not_final: list[str]
    stranded: list[str]
    double_dials: list[str]
    outcomes: Counter[str]
    evidence: dict[str, Any] = field(default_factory=dict)  # the plan (and its legs) behind each finding
    longest_up_s: float = 0.0  # the longest a leg stayed up after its plan ended (or its end message stopped)
    longest_message_s: float = 0.0  # the longest an end message kept a leg up after its plan ended

    def line(self) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.plans} calls, {self.legs} legs: stranded legs {len(self.stranded)}, double dials "
            f"{len(self.double_dials)}, plans not final {len(self.not_final)}; longest up after the end "
            f"{self.longest_up_s:.1f} s (end messages heard up to {self.longest_message_s:.1f} s); outcomes: {outcomes}"
        )


def message_ends(events: Iterable[LegEvent]) -> dict[str, float]:
    """When each leg's last message stopped playing, by Exotel's own events (``say_completed`` and the like).

    A plan that ends with a message ("Sorry, nobody is free") keeps its leg up while the person hears it, and hangs
    up on the message's end: the stranded clock starts there, not while somebody is still listening."""
    ends: dict[str, float] = {}
    for event in events:
        if event.event_name in MESSAGE_ENDS and event.leg_sid:
            at = event.event_timestamp.sort_key / 1e9
            ends[event.leg_sid] = max(at, ends.get(event.leg_sid, at))
    return ends


def measure(
    sim_url: str, plan_ids: list[str], checked_at: float, heard_until: dict[str, float] | None = None
) -> Figures:
    """Stranded: a leg of an ended plan up more than 5 s after the plan ended, or after the end message it was
    hearing stopped (``heard_until``, see :func:`message_ends`), or still up now, 5 s after.
    Double dial: two legs of one party of one plan up at the same time."""
    heard_until = heard_until or {}
    store = PlanStore.from_env()
    plans = {pid: store.get(pid) for pid in plan_ids}
    legs = [leg for leg in http("GET", f"{sim_url}/_sim/legs") if (ref := parse_plan_param(leg.get("custom_param")))]
    by_party: dict[tuple[str, str], list[dict[str, Any]]] = {}
    stranded, doubles, not_final = [], [], []
    evidence: dict[str, Any] = {}
    outcomes: Counter[str] = Counter()
    longest_up = longest_message = 0.0
    for pid, plan in plans.items():
        if plan is None or not plan.final or plan.pending:
            not_final.append(f"{pid}: {plan.status if plan else 'missing'} pending={plan.pending if plan else None}")
        elif plan.outcome:
            outcomes[plan.outcome] += 1
    for leg in legs:
        ref = parse_plan_param(leg["custom_param"])
        assert ref is not None
        plan = plans.get(ref.plan_id)
        if plan is None:
            continue
        by_party.setdefault((ref.plan_id, ref.role), []).append(leg)
        ended_at = _t(plan.ended_at) if plan.final else None
        if ended_at is None:
            continue
        leg_end = _t(leg.get("end_time")) if leg["state"] == "terminal" else checked_at
        quiet_from = max(ended_at, heard_until.get(leg["leg_sid"], ended_at))
        longest_message = max(longest_message, quiet_from - ended_at)
        if leg_end is not None:
            longest_up = max(longest_up, leg_end - quiet_from)
            if leg_end - quiet_from > STRANDED_AFTER_S / 2:  # a near miss: its evidence too (what made it slow)
                evidence[ref.plan_id] = plan.model_dump(mode="json")
        if leg_end is not None and leg_end > quiet_from + STRANDED_AFTER_S:
            stranded.append(f"{leg['leg_sid']} ({ref.role} of {ref.plan_id}, {leg['state']}, plan {plan.outcome})")
            evidence[ref.plan_id] = plan.model_dump(mode="json")
    for (pid, role), party_legs in by_party.items():
        spans = sorted((_t(leg["date_created"]) or 0.0, _t(leg.get("end_time")) or checked_at) for leg in party_legs)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                doubles.append(f"{role} of {pid}: {len(party_legs)} legs overlap")
                plan = plans.get(pid)
                evidence[pid] = plan.model_dump(mode="json") if plan else None
                break
    for pid in evidence:
        evidence[pid] = {"plan": evidence[pid], "legs": [leg for leg in legs if pid in leg["custom_param"]]}
    return Figures(
        len(plan_ids), len(legs), not_final, stranded, doubles, outcomes, evidence, longest_up, longest_message
    )


def run_until(done: Callable[[], bool], step: Callable[[], int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        if not step():
            time.sleep(0.02)
    return done()
