"""The two-party call as decisions: (plan, event) -> (new plan, actions), then the actions.

Who acts on which event (so that ``connect`` and ``retry`` never both act on one event):

* ``retry`` owns "a plan's current dial ended busy / no-answer / failed (or failed to create),
  was never answered, and the party has dials left" (:func:`retry_wanted`). It records the end,
  adds a *scheduled* attempt and sends a delayed SQS message; the message makes it dial.
* ``amd`` owns "the customer's current dial was answered by a machine" while AMD is on.
* ``connect`` owns everything else, and does nothing for an event the other two own.

Every decision is a pure function of the stored plan and the event; the plan is written with a
version check (:meth:`PlanStore.mutate`) *before* the Legs API is called, so a duplicate or late
event, or a second function, finds the step already taken and makes no call. The price: if the
function dies between the write and the call, that call is lost (at most once, never twice).
A dial the Legs API refuses counts as a failed dial (retried per plan, or the call ends).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from contract.catalogue import ANSWERED, ENDED, MACHINE_ANSWERS, UNSUCCESSFUL, AnsweredBy, EventName, TerminalStatus
from lambdas.dal.call_plans import Attempt, CallPlan, PlanStore
from lambdas.domain.plan_ref import PlanRef
from legs.events import LegEvent

LIVE = frozenset({"dialing", "answered", "machine"})

ActionKind = Literal[
    "create_leg", "say", "end_with_message", "hangup", "create_bridge", "stop_bridge", "schedule_retry"
]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    leg_sid: str | None = None
    role: str | None = None
    attempt: int | None = None
    text: str | None = None
    leg_sids: tuple[str, ...] = ()
    bridge_sid: str | None = None
    delay_seconds: int = 0


@dataclass
class Decision:
    """The plan to write, what to do before the write (idempotent sends) and after it (Legs API)."""

    plan: CallPlan
    after: list[Action] = field(default_factory=list)
    before: list[Action] = field(default_factory=list)
    note: str = ""


def exoml_say_then_hangup(text: str) -> str:
    from xml.sax.saxutils import escape

    return f"<Flow><Say>{escape(text)}</Say><Hangup/></Flow>"


def leg_request(plan: CallPlan, role: str, number: int) -> Any:
    """The Create Leg body for dial ``number`` of ``role`` (the second party co-located with the first)."""
    from legs.models import CreateLegRequest

    reference = None
    if role == plan.second_role:
        first = plan.current(plan.first_role)
        reference = first.leg_sid if first else None
    return CreateLegRequest(
        contact_uri=plan.number_for(role, number),  # type: ignore[arg-type]
        exophone=plan.exophone,
        leg_event_endpoint=plan.leg_event_endpoint,
        custom_param=plan.ref(role, number).custom_param,  # type: ignore[arg-type]
        reference_leg_sid=reference,
        amd_enable=plan.amd_on(role),
    )


# ---- predicates ---------------------------------------------------------------------------
def unsuccessful(event: LegEvent) -> bool:
    return event.event_name == EventName.LEG_FAILED_TO_CREATE or (event.terminal_status or "") in UNSUCCESSFUL


def terminal_of(event: LegEvent) -> str:
    if event.terminal_status:
        return event.terminal_status
    failed = event.event_name == EventName.LEG_FAILED_TO_CREATE
    return TerminalStatus.FAILED if failed else TerminalStatus.COMPLETED


def retry_wanted(plan: CallPlan, attempt: Attempt) -> bool:
    """A never-answered current dial of a live plan whose party has dials left (the caller checks the outcome)."""
    if plan.final or not plan.is_current(attempt) or attempt.status != "dialing":
        return False
    if attempt.attempt >= plan.retry.max_attempts:
        return False
    if attempt.role == plan.second_role:
        first = plan.current(plan.first_role)
        return first is not None and first.status == "answered"
    return True


def _bind(attempt: Attempt, event: LegEvent) -> None:
    if attempt.leg_sid is None and event.leg_sid:
        attempt.leg_sid = event.leg_sid


def _schedule_next(plan: CallPlan, attempt: Attempt, terminal: str) -> Decision:
    attempt.status = "ended"
    attempt.terminal_status = terminal
    nxt = Attempt(
        role=attempt.role,
        attempt=attempt.attempt + 1,
        number=plan.number_for(attempt.role, attempt.attempt + 1),
        status="scheduled",
    )
    plan.attempts.append(nxt)
    send = Action("schedule_retry", role=nxt.role, attempt=nxt.attempt, delay_seconds=plan.retry.delay_seconds)
    return Decision(plan, before=[send], note=f"{attempt.role} dial {attempt.attempt} {terminal}: retry scheduled")


def _end_call(plan: CallPlan, attempt: Attempt, terminal: str, reason: str) -> Decision:
    """``attempt``'s leg ended: the call is over; end the other side and the bridge, record the outcome."""
    was = attempt.status
    attempt.status = "ended"
    attempt.terminal_status = attempt.terminal_status or terminal
    if plan.final or not plan.is_current(attempt):
        return Decision(plan, note="leg ended after the call was decided")
    bridged = plan.status == "bridged" or plan.bridge_sid is not None
    if bridged:
        plan.status, plan.outcome = "completed", "completed"
    elif was == "machine":
        plan.status, plan.outcome = "failed", "machine"
    elif (attempt.role == plan.first_role and was == "answered") or terminal == TerminalStatus.COMPLETED:
        plan.status, plan.outcome = "failed", "abandoned"  # a party answered, then hung up before the bridge
    else:
        plan.status, plan.outcome = "failed", terminal
    plan.reason = reason
    after: list[Action] = []
    if bridged and plan.bridge_sid:
        after.append(Action("stop_bridge", bridge_sid=plan.bridge_sid))
    other_role = plan.second_role if attempt.role == plan.first_role else plan.first_role
    other = plan.current(other_role)
    if other is not None and other.status == "scheduled":
        other.status = "cancelled"
    elif other is not None and other.status in LIVE and other.leg_sid:
        if other.role == plan.first_role and other.status == "answered" and not bridged:
            after.append(Action("end_with_message", leg_sid=other.leg_sid, text=plan.unavailable_message))
        else:
            after.append(Action("hangup", leg_sid=other.leg_sid))
        other.status = "ended"
    return Decision(plan, after=after, note=f"call over: {plan.outcome}")


