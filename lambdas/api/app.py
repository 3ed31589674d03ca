"""The API's routes: ``APIGatewayRestResolver`` with request validation and OpenAPI.

Errors always come back as ``{"error": {"code", "message", ...}}``: validation 422 (or 400) with
the field and the reason, Exotel's 4xx as the same status with Exotel's message, 429 with
``Retry-After``, Exotel unreachable 502, never a 500 for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, TypedDict, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from lambdas.api.models import (
    ActionAcceptedView,
    CallCreated,
    CallView,
    CreateCallBody,
    CreateLegBody,
    ErrorBody,
    LegActionBody,
    LegCreatedView,
    LegEvents,
    LegView,
)
from lambdas.api.service import ApiProblem, CallService
from lambdas.shared.config import ConfigError
from legs.client import LegsApiError
from legs.json_types import JsonObject, JsonValue

TITLE = "Exotel Legs on AWS"
VERSION = "1.0.0"
DESCRIPTION = (
    "Create and control Exotel call legs, read their recorded state and events, and place two-party "
    "calls (dial, hold message, re-dials, answering-machine handling, bridge)."
)
IDEMPOTENCY_HEADER = "Idempotency-Key"

app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title=TITLE, version=VERSION, description=DESCRIPTION)


def _responses(*codes: int) -> dict[int, OpenAPIResponse]:
    reasons = {
        400: "Invalid input (Exotel's or ours)",
        404: "Unknown resource",
        409: "A request with this Idempotency-Key is in progress",
        422: "Validation failed: the fields and reasons are listed",
        415: "The body is not JSON",
        429: "Exotel throttled the request: see Retry-After",
        502: "Exotel could not be reached or answered oddly",
    }
    return {
        code: {
            "description": reasons[code],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        for code in codes
    }


class ErrorExtra(TypedDict, total=False):
    """What an error body may carry besides its code and message (see ``ErrorDetail``)."""

    description: str
    fields: list[dict[str, str | None]]
    request_id: str | None


def error(
    status: int,
    message: str,
    *,
    code: str | int | None = None,
    headers: dict[str, str] | None = None,
    **extra: JsonValue,
) -> Response[JsonObject]:
    """``{"error": {"code", "message", **extra}}`` (``extra``: an :class:`ErrorExtra`, spread)."""
    body: JsonObject = {
        "error": {"code": code if code is not None else HTTPStatus(status).phrase, "message": message, **extra}
    }
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _ok(status: int, model: type, description: str) -> dict[int, OpenAPIResponse]:
    return {status: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def service() -> CallService:
    """One per request; the Lambda context goes along for idempotency (the service never imports this module)."""
    return CallService.from_env(getattr(app, "lambda_context", None))


# ---- error mapping ------------------------------------------------------------------------
_E = TypeVar("_E", bound=Exception)
ErrorHandler = Callable[[_E], Response[JsonObject]]


def _handles(exc_class: type[_E]) -> Callable[[ErrorHandler[_E]], ErrorHandler[_E]]:
    """``app.exception_handler``, typed (Powertools' decorator has no annotations)."""
    register: Callable[[ErrorHandler[_E]], ErrorHandler[_E]] = app.exception_handler(exc_class)
    return register


@_handles(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[JsonObject]:
    fields: list[dict[str, str | None]] = []
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        message = str(item.get("msg") or item.get("type"))
        fields.append(
            {"field": ".".join(loc), "reason": message.removeprefix("Value error, "), "type": item.get("type")}
        )
    return error(422, "request validation failed", code="validation_error", fields=fields)


@_handles(ApiProblem)
def _problem(exc: ApiProblem) -> Response[JsonObject]:
    extra: ErrorExtra = {"fields": [{"field": exc.field, "reason": exc.message}]} if exc.field else {}
    return error(exc.status, exc.message, code=exc.code, **extra)


@_handles(LegsApiError)
def _exotel(exc: LegsApiError) -> Response[JsonObject]:
    data = exc.error_data
    message = (data.message if data and data.message else None) or exc.detail or str(exc)
    extra: ErrorExtra = {"request_id": exc.request_id}
    if data and data.description:
        extra["description"] = data.description
    code = data.code if data and data.code is not None else f"exotel_{exc.http_code}"
    if exc.http_code == 429:
        wait = str(max(1, math.ceil(exc.retry_after or 1)))
        return error(429, message, code=code, headers={"Retry-After": wait}, **extra)
    if 400 <= exc.http_code < 500:
        return error(exc.http_code, message, code=code, **extra)
    return error(502, f"Exotel did not complete the request: {exc}", code="exotel_unavailable", **extra)


@_handles(ConfigError)
def _config(exc: ConfigError) -> Response[JsonObject]:
    return error(503, f"the service is not configured: {exc}", code="not_configured")


@_handles(NotFoundError)
def _not_found(exc: NotFoundError) -> Response[JsonObject]:
    return error(404, str(exc.msg) if exc.msg else "not found", code="not_found")


# ---- routes -------------------------------------------------------------------------------
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Repeat a request with the same key (and body) to get the first answer again",
        min_length=1,
        max_length=255,
    ),
]
LegSid = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


