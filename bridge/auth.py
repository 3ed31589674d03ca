"""Who may push: a shared token, and the subject of a verified client certificate (mutual TLS).

* ``BearerTokenInterceptor``: ``authorization: Bearer <token>`` metadata, else ``UNAUTHENTICATED``.
* ``LoadBalancerSubjectInterceptor``: behind an ALB doing mutual TLS in verify mode
  (``BRIDGE_LB_MUTUAL_TLS``), the subject the ALB verified arrives as ``x-amzn-mtls-clientcert-subject``
  metadata. A call without it did not come through that listener and is refused.
* ``TlsSubjectInterceptor``: the bridge's own mutual TLS (``BRIDGE_TLS_CLIENT_CA_FILE``): the subject
  of the peer's certificate from the TLS session.

Either subject is logged (INFO the first time a subject is seen, DEBUG per call) and, with
``BRIDGE_CLIENT_SUBJECTS``, must be one of the pinned ones. The health service stays open so that load
balancers (which present no certificate and cannot add metadata) can probe it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeAlias, TypeVar, cast

import grpc

from bridge.log import logger
from contract.env import BridgeEnv

EXEMPT_PREFIXES: tuple[str, ...] = ("/grpc.health.v1.Health/",)
#: What an ALB in mutual TLS verify mode sends (HTTP/2 header names are lower case, and so gRPC metadata keys):
#: the verified client certificate's subject as an RFC 2253 string.
LB_SUBJECT_HEADER = "x-amzn-mtls-clientcert-subject"
#: The subjects logged at INFO (the first call from each); beyond that many distinct ones, only at DEBUG.
_REMEMBERED_SUBJECTS = 1024

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
Context: TypeAlias = "grpc.aio.ServicerContext[object, object]"  # generic in the stubs only: a string at run time
#: What the aio server really calls: grpcio's stubs type handler behaviours as synchronous, ours are coroutines
#: (unary response) or async generators (streaming response).
_AsyncUnary: TypeAlias = "Callable[[_Request, Context], Awaitable[_Response]]"
_AsyncStream: TypeAlias = "Callable[[_Request, Context], AsyncIterator[_Response] | Iterator[_Response]]"


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
        return _deny(handler, "missing or wrong 'authorization: Bearer <token>' metadata")


class ClientSubjects:
    """The verified subjects seen (logged once each) and, if any are pinned, the only ones accepted."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(s.strip() for s in allowed if s.strip())
        self._seen: set[str] = set()
        self._debug = logger.log_level <= logging.DEBUG

    def refusal(self, subject: str | None, method: str) -> str | None:
        """Why a call from ``subject`` is refused (None: it may go on); logs what it decides."""
        if not subject:
            logger.warning("push refused: no verified client certificate subject", method=method)
            return "no verified client certificate: push through the mutual TLS listener"
        if self.allowed and subject not in self.allowed:
            logger.warning("push refused: client certificate subject is not pinned", subject=subject, method=method)
            return f"client certificate subject is not allowed ({BridgeEnv.CLIENT_SUBJECTS})"
        if subject not in self._seen and len(self._seen) < _REMEMBERED_SUBJECTS:
            self._seen.add(subject)
            logger.info("client certificate verified", subject=subject, pinned=bool(self.allowed))
        elif self._debug:
            logger.debug("client certificate verified", subject=subject, method=method)
        return None


class LoadBalancerSubjectInterceptor(grpc.aio.ServerInterceptor):
    """Behind an ALB in mutual TLS verify mode: the subject it verified, from ``x-amzn-mtls-clientcert-subject``.

    Trust the header only where nothing but that ALB can reach the bridge (the deployment's security
    groups see to it): the ALB sets it on every request it forwards from a verified client.
    """

    def __init__(self, subjects: ClientSubjects, exempt: tuple[str, ...] = EXEMPT_PREFIXES) -> None:
        self._subjects = subjects
        self._exempt = exempt

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        method = handler_call_details.method or ""
        if method.startswith(self._exempt):
            return await continuation(handler_call_details)
        subject = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == LB_SUBJECT_HEADER:
                subject = (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()
                break
        reason = self._subjects.refusal(subject, method)
        handler = await continuation(handler_call_details)
        return handler if reason is None else _deny(handler, reason)


class TlsSubjectInterceptor(grpc.aio.ServerInterceptor):
    """The bridge's own mutual TLS: the peer certificate's subject from the TLS session (``x509_subject``).

    The session is only known to the call's context, so the handler is wrapped; only when this is configured.
    """

    def __init__(self, subjects: ClientSubjects, exempt: tuple[str, ...] = EXEMPT_PREFIXES) -> None:
        self._subjects = subjects
        self._exempt = exempt

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        method = handler_call_details.method or ""
        handler = await continuation(handler_call_details)
        if method.startswith(self._exempt) or handler is None:
            return handler
        return _checked(handler, lambda context: self._subjects.refusal(tls_subject(context), method))


def tls_subject(context: Context) -> str | None:
    """The verified peer certificate's subject (RFC 2253), or None on a connection without one."""
    first = next(iter((context.auth_context() or {}).get("x509_subject") or ()), None)
    return first.decode("utf-8", "replace").strip() if first else None


async def _abort(context: Context, reason: str) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)


def _deny(
    handler: grpc.RpcMethodHandler[_Request, _Response] | None, reason: str
) -> grpc.RpcMethodHandler[_Request, _Response]:
    """A handler of the same shape as ``handler`` that only aborts with ``reason`` (unknown methods: unary)."""

    async def unary(_request: object, context: Context) -> None:
        await _abort(context, reason)

    async def streaming(_request: object, context: Context) -> AsyncIterator[None]:
        await _abort(context, reason)
        yield  # pragma: no cover - makes this an async generator, as streaming handlers must be

    if handler is None or (not handler.request_streaming and not handler.response_streaming):
        return grpc.unary_unary_rpc_method_handler(unary)
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(streaming)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary)
    return grpc.unary_stream_rpc_method_handler(streaming)


def _checked(
    handler: grpc.RpcMethodHandler[_Request, _Response], refusal: Callable[[Context], str | None]
) -> grpc.RpcMethodHandler[_Request, _Response]:
    """``handler``, but each call first asks ``refusal(context)`` and aborts UNAUTHENTICATED with its reason."""
    deserialize, serialize = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary is not None or handler.stream_unary is not None:
        inner = cast("_AsyncUnary[_Request, _Response]", handler.unary_unary or handler.stream_unary)  # see above

        async def respond(request: _Request, context: Context) -> _Response:
            reason = refusal(context)
            if reason is not None:
                await _abort(context, reason)
            return await inner(request, context)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(respond, deserialize, serialize)
    inner_stream = cast("_AsyncStream[_Request, _Response]", handler.unary_stream or handler.stream_stream)

    async def stream(request: _Request, context: Context) -> AsyncIterator[_Response]:
        reason = refusal(context)
        if reason is not None:
            await _abort(context, reason)
        items = inner_stream(request, context)
        if isinstance(items, AsyncIterator):
            async for item in items:
                yield item
        else:  # a synchronous servicer's generator
            for item in items:
                yield item

    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(stream, deserialize, serialize)
    return grpc.stream_stream_rpc_method_handler(stream, deserialize, serialize)
