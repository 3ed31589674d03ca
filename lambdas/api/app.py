"""The API's routes: ``APIGatewayRestResolver`` with request validation and OpenAPI.

Every error is an RFC 9457 problem (:mod:`lambdas.api.problems`, ``application/problem+json``):
validation 422 with each field and reason (a body that is not JSON: 400, field ``body``), an unknown
leg or call 404, Exotel's 4xx with Exotel's status and code, 429 with ``Retry-After``, Exotel
unreachable 502, not configured 503, anything unexpected 500; internals only in the logs, never a
500 for bad input. Every operation is signed with SigV4 (API Gateway's IAM authorization).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

if TYPE_CHECKING:  # Powertools' OpenAPI models cost ~350 ms to import: only a request for the document pays it
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI, SecurityScheme

from lambdas.api.models import (
    ACTION_TAGS,
    ActionAcceptedView,
    CallCreated,
    CallView,
    CreateCallBody,
    CreateLegBody,
    LegActionBody,
    LegCreatedView,
    LegEvents,
    LegView,
)
from lambdas.api.problems import (
    PROBLEM_JSON,
    ExotelError,
    FieldProblem,
    Problem,
    ProblemType,
    problem,
)
from lambdas.api.problems import body as problem_body
from lambdas.api.service import IDEMPOTENCY_HEADER, ApiProblem, CallService
from lambdas.shared.config import ConfigError
from legs.errors import LegsApiError
from legs.json_types import JsonObject, JsonValue

TITLE = "Exotel Legs on AWS"
VERSION = "1.0.0"
DESCRIPTION = (
    "Create and control Exotel call legs, read their recorded state and events, and place two-party "
    "calls (dial, hold message, re-dials, answering-machine handling, bridge). Every request is signed "
    "with AWS Signature Version 4 (API Gateway IAM authorization); every error is an RFC 9457 problem."
)
#: API Gateway's IAM authorization: requests signed with SigV4 (x-amazon-apigateway-authtype: awsSigv4).
SIGV4_SCHEME: JsonObject = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "AWS Signature Version 4 (API Gateway IAM authorization): sign with the caller's "
    "credentials for service execute-api; the caller needs execute-api:Invoke on the API.",
    "x-amazon-apigateway-authtype": "awsSigv4",
}
SECURITY: list[dict[str, list[str]]] = [{"awsSigv4": []}]


def security_schemes() -> dict[str, SecurityScheme]:
    """The document's security schemes, built when a document is (not at cold start: see the import above)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey

    return {"awsSigv4": APIKey.model_validate(SIGV4_SCHEME)}


class OpenApiInfo(TypedDict):
    """What both the swagger route and ``make openapi`` describe the API with (the security schemes are added
    by :meth:`ProblemResolver.get_openapi_schema`)."""

    title: str
    version: str
    description: str
    security: list[dict[str, list[str]]]


_OPENAPI: OpenApiInfo = {
    "title": TITLE,
    "version": VERSION,
    "description": DESCRIPTION,
    "security": SECURITY,
}

logger = Logger(service="api", child=True)  # the handler's logger formats it (correlation id = request id)


class ProblemResolver(APIGatewayRestResolver):
    """The resolver, with an OpenAPI document that names its security schemes and keeps only the schemas
    something refers to."""

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:  # Any: passed through to Powertools as given
        if not kwargs.get("security_schemes"):  # Powertools passes None explicitly when none was given
            kwargs["security_schemes"] = security_schemes()
        schema = super().get_openapi_schema(**kwargs)
        if schema.components is not None and schema.components.schemas:
            document = schema.model_dump_json(by_alias=True, exclude_none=True)
            used = _referenced(document, schema.components.schemas)
            for name in list(schema.components.schemas):
                if name not in used:
                    del schema.components.schemas[name]
        return schema

    def swagger_ui(self) -> Response[str]:
        """Swagger UI over the document, with Powertools' page and assets. Powertools' ``enable_swagger`` imports
        its OpenAPI models when the module loads: ~350 ms of every cold start (``make bench``: imports), for a
        page a function rarely serves; here they are imported by the request that asks for it."""
        from pathlib import Path

        from aws_lambda_powertools.event_handler.openapi import swagger_ui
        from aws_lambda_powertools.event_handler.openapi.models import Server

        query = self.current_event.query_string_parameters or {}
        if query.get("format") == "oauth2-redirect":
            return Response(200, "text/html", swagger_ui.generate_oauth2_redirect_html())
        servers = [Server(url=self._get_base_path() or "/")]  # the stage, so "Try it out" reaches the API
        spec = self.get_openapi_json_schema(**_OPENAPI, servers=servers).replace("</", "<\\/")  # safe in <script>
        if query.get("format") == "json":
            return Response(200, content_types.APPLICATION_JSON, spec)
        assets = Path(swagger_ui.__file__).parent
        js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
        css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
        return Response(200, "text/html", swagger_ui.generate_swagger_html(spec, js, css, "", None))


