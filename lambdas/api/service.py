"""What the API's routes do, apart from HTTP: create legs and calls (once per Idempotency-Key), read them.

``app.py`` (the routes) builds one :class:`CallService` per request and hands it the Lambda
context; nothing here imports the routes. A call is placed through the executor like any other
decision: ``decide_new_call`` gives the plan and its first dial, the executor stores the plan and
dials; a refusal comes back to the caller as Exotel's answer (and fails the plan).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, NotRequired, Protocol, TypedDict

from lambdas.api.models import (
    ActionAcceptedView,
    CallCreated,
    CallView,
    CreateCallBody,
    CreateLegBody,
    ExomlAction,
    HangupAction,
    LegActionBody,
    LegCreatedView,
    LegEvents,
    LegView,
    PlayAction,
    SayAction,
    StreamAction,
    as_rfc3339,
)
from lambdas.api.problems import ProblemType
from lambdas.domain.call_plan import CallPlan
from lambdas.shared.config import Settings, settings
from legs.json_types import JsonObject
from legs.models import CreateLegRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    # The stores, the Legs client, the executor and Powertools' idempotency are imported by the first request
    # that needs them, not at the api's cold start (docs/PERFORMANCE.md, "Lambda cold imports").
    from lambdas.dal.call_plans import PlanStore
    from lambdas.dal.exotel import LegsApi
    from lambdas.dal.leg_state import LegStateStore
    from lambdas.executor import Executor

IDEMPOTENCY_HEADER = "Idempotency-Key"


class KeyedRequest(TypedDict):
    """What a request is made idempotent on: the signed caller and its ``Idempotency-Key`` (when given), the body."""

    caller: NotRequired[str]
    key: NotRequired[str]
    body: JsonObject


class RequestWork(Protocol):
    """A request's work, run once per caller and ``Idempotency-Key``; it returns the response body as JSON."""

    def __call__(self, request: KeyedRequest) -> JsonObject: ...


def plan_id_for(idempotency_key: str, caller: str = "") -> str:
    """The plan id a ``POST /calls`` with this caller's Idempotency-Key gets (the same on every retry; another
    caller's same key names another plan, as keys are scoped to the caller)."""
    return uuid.uuid5(_PLAN_NAMESPACE, f"{caller}\n{idempotency_key}").hex


_PLAN_NAMESPACE = uuid.UUID("6d3c1f7e-0b7a-4a53-9a59-2f8a7f1f4c11")


def latest(*times: str | None) -> str:
    """The latest of RFC 3339 times (any precision), as RFC 3339 with nanoseconds."""
    from legs.events import EventTimestamp

    stamps = [EventTimestamp.model_validate(t) for t in times if t]
    return max(stamps, key=lambda stamp: stamp.sort_key).rfc3339() if stamps else (as_rfc3339(times[0]) or "")


