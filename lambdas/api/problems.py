"""One error format for the whole API: RFC 9457 problem details, ``application/problem+json``.

Every error answer, ours or Exotel's, is a :class:`Problem`: ``type`` (one of :class:`ProblemType`, a
stable URI to branch on), ``title`` (fixed per type), ``status``, ``detail`` (for a person),
``instance`` (the request path), ``request_id`` (API Gateway's, also on every log line of the request),
and where they apply ``errors`` (``[{field, reason}]``, validation) and ``exotel`` (Exotel's own error
code and request id). Internals (exception classes, hosts, ports, variable or secret names) go to the
logs under the request id, never into a body.
"""

from __future__ import annotations

import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from legs.json_types import JsonObject

#: RFC 9457's media type for problem details.
PROBLEM_JSON = "application/problem+json"
#: ``type`` URIs are tag URIs (RFC 4151): stable identifiers, not links (docs/LAMBDAS.md lists them).
TYPE_PREFIX = "tag:exotel-legs-eventbridge,2025:problem:"


class ProblemType(StrEnum):
    """Every kind of error the API answers with; the value is the end of the ``type`` URI."""

    VALIDATION = "validation-error"
    MALFORMED = "malformed-request"
    NOT_FOUND = "not-found"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"
    IN_PROGRESS = "request-in-progress"
    EXOTEL_REJECTED = "exotel-rejected"
    THROTTLED = "throttled"
    EXOTEL_UNAVAILABLE = "exotel-unavailable"
    NOT_CONFIGURED = "not-configured"
    INTERNAL = "internal-error"
    # answered by API Gateway itself, before the function runs (infra/constructs/rest_api.py)
    ACCESS_DENIED = "access-denied"
    RATE_LIMITED = "rate-limited"
    TOO_LARGE = "request-too-large"
    REFUSED = "request-refused"
    GATEWAY_ERROR = "gateway-error"

    @property
    def uri(self) -> str:
        return f"{TYPE_PREFIX}{self.value}"


#: (status, title) of each type; Exotel's refusals keep Exotel's 4xx status.
SPECS: dict[ProblemType, tuple[int, str]] = {
    ProblemType.VALIDATION: (422, "The request is not valid"),
    ProblemType.MALFORMED: (400, "The request body is not valid JSON"),
    ProblemType.NOT_FOUND: (404, "Not found"),
    ProblemType.UNSUPPORTED_MEDIA_TYPE: (415, "The body must be JSON"),
    ProblemType.IDEMPOTENCY_KEY_REUSED: (422, "Idempotency-Key already used with another body"),
    ProblemType.IN_PROGRESS: (409, "A request with this Idempotency-Key is in progress"),
    ProblemType.EXOTEL_REJECTED: (400, "Exotel refused the request"),
    ProblemType.THROTTLED: (429, "Too many requests to Exotel"),
    ProblemType.EXOTEL_UNAVAILABLE: (502, "Exotel could not be reached or did not complete the request"),
    ProblemType.NOT_CONFIGURED: (503, "The service is not configured"),
    ProblemType.INTERNAL: (500, "Internal error"),
    ProblemType.ACCESS_DENIED: (403, "Not signed, or not allowed"),
    ProblemType.RATE_LIMITED: (429, "Too many requests"),
    ProblemType.TOO_LARGE: (413, "The request is too large"),
    ProblemType.REFUSED: (400, "The request was refused"),
    ProblemType.GATEWAY_ERROR: (502, "The API could not complete the request"),
}


class FieldProblem(BaseModel):
    """One invalid input: where (``body.contact_uri``, ``path.leg_sid``, ``header.Idempotency-Key``; ``body``
    for a body that is not JSON) and why."""

    model_config = ConfigDict(extra="forbid")

    field: str
    reason: str


class ExotelError(BaseModel):
    """What Exotel said, when the problem is Exotel's answer (its ``error_data.code``, its ``request_id``)."""

    model_config = ConfigDict(extra="forbid")

    code: int | str | None = Field(default=None, description="Exotel's error code (a number or a string)")
    request_id: str | None = Field(default=None, description="Exotel's request id (quote it to Exotel's support)")


class Problem(BaseModel):
    """RFC 9457 problem details, with this API's extension members."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description=f"The kind of problem: {TYPE_PREFIX}<one of the types in docs/LAMBDAS.md>")
    title: str = Field(description="A short summary, the same for every problem of this type")
    status: int = Field(ge=400, le=599, description="The HTTP status of this answer")
    detail: str = Field(description="What went wrong with this request, for a person")
    instance: str | None = Field(default=None, description="The request's path")
    request_id: str | None = Field(default=None, description="This request's id (API Gateway's); the logs carry it")
    errors: list[FieldProblem] | None = Field(default=None, description="Each invalid input (validation problems)")
    exotel: ExotelError | None = Field(default=None, description="Exotel's error, when Exotel refused or failed")


def problem(
    kind: ProblemType,
    detail: str,
    *,
    status: int | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    errors: list[FieldProblem] | None = None,
    exotel: ExotelError | None = None,
) -> Problem:
    default_status, title = SPECS[kind]
    return Problem(
        type=kind.uri,
        title=title,
        status=status or default_status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=errors,
        exotel=exotel,
    )


def body(value: Problem) -> str:
    return json.dumps(value.model_dump(mode="json", exclude_none=True), separators=(",", ":"))


def proxy_response(value: Problem, headers: dict[str, str] | None = None) -> JsonObject:
    """A Lambda proxy response carrying ``value`` (for answers given before the resolver runs)."""
    return {
        "statusCode": value.status,
        "headers": {"Content-Type": PROBLEM_JSON, **(headers or {})},
        "multiValueHeaders": {},
        "body": body(value),
        "isBase64Encoded": False,
    }


def gateway_template(kind: ProblemType, status: int | None) -> str:
    """An API Gateway response template (VTL) that writes the same problem as the function would.

    ``$context.error.messageString`` is API Gateway's message as a quoted JSON string; ``status`` is left
    out where one template serves several statuses (DEFAULT_4XX/5XX; RFC 9457 makes it advisory).
    """
    title = json.dumps(SPECS[kind][1])
    parts = [f'"type":"{kind.uri}"', f'"title":{title}']
    if status is not None:
        parts.append(f'"status":{status}')
    parts.append('"detail":$context.error.messageString')
    parts += ['"instance":"$context.path"', '"request_id":"$context.requestId"']
    return "{" + ",".join(parts) + "}"