# ---- decisions per function ---------------------------------------------------------------
def decide_connect(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None:
        return None
    _bind(attempt, event)
    name = event.event_name
    if name in ANSWERED:
        return _on_answered(plan, attempt, event)
    if name == EventName.LEG_JOINED_BRIDGE:
        if plan.status == "bridging":
            plan.status = "bridged"
        plan.bridge_sid = plan.bridge_sid or event.bridge_sid
        return Decision(plan, note="bridged")
    if name in ENDED:
        if attempt.status in ("ended", "cancelled"):
            attempt.terminal_status = attempt.terminal_status or terminal_of(event)
            return Decision(plan, note="end already handled")
        if attempt.status == "dialing" and unsuccessful(event) and retry_wanted(plan, attempt):
            return None  # the retry function owns this event
        return _end_call(plan, attempt, terminal_of(event), f"{attempt.role} leg {name}: {terminal_of(event)}")
    return Decision(plan)


def _on_answered(plan: CallPlan, attempt: Attempt, event: LegEvent) -> Decision:
    answered_by = event.answered_by
    if plan.final or not plan.is_current(attempt):
        if attempt.status in ("dialing", "scheduled") and attempt.leg_sid:
            attempt.status = "ended"
            attempt.error = "answered after the call was over"
            return Decision(plan, after=[Action("hangup", leg_sid=attempt.leg_sid)], note="stray leg hung up")
        return Decision(plan)
    if attempt.status != "dialing":
        return Decision(plan, note="already answered")
    if plan.amd_on(attempt.role) and answered_by != AnsweredBy.HUMAN:
        return Decision(plan, note="waiting for a human (AMD)")  # MACHINE/BEEP: the amd function's
    attempt.status = "answered"
    attempt.answered_by = answered_by
    after: list[Action] = []
    if attempt.role == plan.first_role and plan.status == "dialing_first":
        plan.status = "dialing_second"
        role = plan.second_role
        plan.attempts.append(Attempt(role=role, attempt=1, number=plan.number_for(role, 1), status="dialing"))
        if plan.hold_message:
            after.append(Action("say", leg_sid=attempt.leg_sid, text=plan.hold_message))
        after.append(Action("create_leg", role=role, attempt=1))
        return Decision(plan, after=after, note="first answered: dialling second")
    if attempt.role == plan.second_role and plan.status == "dialing_second":
        first = plan.current(plan.first_role)
        if first is None or not first.leg_sid or attempt.leg_sid is None:
            return Decision(plan, note="cannot bridge: a leg sid is unknown")
        plan.status = "bridging"
        after.append(Action("create_bridge", leg_sids=(first.leg_sid, attempt.leg_sid)))
        return Decision(plan, after=after, note="second answered: bridging")
    return Decision(plan)


def decide_retry(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None or event.event_name not in ENDED or not unsuccessful(event):
        return None
    if not retry_wanted(plan, attempt):
        return None
    _bind(attempt, event)
    return _schedule_next(plan, attempt, terminal_of(event))


def decide_amd(plan: CallPlan, event: LegEvent, ref: PlanRef) -> Decision | None:
    attempt = plan.attempt(ref.role, ref.attempt)
    if attempt is None or plan.amd is None or not plan.amd_on(attempt.role):
        return None
    if event.answered_by not in MACHINE_ANSWERS or event.event_name not in ANSWERED:
        return None
    if plan.final or not plan.is_current(attempt) or attempt.status != "dialing":
        return None
    _bind(attempt, event)
    attempt.status = "machine"
    attempt.answered_by = event.answered_by
    if attempt.leg_sid is None:
        return Decision(plan)
    if plan.amd.behaviour == "message" and plan.amd.message:
        action = Action("end_with_message", leg_sid=attempt.leg_sid, text=plan.amd.message)
    else:
        action = Action("hangup", leg_sid=attempt.leg_sid)
    return Decision(plan, after=[action], note=f"answered by {event.answered_by}: {plan.amd.behaviour}")


def decide_dial_scheduled(plan: CallPlan, role: str, number: int) -> Decision | None:
    """The retry queue's message is due: dial the scheduled attempt (once)."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.status != "scheduled" or plan.final or not plan.is_current(attempt):
        return None
    if role == plan.second_role:
        first = plan.current(plan.first_role)
        if first is None or first.status != "answered":
            return None
    attempt.status = "dialing"
    return Decision(plan, after=[Action("create_leg", role=role, attempt=number)], note=f"re-dial {role} #{number}")


def decide_dial_failed(plan: CallPlan, role: str, number: int, error: str) -> Decision | None:
    """The Legs API refused a dial: a failed dial, retried or ending the call like any other."""
    attempt = plan.attempt(role, number)
    if attempt is None or attempt.status != "dialing" or attempt.leg_sid is not None:
        return None
    attempt.error = error
    if retry_wanted(plan, attempt):
        return _schedule_next(plan, attempt, TerminalStatus.FAILED)
    return _end_call(plan, attempt, TerminalStatus.FAILED, f"could not dial the {role}: {error}")


def decide_bridge_failed(plan: CallPlan, error: str) -> Decision | None:
    if plan.status != "bridging":
        return None
    plan.status, plan.outcome, plan.reason = "failed", "bridge_failed", f"could not bridge: {error}"
    after: list[Action] = []
    for role in (plan.first_role, plan.second_role):
        attempt = plan.current(role)
        if attempt is not None and attempt.status in LIVE and attempt.leg_sid:
            if role == plan.first_role:
                after.append(Action("end_with_message", leg_sid=attempt.leg_sid, text=plan.unavailable_message))
            else:
                after.append(Action("hangup", leg_sid=attempt.leg_sid))
            attempt.status = "ended"
    return Decision(plan, after=after, note="bridge failed")


def _record_leg_sid(role: str, number: int, leg_sid: str):  # type: ignore[no-untyped-def]
    def change(plan: CallPlan) -> CallPlan | None:
        attempt = plan.attempt(role, number)
        if attempt is None or attempt.leg_sid is not None:
            return None
        attempt.leg_sid = leg_sid
        return plan

    return change


def _record_bridge_sid(bridge_sid: str):  # type: ignore[no-untyped-def]
    def change(plan: CallPlan) -> CallPlan | None:
        if plan.bridge_sid is not None:
            return None
        plan.bridge_sid = bridge_sid
        return plan

    return change


class Engine:
    """Runs decisions against the CallPlans table, the Legs API and the retry queue."""

    def __init__(self, store: PlanStore, legs: Any, logger: Any = None, retry_queue_url: str | None = None) -> None:
        self.store = store
        self.legs = legs
        self.logger = logger
        self.retry_queue_url = retry_queue_url
        self.calls: list[str] = []  # Legs API calls made, for the summary

    @classmethod
    def from_env(cls, logger: Any = None) -> Engine:
        from lambdas.dal.exotel import legs_client
        from lambdas.shared.config import settings

        return cls(PlanStore.from_env(), legs_client(), logger, settings().retry_queue_url)

    def _log(self, level: str, message: str, **extra: Any) -> None:
        if self.logger is not None:
            getattr(self.logger, level)(message, extra=extra)

    def run(self, plan_id: str, decide: Any) -> dict[str, Any]:
        """Apply ``decide`` with compare-and-swap, then carry out its actions; returns a summary."""
        chosen: list[Decision] = []

        def change(plan: CallPlan) -> CallPlan | None:
            snapshot = plan.model_dump()
            decision = decide(plan)
            chosen.clear()
            if decision is None:
                return None
            if not decision.after and not decision.before and decision.plan.model_dump() == snapshot:
                return None
            for action in decision.before:
                self._do(decision.plan, action)
            chosen.append(decision)
            return decision.plan

        before, after = self.store.mutate(plan_id, change)
        if before is None:
            return {"plan_id": plan_id, "result": "unknown plan"}
        if after is None or not chosen:
            return {"plan_id": plan_id, "result": "nothing to do", "status": before.status}
        decision = chosen[0]
        self._log("info", decision.note or "plan updated", plan_id=plan_id, status=after.status)
        for action in decision.after:
            self._do(after, action)
        return {
            "plan_id": plan_id,
            "result": decision.note or "updated",
            "status": after.status,
            "actions": [a.kind for a in decision.before + decision.after],
        }

    # ---- actions ------------------------------------------------------------------------
    def _do(self, plan: CallPlan, action: Action) -> None:
        from legs.client import LegsApiError

        try:
            getattr(self, f"_do_{action.kind}")(plan, action)
        except LegsApiError as err:
            self._failed(plan, action, err)

    def _failed(self, plan: CallPlan, action: Action, err: Exception) -> None:
        self._log("warning", f"{action.kind} failed: {err}", plan_id=plan.plan_id)
        if action.kind == "create_leg":
            assert action.role and action.attempt
            role, number = action.role, action.attempt
            self.run(plan.plan_id, lambda p: decide_dial_failed(p, role, number, str(err)))
        elif action.kind == "create_bridge":
            self.run(plan.plan_id, lambda p: decide_bridge_failed(p, str(err)))
        elif action.kind == "end_with_message" and action.leg_sid:
            try:  # the message could not be played: at least end the leg
                self.calls.append("hangup")
                self.legs.hangup(action.leg_sid)
            except Exception as again:
                self._log("warning", f"hangup failed: {again}", plan_id=plan.plan_id)
        # hangup / say / stop_bridge: the leg or bridge is usually gone already; logged only.

    def _do_create_leg(self, plan: CallPlan, action: Action) -> None:
        assert action.role and action.attempt
        role, number = action.role, action.attempt
        self.calls.append("create_leg")
        created = self.legs.create_leg(leg_request(plan, role, number))
        self.store.mutate(plan.plan_id, _record_leg_sid(role, number, created.leg_sid))

    def _do_say(self, plan: CallPlan, action: Action) -> None:
        assert action.leg_sid and action.text
        self.calls.append("say")
        self.legs.say(action.leg_sid, action.text)

    def _do_end_with_message(self, plan: CallPlan, action: Action) -> None:
        assert action.leg_sid and action.text
        self.calls.append("leg_action")
        self.legs.leg_action(action.leg_sid, exoml_say_then_hangup(action.text))

    def _do_hangup(self, plan: CallPlan, action: Action) -> None:
        assert action.leg_sid
        self.calls.append("hangup")
        self.legs.hangup(action.leg_sid)

    def _do_create_bridge(self, plan: CallPlan, action: Action) -> None:
        self.calls.append("create_bridge")
        created = self.legs.create_bridge(
            {"leg_sids": list(action.leg_sids), "bridge_event_endpoint": plan.leg_event_endpoint}
        )
        self.store.mutate(plan.plan_id, _record_bridge_sid(created.bridge_sid))

    def _do_stop_bridge(self, plan: CallPlan, action: Action) -> None:
        assert action.bridge_sid
        self.calls.append("stop_bridge")
        self.legs.stop_bridge(action.bridge_sid)

    def _do_schedule_retry(self, plan: CallPlan, action: Action) -> None:
        from lambdas.dal import aws

        if not self.retry_queue_url:
            from lambdas.shared.config import ConfigError

            raise ConfigError("RETRY_QUEUE_URL is not set")
        body = {"plan_id": plan.plan_id, "role": action.role, "attempt": action.attempt}
        aws.client("sqs").send_message(
            QueueUrl=self.retry_queue_url,
            MessageBody=json.dumps(body),
            DelaySeconds=max(0, min(900, action.delay_seconds)),
        )