class ApiProblem(Exception):
    """A request we refuse: which kind of problem (its status follows), why, and the field at fault if any."""

    def __init__(self, kind: ProblemType, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field


@dataclass
class CallService:
    conf: Settings
    lambda_context: LambdaContext | None = None  # for Powertools idempotency's timeout handling
    caller: str = "anonymous"  # the signed caller's IAM identity: Idempotency-Keys are scoped to it

    @classmethod
    def from_env(cls, lambda_context: LambdaContext | None = None, caller: str = "anonymous") -> CallService:
        return cls(settings(), lambda_context, caller)

    # ---- data access ----------------------------------------------------------------------
    def legs(self) -> LegsApi:
        from lambdas.dal.exotel import legs_client

        return legs_client()

    def legs_store(self) -> LegStateStore:
        from lambdas.dal.leg_state import LegStateStore

        return LegStateStore.from_env()

    def plans(self) -> PlanStore:
        from lambdas.dal.call_plans import PlanStore

        return PlanStore.from_env()

    def executor(self) -> Executor:
        from lambdas.executor import Executor

        return Executor.from_env()

    # ---- reads ----------------------------------------------------------------------------
    def get_leg(self, leg_sid: str) -> LegView | None:
        item = self.legs_store().get_leg(leg_sid)
        return LegView.model_validate(item) if item is not None else None

    def leg_events(self, leg_sid: str) -> LegEvents | None:
        events = self.legs_store().events(leg_sid)
        return LegEvents.model_validate({"events": events}) if events else None

    def get_call(self, plan_id: str) -> CallView | None:
        plan = self.plans().get(plan_id)
        if plan is None:
            return None
        data = plan.model_dump(mode="json")
        data["legs"] = data.pop("attempts")
        store = self.legs_store() if any(leg.get("leg_sid") for leg in data["legs"]) else None
        for leg in data["legs"]:
            # The plan changes a dial when a reactor decides something; the leg moves with every event. A dial's
            # updated_at is the later of the two, so it moves with the leg's events (ringing, answered, ended).
            recorded = store.get_leg(leg["leg_sid"]) if store is not None and leg.get("leg_sid") else None
            moved = (recorded or {}).get("updated_at")
            leg["updated_at"] = latest(leg["updated_at"], moved if isinstance(moved, str) else None)
        data["pending"] = [{"key": p.key, "state": p.state, "tries": p.tries, "due_at": p.due_at} for p in plan.pending]
        return CallView.model_validate(data)

    # ---- POST /legs/{sid}/actions ---------------------------------------------------------
    def act_on_leg(self, leg_sid: str, body: LegActionBody) -> ActionAcceptedView:
        legs = self.legs()
        if isinstance(body, ExomlAction):
            accepted = legs.leg_action(leg_sid, body.exoml, body.action_custom_param)
        elif isinstance(body, HangupAction):
            accepted = legs.hangup(leg_sid)
        elif isinstance(body, SayAction):
            accepted = legs.say(leg_sid, body.text, body.loop)
        elif isinstance(body, StreamAction):
            stream = body.model_dump(exclude={"action"}, exclude_none=True)
            accepted = legs.leg_shortcut(leg_sid, "start_stream", stream)
        else:
            assert isinstance(body, PlayAction)
            accepted = legs.leg_shortcut(leg_sid, "start_play", {"url": body.url, "loop": body.loop})
        return ActionAcceptedView.model_validate(accepted.model_dump(mode="json"))

    # ---- POST /legs -----------------------------------------------------------------------
    def create_leg(self, body: CreateLegBody, idempotency_key: str | None) -> LegCreatedView:
        data = body.model_dump(mode="json", exclude_none=True)
        data["leg_event_endpoint"] = self._endpoint(body.leg_event_endpoint)
        request = CreateLegRequest.model_validate(data)
        payload = request.model_dump(mode="json", exclude_none=True)

        def create(request: KeyedRequest) -> JsonObject:
            created = self.legs().create_leg(CreateLegRequest.model_validate(request["body"]))
            return LegCreatedView.model_validate(created.model_dump(mode="json")).model_dump(mode="json")

        return LegCreatedView.model_validate(self._once(create, "api-create-leg", idempotency_key, payload))

    # ---- POST /calls ----------------------------------------------------------------------
    def create_call(self, body: CreateCallBody, idempotency_key: str | None) -> CallCreated:
        payload = body.model_dump(mode="json", exclude_none=True)
        payload["leg_event_endpoint"] = self._endpoint(body.leg_event_endpoint)
        return CallCreated.model_validate(self._once(self._place_call, "api-create-call", idempotency_key, payload))

    def _place_call(self, request: KeyedRequest) -> JsonObject:
        """Store the plan and dial its first party.

        Exotel refused (4xx) or throttled (429) the dial: the plan fails and the caller gets Exotel's answer
        (nothing was dialled; a retry, with the same Idempotency-Key or not, places a new call). The reply was
        lost or a 5xx (the leg may exist): 202 with ``leg_sid`` null; the dial is pending, its first event
        binds it, the sweeper sees to it otherwise; a retry with the same key gets this same answer. With a
        key, the plan's id is derived from it, so a retry after a crash finds the plan instead of dialling again.
        """
        from lambdas.dal.call_plans import PlanConflict
        from lambdas.domain.decisions import decide_new_call

        key = request.get("key")
        plan_id = plan_id_for(key, request.get("caller", "")) if key else CallPlan.new_id()
        try:
            report = self.executor().create(decide_new_call(plan_id, dict(request["body"])))
        except PlanConflict:
            existing = self.plans().get(plan_id)
            if existing is None:
                raise
            first = existing.attempt(existing.first_role, 1)
            return {"plan_id": plan_id, "status": existing.status, "leg_sid": first.leg_sid if first else None}
        if report.failures:
            if key:  # nothing was dialled and the caller never learns this id: a retry with the key starts afresh
                self.plans().discard(plan_id)
            raise report.failures[0].error  # Exotel's answer, as the caller should see it
        return {"plan_id": report.plan_id, "status": report.status, "leg_sid": report.created_leg_sid()}

    # ---- helpers --------------------------------------------------------------------------
    def _endpoint(self, given: str | None) -> str:
        endpoint = given or self.conf.bridge_endpoint
        if not endpoint:
            raise ApiProblem(
                ProblemType.VALIDATION,
                "leg_event_endpoint is required: this deployment has no default bridge endpoint",
                field="body.leg_event_endpoint",
            )
        return endpoint

    def _once(self, function: RequestWork, prefix: str, key: str | None, body: JsonObject) -> JsonObject:
        if not key:
            return function(request={"body": body})
        # Imported here: the idempotency package pulls in boto3, which a cold start without a key skips.
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        from lambdas.dal.idempotency import REQUEST_TTL_SECONDS, once

        wrapped = once(
            function,
            key_prefix=prefix,
            data_keyword_argument="request",
            event_key_jmespath="[caller, key]",  # one caller's key never answers another's request
            payload_validation_jmespath="body",
            expires_after_seconds=REQUEST_TTL_SECONDS,
            lambda_context=self.lambda_context,
        )
        try:
            return wrapped(request={"caller": self.caller, "key": key, "body": body})
        except IdempotencyValidationError as exc:
            raise ApiProblem(
                ProblemType.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was already used with a different body",
                field=f"header.{IDEMPOTENCY_HEADER}",
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise ApiProblem(
                ProblemType.IN_PROGRESS, "a request with this Idempotency-Key is still in progress; retry shortly"
            ) from exc