@app.post(
    "/legs",
    summary="Create a leg",
    description="Exotel's Create Leg; `leg_event_endpoint` defaults to the deployed bridge.",
    responses={**_ok(202, LegCreatedView, "Exotel accepted the leg"), **_responses(400, 409, 415, 422, 429, 502)},
    tags=["legs"],
)
def create_leg(
    body: Annotated[CreateLegBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[LegCreatedView]:
    data = service().create_leg(body, idempotency_key)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=data)


@app.get(
    "/legs/<leg_sid>",
    summary="A leg's recorded state",
    responses={**_ok(200, LegView, "The leg as recorded from its events"), **_responses(404, 422)},
    tags=["legs"],
)
def get_leg(leg_sid: LegSid) -> LegView:
    leg = service().get_leg(leg_sid)
    if leg is None:
        raise NotFoundError(f"no events recorded for leg {leg_sid}")
    return leg


@app.get(
    "/legs/<leg_sid>/events",
    summary="A leg's events in event-time order",
    responses={**_ok(200, LegEvents, "The timeline"), **_responses(404, 422)},
    tags=["legs"],
)
def get_leg_events(leg_sid: LegSid) -> LegEvents:
    events = service().leg_events(leg_sid)
    if events is None:
        raise NotFoundError(f"no events recorded for leg {leg_sid}")
    return events


@app.post(
    "/legs/<leg_sid>/actions",
    summary="Act on a leg: ExoML, or a shortcut (hangup, say, play, stream)",
    responses={
        **_ok(202, ActionAcceptedView, "Exotel accepted the action"),
        **_responses(400, 404, 415, 422, 429, 502),
    },
    tags=["legs"],
)
def leg_action(leg_sid: LegSid, body: Annotated[LegActionBody, Body()]) -> Response[ActionAcceptedView]:
    accepted = service().act_on_leg(leg_sid, body)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)


@app.post(
    "/calls",
    summary="Place a two-party call",
    description="Stores a call plan and dials the first party; the rest happens as the legs' events arrive.",
    responses={
        202: {"description": "The plan is stored and the first leg dialled"},
        **_responses(400, 409, 415, 422, 429, 502),
    },
    tags=["calls"],
)
def create_call(
    body: Annotated[CreateCallBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[CallCreated]:
    data = service().create_call(body, idempotency_key)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=data)


@app.get(
    "/calls/<plan_id>",
    summary="A two-party call: legs, bridge, status, outcome",
    responses={**_ok(200, CallView, "The call plan and its dials"), **_responses(404, 422)},
    tags=["calls"],
)
def get_call(plan_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]) -> CallView:
    call = service().get_call(plan_id)
    if call is None:
        raise NotFoundError(f"no call {plan_id}")
    return call


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_schema())


def openapi_schema() -> JsonObject:
    import json

    document: JsonObject = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    )
    return document