def _referenced(document: str, schemas: Collection[str]) -> set[str]:
    """Schema names reachable from the paths (a schema only another unused schema names is unused too)."""
    data: JsonObject = json.loads(document)
    given = data.get("components")
    found_schemas = given.get("schemas") if isinstance(given, Mapping) else None
    components = found_schemas if isinstance(found_schemas, Mapping) else {}
    prefix = "#/components/schemas/"

    def refs(node: JsonValue) -> set[str]:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            found = {ref[len(prefix) :]} if isinstance(ref, str) and ref.startswith(prefix) else set()
            return found.union(*(refs(v) for k, v in node.items() if k != "$ref"))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    used: set[str] = set()
    pending = refs(data.get("paths"))
    while pending:
        name = pending.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        pending |= refs(components.get(name, {}))
    return used


app = ProblemResolver(enable_validation=True)

_REASONS = {
    400: "The body is not JSON, or Exotel refused the request as invalid",
    402: "Exotel refused the request (e.g. the account's balance)",
    403: "Exotel refused the request (forbidden for this account)",
    404: "Unknown leg or call (ours or Exotel's)",
    409: "A request with this Idempotency-Key is in progress, or Exotel reports a conflict",
    415: "The body is not JSON",
    422: "Validation failed: each field and reason is listed",
    429: "Exotel throttled the request: see Retry-After",
    500: "Something unexpected: the logs have it under the request id",
    502: "Exotel could not be reached or did not complete the request",
    503: "The service is not configured correctly: the logs say what",
}


def _responses(*codes: int) -> dict[int, OpenAPIResponse]:
    return {
        code: {"description": _REASONS[code], "content": {PROBLEM_JSON: {"model": Problem}}}
        for code in (*codes, 500, 503)
    }


