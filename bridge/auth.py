"""Shared-secret check: ``authorization: Bearer <token>`` metadata, else ``UNAUTHENTICATED``.

The health service stays open so that load balancers (which cannot add metadata) can probe it.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

import grpc

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")

EXEMPT_PREFIXES: tuple[str, ...] = ("/grpc.health.v1.Health/",)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Rejects calls whose ``authorization`` metadata is not exactly ``Bearer <token>``."""

    def __init__(self, token: str, exempt: tuple[str, ...] = EXEMPT_PREFIXES) -> None:
        self._expected = f"Bearer {token}".encode()
        self._exempt = exempt

    def _authorized(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else bytes(value)
                return hmac.compare_digest(given, self._expected)
        return False

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        method = handler_call_details.method or ""
        if method.startswith(self._exempt) or self._authorized(handler_call_details.invocation_metadata):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        return _deny(handler)


async def _abort(_request: object, context: grpc.aio.ServicerContext[object, object]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong 'authorization: Bearer <token>' metadata")


async def _abort_stream(_request: object, context: grpc.aio.ServicerContext[object, object]) -> AsyncIterator[None]:
    await _abort(_request, context)
    yield  # pragma: no cover - makes this an async generator, as streaming handlers must be


def _deny(handler: grpc.RpcMethodHandler[_Request, _Response] | None) -> grpc.RpcMethodHandler[_Request, _Response]:
    """A handler of the same shape as ``handler`` that only aborts (unknown methods: unary)."""
    if handler is None or (not handler.request_streaming and not handler.response_streaming):
        return grpc.unary_unary_rpc_method_handler(_abort)
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_abort_stream)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_abort)
    return grpc.unary_stream_rpc_method_handler(_abort_stream)
