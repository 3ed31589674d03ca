"""Carries out the domain's decisions: the plan write (compare-and-swap), Legs API calls, retry messages.

The only module that performs an :class:`~lambdas.domain.actions.Action`. One explicit loop:

1. take the next decision function from the work queue (the event's, at first);
2. apply it to the stored plan and write the new plan with a version check (``before`` actions,
   the idempotent retry messages, are sent just before that write);
3. carry out the decision's ``after`` actions in order; the result of each action the plan must
   learn about (a created leg or bridge, or the API's refusal) goes back to the domain
   (:func:`~lambdas.domain.decisions.on_action_result`) as the next item of the work queue;
4. repeat until the queue is empty, at most :data:`MAX_ROUNDS` writes per invocation.

A follow-up is applied after the remaining actions of the decision that caused it. The bound is
far above what a call needs (an event's decision, a dial the API refuses, the re-dial or the end
of the call it leads to: three rounds); reaching it means a rule loops, and the rest of the queue
is logged as an error and reported as ``unfinished`` rather than run forever.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

from lambdas.dal.call_plans import PlanStore
from lambdas.dal.exotel import LegsApi
from lambdas.dal.retry_queue import RetryQueue
from lambdas.domain.actions import REPORTED, Action, ActionResult, Decision
from lambdas.domain.call_plan import CallPlan
from lambdas.domain.decisions import on_action_result
from lambdas.domain.leg_requests import bridge_request, exoml_say_then_hangup, leg_request

if TYPE_CHECKING:
    from legs.client import LegsApiError

#: Plan writes one invocation may make (the event's decision and its follow-ups).
MAX_ROUNDS = 8

Decide = Callable[[CallPlan], Decision | None]


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
    legs_api_calls: list[str]
    event_sid: str  # only when the event was not a plan's (nothing was looked up)


@dataclass
class Failure:
    """An action the Legs API refused, with the error as raised (the API re-raises it to its caller)."""

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
    failures: list[Failure] = field(default_factory=list)
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
    ) -> None:
        self.plans = plans
        self.legs = legs
        self.retry_queue = retry_queue
        self.logger = logger
        self.max_rounds = max_rounds

    @classmethod
    def from_env(cls, logger: Log | None = None) -> Executor:
        from lambdas.dal.exotel import legs_client

        return cls(PlanStore.from_env(), legs_client(), RetryQueue.from_env(), logger)

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
        self._drain(report, self._carry_out(decision.plan, decision.after, report))
        return report

    def create(self, decision: Decision) -> Report:
        """Store a new plan (:class:`~lambdas.dal.call_plans.PlanConflict` if its id exists), then act."""
        for action in decision.before:
            self._perform(decision.plan, action, report=None)
        plan = self.plans.create(decision.plan)
        report = Report(plan.plan_id, result=decision.note or "created", status=plan.status, plan=plan)
        report.actions = [a.kind for a in decision.actions]
        self._log("info", report.result, plan_id=plan.plan_id, status=plan.status)
        self._drain(report, self._carry_out(plan, decision.after, report))
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
                work.extend(self._carry_out(decision.plan, decision.after, report))

    def _write(self, plan_id: str, decide: Decide, report: Report) -> tuple[CallPlan | None, Decision | None]:
        """Read, decide, send the ``before`` actions, write with compare-and-swap (the store re-reads on conflict).

        Returns the plan as read and the decision written (None when there was nothing to write).
        """
        chosen: list[Decision] = []

        def change(plan: CallPlan) -> CallPlan | None:
            snapshot = plan.model_dump()
            decision = decide(plan)
            chosen.clear()
            if decision is None:
                return None
            if not decision.actions and decision.plan.model_dump() == snapshot:
                return None
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

    def _carry_out(self, plan: CallPlan, actions: list[Action], report: Report) -> deque[Decide]:
        """Perform ``actions`` in order; the follow-up decisions their results call for, in the same order."""
        follow: deque[Decide] = deque()
        for action in actions:
            result = self._perform(plan, action, report)
            if action.kind in REPORTED:
                follow.append(partial(on_action_result, result=result))
        return follow

    # ---- the actions ----------------------------------------------------------------------
    def _perform(self, plan: CallPlan, action: Action, report: Report | None) -> ActionResult:
        """Carry out one action. A Legs API refusal is a result (the domain decides what it means)."""
        from legs.client import LegsApiError  # here: urllib3 is not needed before the first call

        if action.kind == "schedule_retry":
            assert action.role and action.attempt
            self.retry_queue.send(plan.plan_id, action.role, action.attempt, action.delay_seconds)
            return ActionResult(action=action, ok=True)
        try:
            result = self._call_legs_api(plan, action, report)
        except LegsApiError as err:
            self._log("warning", f"{action.kind} failed: {err}", plan_id=plan.plan_id, action=action.key)
            if report is not None:
                report.failures.append(Failure(action, err))
            if action.kind == "end_with_message" and action.leg_sid:
                self._hangup_instead(plan, action.leg_sid, report)
            # hangup / say / stop_bridge: the leg or bridge is usually gone already; logged only.
            result = ActionResult(action=action, ok=False, error=str(err))
        if report is not None:
            report.results.append(result)
        return result

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
        if action.kind == "say":
            assert action.leg_sid and action.text
            called("say")
            self.legs.say(action.leg_sid, action.text)
        elif action.kind == "end_with_message":
            assert action.leg_sid and action.text
            called("leg_action")
            self.legs.leg_action(action.leg_sid, exoml_say_then_hangup(action.text))
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

    def _hangup_instead(self, plan: CallPlan, leg_sid: str, report: Report | None) -> None:
        """The message could not be played: at least end the leg."""
        if report is not None:
            report.calls.append("hangup")
        try:
            self.legs.hangup(leg_sid)
        except Exception as again:
            self._log("warning", f"hangup failed: {again}", plan_id=plan.plan_id)

    def _log(self, level: Literal["info", "warning", "error"], message: str, **extra: object) -> None:
        logger = self.logger
        if logger is not None:
            write = {"info": logger.info, "warning": logger.warning, "error": logger.error}[level]
            write(message, extra=extra)