def _ok(status: int, model: type, description: str) -> dict[int, OpenAPIResponse]:
    return {status: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def service() -> CallService:
    """One per request; the Lambda context goes along for idempotency (the service never imports this module)."""
    return CallService.from_env(getattr(app, "lambda_context", None), caller=caller_identity())


def caller_identity() -> str:
    """Who signed the request, as API Gateway's IAM authorization found it (``requestContext.identity``).

    An assumed role's session name is dropped (``…:assumed-role/Role/session`` -> ``…:assumed-role/Role``):
    the role is the identity, sessions come and go. Without any (a test, a local front): ``anonymous``.
    """
    given = _request_context().get("identity")
    identity = given if isinstance(given, Mapping) else {}
    arn = str(identity.get("userArn") or "")
    if ":assumed-role/" in arn:
        arn = arn.rsplit("/", 1)[0]
    return arn or str(identity.get("caller") or identity.get("accountId") or "anonymous")


def _request_context() -> Mapping[str, JsonValue]:
    event = getattr(app, "current_event", None)
    raw = getattr(event, "raw_event", None)
    context = raw.get("requestContext") if isinstance(raw, Mapping) else None
    return context if isinstance(context, Mapping) else {}


def answer(value: Problem, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=value.status,
        content_type=PROBLEM_JSON,
        body=problem_body(value),  # a string: Powertools serializes dicts for application/json only
        headers=headers,
    )


def _problem(
    kind: ProblemType,
    detail: str,
    *,
    status: int | None = None,
    errors: list[FieldProblem] | None = None,
    exotel: ExotelError | None = None,
) -> Problem:
    event = getattr(app, "current_event", None)
    path, request_id = getattr(event, "path", None), _request_context().get("requestId")
    return problem(
        kind,
        detail,
        status=status,
        instance=path if isinstance(path, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        errors=errors,
        exotel=exotel,
    )


# ---- error mapping ------------------------------------------------------------------------
_E = TypeVar("_E", bound=Exception)
ErrorHandler = Callable[[_E], "Response[str]"]


def _handles(exc_class: type[_E]) -> Callable[[ErrorHandler[_E]], ErrorHandler[_E]]:
    """``app.exception_handler``, typed (Powertools' decorator has no annotations)."""
    register: Callable[[ErrorHandler[_E]], ErrorHandler[_E]] = app.exception_handler(exc_class)
    return register


def field_name(loc: Sequence[int | str]) -> str:
    """``('body', 'say', 'text')`` -> ``body.text`` (the action union's tag is not a field); ``body.0.x`` stays."""
    parts = [str(part) for part in loc]
    if len(parts) > 2 and parts[0] == "body" and parts[1] in ACTION_TAGS:
        del parts[1]
    return ".".join(parts) or "body"


@_handles(RequestValidationError)
def _validation(exc: RequestValidationError) -> Response[str]:
    errors: list[FieldProblem] = []
    for item in exc.errors():
        if item.get("type") == "json_invalid":  # loc is ('body', <character offset>): the body as a whole
            reason = str((item.get("ctx") or {}).get("error") or item.get("msg") or "invalid JSON")
            value = _problem(
                ProblemType.MALFORMED,
                "the request body is not valid JSON",
                errors=[FieldProblem(field="body", reason=f"invalid JSON: {reason}")],
            )
            return answer(value)
        message = str(item.get("msg") or item.get("type")).removeprefix("Value error, ")
        errors.append(FieldProblem(field=field_name(item.get("loc", ())), reason=message))
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    return answer(_problem(ProblemType.VALIDATION, f"invalid: {fields}", errors=errors))


@_handles(ApiProblem)
def _api_problem(exc: ApiProblem) -> Response[str]:
    errors = [FieldProblem(field=exc.field, reason=exc.message)] if exc.field else None
    return answer(_problem(exc.kind, exc.message, errors=errors))


@_handles(LegsApiError)
def _exotel(exc: LegsApiError) -> Response[str]:
    data = exc.error_data
    exotel = ExotelError(code=data.code if data else None, request_id=exc.request_id)
    said = (data.message if data and data.message else None) or ""
    if data and data.description and data.description != said:
        said = f"{said} ({data.description})" if said else data.description
    code = exc.http_code
    if code == 429:
        wait = str(max(1, math.ceil(exc.retry_after or 1)))
        detail = f"Exotel throttled the request; retry after {wait} s" + (f": {said}" if said else "")
        return answer(_problem(ProblemType.THROTTLED, detail, exotel=exotel), headers={"Retry-After": wait})
    if code == 404:
        return answer(_problem(ProblemType.NOT_FOUND, f"Exotel: {said or 'not found'}", exotel=exotel))
    if 400 <= code < 500 and code != 401:
        detail = f"Exotel: {said or 'refused the request'}"
        return answer(_problem(ProblemType.EXOTEL_REJECTED, detail, status=code, exotel=exotel))
    # 401 (this deployment's credentials), 5xx, no reply, an odd reply: not the caller's to fix. Details: the logs.
    logger.error("Exotel call failed", exotel_error=str(exc), http_code=code, exotel_request_id=exc.request_id)
    detail = (
        "Exotel refused this deployment's credentials; the operator has been told in the logs"
        if code == 401
        else "Exotel could not be reached or did not complete the request; try again later"
    )
    return answer(_problem(ProblemType.EXOTEL_UNAVAILABLE, detail, exotel=exotel))


@_handles(ConfigError)
def _config(exc: ConfigError) -> Response[str]:
    logger.error("the api function is not configured", problems=exc.problems)
    detail = "the service is not configured correctly; the operator has been told in the logs"
    return answer(_problem(ProblemType.NOT_CONFIGURED, detail))


@_handles(NotFoundError)
def _not_found(exc: NotFoundError) -> Response[str]:
    return answer(_problem(ProblemType.NOT_FOUND, str(exc.msg or "no such resource")))


@_handles(Exception)
def _unexpected(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    detail = "something unexpected happened; the logs have it under this request id"
    return answer(_problem(ProblemType.INTERNAL, detail))


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
    responses={
        **_ok(202, LegCreatedView, "Exotel accepted the leg"),
        **_responses(400, 402, 403, 404, 409, 415, 422, 429, 502),
    },
    tags=["legs"],
)
def create_leg(
    body: Annotated[CreateLegBody, Body()], idempotency_key: IdempotencyKey = None
) -> Response[LegCreatedView]:
    data = service().create_leg(body, idempotency_key)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=data)


def unknown_leg(leg_sid: str) -> str:
    return f"no leg {leg_sid}: no event of it was recorded"


@app.get(
    "/legs/<leg_sid>",
    summary="A leg's recorded state",
    responses={**_ok(200, LegView, "The leg as recorded from its events"), **_responses(404, 422)},
    tags=["legs"],
)
def get_leg(leg_sid: LegSid) -> LegView:
    leg = service().get_leg(leg_sid)
    if leg is None:
        raise NotFoundError(unknown_leg(leg_sid))
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
        raise NotFoundError(unknown_leg(leg_sid))
    return events


@app.post(
    "/legs/<leg_sid>/actions",
    summary="Act on a leg: ExoML, or a shortcut (hangup, say, play, stream)",
    responses={
        **_ok(202, ActionAcceptedView, "Exotel accepted the action"),
        **_responses(400, 402, 403, 404, 409, 415, 422, 429, 502),
    },
    tags=["legs"],
)
def leg_action(leg_sid: LegSid, body: Annotated[LegActionBody, Body()]) -> Response[Any]:
    try:
        accepted = service().act_on_leg(leg_sid, body)
    except LegsApiError as exc:
        if exc.http_code != 404:
            raise
        # the same problem as GET /legs/{sid} on an unknown leg, with Exotel's own code alongside
        exotel = ExotelError(code=exc.error_data.code if exc.error_data else None, request_id=exc.request_id)
        return answer(_problem(ProblemType.NOT_FOUND, unknown_leg(leg_sid), exotel=exotel))
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)


@app.post(
    "/calls",
    summary="Place a two-party call",
    description="Stores a call plan and dials the first party; the rest happens as the legs' events arrive.",
    responses={
        **_ok(202, CallCreated, "The plan is stored and the first leg dialled"),
        **_responses(400, 402, 403, 404, 409, 415, 422, 429, 502),
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


@app.get("/swagger", include_in_schema=False)
def swagger() -> Response[str]:
    return app.swagger_ui()


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_schema())


def openapi_schema() -> JsonObject:
    document: JsonObject = json.loads(app.get_openapi_json_schema(**_OPENAPI))
    return document
