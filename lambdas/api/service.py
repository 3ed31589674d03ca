"""What the API's routes do, apart from HTTP: create legs and calls (once per Idempotency-Key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lambdas.api.models import CreateCallBody, CreateLegBody, LegCreatedView
from lambdas.dal.call_plans import Attempt, CallPlan, PlanStore
from lambdas.dal.exotel import LegsApi, legs_client
from lambdas.dal.idempotency import REQUEST_TTL_SECONDS, once
from lambdas.dal.leg_state import LegStateStore
from lambdas.domain.decisions import leg_request
from lambdas.shared.config import Settings, settings
from legs.models import CreateLegRequest


class ApiProblem(Exception):
    """A request we refuse with a clear status, code and (optionally) the field at fault."""

    def __init__(self, status: int, message: str, *, code: str = "bad_request", field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.field = status, message, code, field


@dataclass
class CallService:
    conf: Settings

    @classmethod
    def from_env(cls) -> CallService:
        return cls(settings())

    def legs(self) -> LegsApi:
        return legs_client()

    def legs_store(self) -> LegStateStore:
        return LegStateStore.from_env()

    def plans(self) -> PlanStore:
        return PlanStore.from_env()

    def _endpoint(self, given: str | None) -> str:
        endpoint = given or self.conf.bridge_endpoint
        if not endpoint:
            raise ApiProblem(
                400,
                "leg_event_endpoint is required: no default bridge endpoint (BRIDGE_ENDPOINT) is configured",
                code="validation_error",
                field="body.leg_event_endpoint",
            )
        return endpoint

    @staticmethod
    def _once(function: Any, prefix: str, key: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if not key:
            return function(request={"body": body})
        # Imported here: the idempotency package pulls in boto3, which a cold start without a key skips.
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        wrapped = once(
            function,
            key_prefix=prefix,
            data_keyword_argument="request",
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            expires_after_seconds=REQUEST_TTL_SECONDS,
            lambda_context=_current_context(),
        )
        try:
            return wrapped(request={"key": key, "body": body})
        except IdempotencyValidationError as exc:
            raise ApiProblem(
                422, "Idempotency-Key was already used with a different body", code="idempotency_key_reused"
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise ApiProblem(
                409, "a request with this Idempotency-Key is still in progress", code="in_progress"
            ) from exc

    # ---- POST /legs ---------------------------------------------------------------------
    def create_leg(self, body: CreateLegBody, idempotency_key: str | None) -> dict[str, Any]:
        data = body.model_dump(mode="json", exclude_none=True)
        data["leg_event_endpoint"] = self._endpoint(body.leg_event_endpoint)
        request = CreateLegRequest.model_validate(data)
        payload = request.model_dump(mode="json", exclude_none=True)

        def create(request: dict[str, Any]) -> dict[str, Any]:
            created = self.legs().create_leg(CreateLegRequest.model_validate(request["body"]))
            return LegCreatedView.model_validate(created.model_dump(mode="json")).model_dump(mode="json")

        return self._once(create, "api-create-leg", idempotency_key, payload)

    # ---- POST /calls --------------------------------------------------------------------
    def create_call(self, body: CreateCallBody, idempotency_key: str | None) -> dict[str, Any]:
        payload = body.model_dump(mode="json", exclude_none=True)
        payload["leg_event_endpoint"] = self._endpoint(body.leg_event_endpoint)
        return self._once(self._place_call, "api-create-call", idempotency_key, payload)

    def _place_call(self, request: dict[str, Any]) -> dict[str, Any]:
        from legs.client import LegsApiError

        body = dict(request["body"])
        first = body.get("dial_first", "customer")
        plan = CallPlan.model_validate({"plan_id": CallPlan.new_id(), **body})
        plan.attempts.append(Attempt(role=first, attempt=1, number=plan.number_for(first, 1), status="dialing"))
        store = self.plans()
        plan = store.create(plan)
        try:
            created = self.legs().create_leg(leg_request(plan, first, 1))
        except LegsApiError as err:
            store.mutate(plan.plan_id, _dial_refused(first, str(err)))
            raise
        _, after = store.mutate(plan.plan_id, _first_leg(first, created.leg_sid))
        status = after.status if after else plan.status
        return {"plan_id": plan.plan_id, "status": status, "leg_sid": created.leg_sid}


def _current_context() -> Any:
    from lambdas.api.app import app

    return getattr(app, "lambda_context", None)


def _first_leg(role: str, leg_sid: str):  # type: ignore[no-untyped-def]
    def change(plan: CallPlan) -> CallPlan | None:
        attempt = plan.attempt(role, 1)
        if attempt is None or attempt.leg_sid:
            return None
        attempt.leg_sid = leg_sid
        return plan

    return change


def _dial_refused(role: str, error: str):  # type: ignore[no-untyped-def]
    def change(plan: CallPlan) -> CallPlan | None:
        attempt = plan.attempt(role, 1)
        if attempt is None:
            return None
        attempt.status, attempt.error, attempt.terminal_status = "ended", error, "failed"
        plan.status, plan.outcome, plan.reason = "failed", "failed", f"Exotel refused the first leg: {error}"
        return plan

    return change
