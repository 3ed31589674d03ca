"""A WSGI app in front of the ``api`` handler: builds API Gateway REST proxy events (for schemathesis)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from lambdas.api.handler import handler
from tests.lambdas.kit import Context, api_event


def api_wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else None
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    path = environ.get("PATH_INFO") or "/"
    event = api_event(environ["REQUEST_METHOD"], path, headers=headers, raw_body=body)
    query = parse_qs(environ.get("QUERY_STRING") or "")
    if query:
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
        event["multiValueQueryStringParameters"] = query
    reply = handler(event, Context("api"))
    status = int(reply["statusCode"])
    out = dict(reply.get("headers") or {})
    out.update({k: v[-1] for k, v in (reply.get("multiValueHeaders") or {}).items() if v})
    start_response(f"{status} {HTTPStatus(status).phrase}", list(out.items()))
    return [(reply.get("body") or "").encode("utf-8")]
