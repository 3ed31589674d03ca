"""Carries out the domain's decisions: the plan write (compare-and-swap), Legs API calls, retry messages.

The only module that performs an :class:`~lambdas.domain.actions.Action`. One explicit loop:

1. take the next decision function from the work queue (the event's, at first);
2. apply it to the stored plan; record its ``after`` actions in the plan as *pending* and set the
   deadlines of what changed (:func:`~lambdas.domain.pending.track`); write the new plan with a
   version check (``before`` actions, the idempotent retry messages, are sent just before that write);
3. carry out the decision's ``after`` actions in order and classify each reply (ok, gone, refused,
   throttled, unknown); the replies go back to the domain together
   (:func:`~lambdas.domain.results.settle`) as the next item of the work queue, which confirms the
   pending actions, records new sids, and decides what a refusal means;
4. repeat until the queue is empty, at most :data:`MAX_ROUNDS` writes per invocation.

A function that dies between a write and its calls leaves the calls pending in the plan, with a
deadline: the sweeper (``lambdas/sweeper``) re-issues them. A reply that does not say whether the
call took effect (no reply, a 5xx) is "unknown", never "failed": the action stays pending until an
event confirms it or its deadline passes. Reaching the bound means a rule loops: the rest of the
queue is logged as an error and reported as ``unfinished`` rather than run forever.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict

from lambdas.dal.call_plans import PlanStore
from lambdas.dal.exotel import LegsApi
from lambdas.dal.retry_queue import RetryQueue
from lambdas.domain.actions import Action, ActionResult, Decision, Outcome
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.deadlines import Deadlines
from lambdas.domain.leg_requests import bridge_request, exoml_join_bridge, leg_request
from lambdas.domain.pending import ENDING, track
from lambdas.domain.results import settle
from legs.errors import LegsApiError

#: Plan writes one invocation may make (the event's decision and its follow-ups).
MAX_ROUNDS = 8
#: Actions whose 404/409 means "what it would end has ended already": the goal is reached.
ENDS_SOMETHING: frozenset[str] = frozenset({"hangup", "stop_bridge", "say", "end_with_message"})
#: The Legs API's "not there / not in that state any more" answers.
ALREADY_ENDED_CODES: frozenset[int] = frozenset({404, 409})
#: Ending a leg or a bridge is safe to repeat: an unsettled try is repeated at once, after these pauses (seconds),
#: before it is left to the sweeper (someone may be on the line).
ENDING_RETRY_PAUSES: tuple[float, ...] = (0.2, 0.5)

Decide = Callable[[CallPlan], Decision | None]
Clock = Callable[[], float]


class Log(Protocol):
    """Where the executor reports what it did: Powertools' ``Logger`` (or a test's recorder)."""

    def info(self, message: str, /, *, extra: Mapping[str, object]) -> None: ...
    def warning(self, message: str, /, *, extra: Mapping[str, object]) -> None: ...
    def error(self, message: str, /, *, extra: Mapping[str, object]) -> None: ...


class Summary(TypedDict, total=False):
    """What a reacting function returns (and its idempotency record keeps): :meth:`Report.summary`."""

    plan_id: str
    result: str
    status: str
    actions: list[str]
    follow_ups: list[str]
    unfinished: int
    unknown: list[str]  # actions whose reply did not settle them (left pending)
    legs_api_calls: list[str]
    event_sid: str  # only when the event was not a plan's (nothing was looked up)


@dataclass
class Failure:
    """An action the Legs API refused or throttled, with the error as raised (the API re-raises it)."""

    action: Action
    error: LegsApiError


@dataclass
class Report:
    """What one invocation did: the first decision's outcome, its follow-ups, every call made."""

    plan_id: str
    result: str = ""
    status: str | None = None
    actions: list[str] | None = None  # kinds of the first decision's actions (None: nothing was written)
    follow_ups: list[str] = field(default_factory=list)  # notes of the follow-up decisions written
    results: list[ActionResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # refused or throttled: Exotel did not do it
    unknown: list[Action] = field(default_factory=list)  # the reply did not say whether it was done
    calls: list[str] = field(default_factory=list)  # Legs API methods called, in order
    unfinished: int = 0  # follow-ups left when the bound was reached
    plan: CallPlan | None = None  # the plan as last read or written

    def created_leg_sid(self) -> str | None:
        return next((r.leg_sid for r in self.results if r.action.kind == "create_leg" and r.leg_sid), None)

    def summary(self) -> Summary:
        """The function's return value (and its idempotency record)."""
        out: Summary = {"plan_id": self.plan_id, "result": self.result}
        if self.status is not None:
            out["status"] = self.status
        if self.actions is not None:
            out["actions"] = list(self.actions)
        if self.follow_ups:
            out["follow_ups"] = list(self.follow_ups)
        if self.unknown:
            out["unknown"] = [a.key for a in self.unknown]
        if self.unfinished:
            out["unfinished"] = self.unfinished
        out["legs_api_calls"] = list(self.calls)
        return out


class Executor:
    """Applies decisions to the CallPlans table and performs their actions (Legs API, retry queue)."""

    def __init__(
        self,
        plans: PlanStore,
        legs: LegsApi,
        retry_queue: RetryQueue,
        logger: Log | None = None,
        max_rounds: int = MAX_ROUNDS,
        deadlines: Deadlines | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plans = plans
        self.legs = legs
        self.retry_queue = retry_queue
        self.logger = logger
        self.max_rounds = max_rounds
        self.deadlines = deadlines or Deadlines()
        self.clock = clock
        self.sleep = sleep

    @classmethod
    def from_env(cls, logger: Log | None = None) -> Executor:
        from lambdas.dal.exotel import legs_client
        from lambdas.shared.config import settings

        deadlines = Deadlines.with_overrides(**settings().deadline_overrides())
        return cls(PlanStore.from_env(), legs_client(), RetryQueue.from_env(), logger, deadlines=deadlines)

    # ---- entry points ---------------------------------------------------------------------
    def run(self, plan_id: str, decide: Decide) -> Report:
        """Apply ``decide`` to the stored plan, carry out its actions, then every follow-up."""
        report = Report(plan_id)
        before, decision = self._write(plan_id, decide, report)
        if before is None:
            report.result = "unknown plan"
            return report
        if decision is None:
            report.result = "nothing to do"
            return report
        report.result = decision.note or "updated"
        report.actions = [a.kind for a in decision.actions]
        self._drain(report, self._carry_out(decision.plan, decision.after, report, interactive=False))
        return report

    def create(self, decision: Decision) -> Report:
        """Store a new plan (:class:`~lambdas.dal.call_plans.PlanConflict` if its id exists), then act.

        A caller is waiting: a refused or throttled first dial fails the plan (and is in ``failures``);
        an unknown one leaves the plan dialling, its dial pending (``unknown``).
        """
        for action in decision.before:
            self._perform(decision.plan, action, report=None)
        track(None, decision, self.clock(), self.deadlines)
        plan = self.plans.create(decision.plan)
        report = Report(plan.plan_id, result=decision.note or "created", status=plan.status, plan=plan)
        report.actions = [a.kind for a in decision.actions]
        self._log("info", report.result, plan_id=plan.plan_id, status=plan.status)
        self._drain(report, self._carry_out(plan, decision.after, report, interactive=True))
        return report

    # ---- the loop -------------------------------------------------------------------------
    def _drain(self, report: Report, work: deque[Decide]) -> None:
        """Apply follow-up decisions until none is left, at most ``max_rounds - 1`` of them."""
        rounds = 1
        while work:
            if rounds >= self.max_rounds:
                report.unfinished = len(work)
                self._log("error", f"stopped after {rounds} plan writes", plan_id=report.plan_id, left=len(work))
                return
            rounds += 1
            _, decision = self._write(report.plan_id, work.popleft(), report)
            if decision is not None:
                report.follow_ups.append(decision.note or "updated")
                work.extend(self._carry_out(decision.plan, decision.after, report, interactive=False))

    def _write(self, plan_id: str, decide: Decide, report: Report) -> tuple[CallPlan | None, Decision | None]:
        """Read, decide, record the actions as pending, send the ``before`` actions, write with compare-and-swap
        (the store re-reads on conflict). Returns the plan as read and the decision written (None: nothing)."""
        chosen: list[Decision] = []

        def change(plan: CallPlan) -> CallPlan | None:
            read = plan.model_copy(deep=True)
            decision = decide(plan)
            chosen.clear()
            if decision is None:
                return None
            if not decision.actions and decision.plan.model_dump() == read.model_dump():
                return None
            track(read, decision, self.clock(), self.deadlines)
            for action in decision.before:
                self._perform(decision.plan, action, report=None)
            chosen.append(decision)
            return decision.plan

        before, after = self.plans.mutate(plan_id, change)
        if before is not None:
            report.plan, report.status = before, before.status
        if after is None or not chosen:
            return before, None
        decision = chosen[0]
        decision.plan = after
        report.plan, report.status = after, after.status
        self._log("info", decision.note or "plan updated", plan_id=plan_id, status=after.status)
        return before, decision

    def _carry_out(self, plan: CallPlan, actions: list[Action], report: Report, *, interactive: bool) -> deque[Decide]:
        """Perform ``actions``, the ones that end a leg first (people first: a slow or failing dial, bridge or
        join in the same decision must not keep anyone on the line), the rest in order; their results go back to
        the domain as one follow-up decision."""
        ordered = sorted(actions, key=lambda action: action.kind not in ENDING)  # stable: else in order
        results = [self._perform(plan, action, report) for action in ordered]
        follow: deque[Decide] = deque()
        if results:
            follow.append(
                lambda current: settle(
                    current, results, now=self.clock(), deadlines=self.deadlines, interactive=interactive
                )
            )
        return follow

    # ---- the actions ----------------------------------------------------------------------
    def _perform(self, plan: CallPlan, action: Action, report: Report | None) -> ActionResult:
        """Carry out one action. A Legs API error is a result: ``gone``, ``refused``, ``throttled`` or ``unknown``."""
        if action.kind == "schedule_retry":
            assert action.role and action.attempt
            self.retry_queue.send(plan.plan_id, action.role, action.attempt, action.delay_seconds)
            return ActionResult(action=action, ok=True)
        pauses = ENDING_RETRY_PAUSES if action.kind in ("hangup", "stop_bridge") else ()
        for attempt in range(len(pauses) + 1):
            try:
                result = self._call_legs_api(plan, action, report)
                break
            except LegsApiError as err:
                outcome = self.classify(action, err)
                self._log_error(plan, action, err, outcome)
                if outcome in ("unknown", "throttled") and attempt < len(pauses):
                    self.sleep(max(pauses[attempt], min(err.retry_after or 0.0, 5.0)))
                    continue
                result = self._failed(action, err, outcome, report)
                break
        if report is not None:
            report.results.append(result)
        return result

    def _failed(self, action: Action, err: LegsApiError, outcome: Outcome, report: Report | None) -> ActionResult:
        if report is not None:
            if outcome in ("refused", "throttled"):
                report.failures.append(Failure(action, err))
            elif outcome == "unknown":
                report.unknown.append(action)
        return ActionResult(
            action=action, ok=outcome == "gone", outcome=outcome, error=str(err), retry_after=err.retry_after
        )

    @staticmethod
    def classify(action: Action, err: LegsApiError) -> Outcome:
        """What a Legs API error means: no reply or a 5xx may have been acted on (unknown); 429 was not."""
        if err.http_code == 429:
            return "throttled"
        if err.http_code == 0 or err.http_code >= 500:
            return "unknown"
        if action.kind in ENDS_SOMETHING and err.http_code in ALREADY_ENDED_CODES:
            return "gone"
        return "refused"

    def _log_error(self, plan: CallPlan, action: Action, err: LegsApiError, outcome: Outcome) -> None:
        target = action.bridge_sid or action.leg_sid or f"{action.role} dial {action.attempt}"
        if outcome == "gone":  # an expected race: the leg or bridge ended on its own first
            what = "bridge" if action.kind == "stop_bridge" else "leg"
            message = f"{action.kind}: {what} {target} already ended ({err.http_code})"
            self._log("info", message, plan_id=plan.plan_id, action=action.key)
            return
        verdict = {"unknown": "outcome unknown, left pending", "throttled": "throttled, left pending"}.get(
            outcome, "refused"
        )
        self._log("warning", f"{action.kind} {verdict}: {err}", plan_id=plan.plan_id, action=action.key)

    def _call_legs_api(self, plan: CallPlan, action: Action, report: Report | None) -> ActionResult:
        def called(method: str) -> None:
            if report is not None:
                report.calls.append(method)

        if action.kind == "create_leg":
            assert action.role in ("customer", "agent") and action.attempt
            called("create_leg")
            created = self.legs.create_leg(leg_request(plan, action.role, action.attempt))
            return ActionResult(action=action, ok=True, leg_sid=created.leg_sid)
        if action.kind == "create_bridge":
            called("create_bridge")
            bridge = self.legs.create_bridge(bridge_request(plan, action.leg_sids))
            return ActionResult(action=action, ok=True, bridge_sid=bridge.bridge_sid)
        if action.kind in ("say", "end_with_message"):  # start_say; an end message's hangup follows say_completed
            assert action.leg_sid and action.text
            called("say")
            self.legs.say(action.leg_sid, action.text, 1, action.key)
        elif action.kind == "join_bridge":
            assert action.leg_sid and action.bridge_sid
            called("leg_action")
            self.legs.leg_action(action.leg_sid, exoml_join_bridge(action.bridge_sid), action.key)
        elif action.kind == "hangup":
            assert action.leg_sid
            called("hangup")
            self.legs.hangup(action.leg_sid)
        elif action.kind == "stop_bridge":
            assert action.bridge_sid
            called("stop_bridge")
            self.legs.stop_bridge(action.bridge_sid)
        else:  # pragma: no cover - ActionKind is a closed Literal
            raise ValueError(f"unknown action {action.kind!r}")
        return ActionResult(action=action, ok=True)

    def _log(self, level: Literal["info", "warning", "error"], message: str, **extra: object) -> None:
        logger = self.logger
        if logger is not None:
            write = {"info": logger.info, "warning": logger.warning, "error": logger.error}[level]
            write(message, extra=extra)
