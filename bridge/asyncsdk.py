"""AWS calls on the event loop: botocore's serializer, SigV4 signer and parser, sent with :mod:`bridge.http1`.

Why not boto3 in a thread pool (what the bridge did before): at saturation every PutEvents call then paid
botocore's parameter validation and request building, a hop to a worker thread, urllib3, and the GIL
contention between that thread and the event loop that serves gRPC. Measured on the deployed path
(docs/PERFORMANCE.md, "ablation"), that was most of the gap to a no-op gRPC server. aiobotocore would be
the off-the-shelf answer but pins a narrow botocore range that excludes the project's botocore (1.44.8).

What this keeps from botocore, so it behaves as the SDK does: the client's resolved endpoint and region
(``AWS_ENDPOINT_URL*``, the region chain), the credential chain with refresh (task role credentials),
the service model's protocol (JSON 1.1 for ``events``, smithy RPC v2 CBOR for ``eventbridgev2``), SigV4's
rules (signed by :mod:`bridge.sigv4`, which gives botocore's signature for less CPU), and the error parser
(so a throttled call raises the same ``ClientError`` with ``ThrottlingException``).
The request goes over :class:`bridge.http1.Http1Client` (kept-alive HTTP/1.1, TLS), or over aiohttp when the
environment names a proxy for the endpoint (``HTTPS_PROXY``/``HTTP_PROXY``; a path that latency does not decide)
or ``BRIDGE_HTTP_CLIENT=aiohttp`` asks for it (the way back, should an endpoint disagree with the bridge's client).
What it leaves out: parameter validation (the bridge builds every entry itself and the service validates
again) and the SDK's retries (the publisher retries per entry inside its deadline). For the JSON protocol
the body is written with orjson (same JSON as botocore's serializer: timestamps as integer epoch seconds;
tests/bridge/test_asyncsdk.py compares the two); every other protocol uses botocore's serializer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
import time
import urllib.request
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
import botocore
import orjson
from botocore.client import BaseClient
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.model import OperationModel
from botocore.parsers import ResponseParser, create_parser
from botocore.serialize import create_serializer

from bridge.http1 import ConnectFailed, ConnectionLost, Http1Client, ReadTimedOut
from bridge.sigv4 import SigV4Signer

#: How often the credential chain is asked again (it refreshes on its own schedule; asking is cheap).
CREDENTIALS_CHECK_S = 30.0


def _epoch_seconds(value: object) -> int:
    """orjson ``default``: a datetime the way botocore's JSON serializer writes it (integer epoch seconds)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return int(aware.timestamp())
    raise TypeError(f"cannot serialize {type(value).__name__}")


class AsyncAwsClient:
    """One AWS service's operations as coroutines; made from a configured boto3 client (see ``bridge.aws``).

    ``await client.call("PutEvents", {"Entries": [...]})`` returns the parsed reply, or raises what botocore
    would: ``ClientError`` (with the service's error code), ``EndpointConnectionError``,
    ``ConnectionClosedError``, ``ReadTimeoutError``, ``NoCredentialsError``. :meth:`start` inside the event
    loop before the first call, :meth:`close` at the end.
    """

    def __init__(
        self,
        client: BaseClient,
        credentials: Credentials | None,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_connections: int,
        http_client: Literal["builtin", "aiohttp"] = "builtin",
    ) -> None:
        meta = client.meta
        model = meta.service_model
        self.service = model.service_name
        self.endpoint_url = meta.endpoint_url.rstrip("/")
        self.region = meta.region_name
        self._signer = SigV4Signer(service=model.signing_name, region=self.region, endpoint_url=self.endpoint_url)
        self._base_path = urlsplit(self.endpoint_url).path  # an endpoint with a path prefix signs it too
        self._protocol = model.resolved_protocol if hasattr(model, "resolved_protocol") else model.protocol
        self._serializer = create_serializer(self._protocol, include_validation=False)
        self._parser: ResponseParser = create_parser(self._protocol)
        self._model = model
        self._operations: dict[str, OperationModel] = {}
        self._static_headers: dict[str, dict[str, str]] = {}
        self._credentials = credentials
        self._frozen: ReadOnlyCredentials | None = None
        self._checked_at = -CREDENTIALS_CHECK_S
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # through a proxy
        self._http: Http1Client | None = None  # direct (no proxy): the usual path
        self._proxy = endpoint_proxy(self.endpoint_url)
        #: what sends the requests: ``builtin`` (bridge.http1) unless asked for aiohttp or a proxy needs it
        self.http_client = "aiohttp" if http_client == "aiohttp" or self._proxy is not None else "builtin"
        self._user_agent = f"exotel-legs-bridge botocore/{botocore.__version__}"

    # ---- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._session is not None or self._http is not None:
            return
        bundle = os.environ.get("AWS_CA_BUNDLE")
        ssl_context = ssl.create_default_context(cafile=bundle or None)
        if self.http_client == "builtin":
            self._http = Http1Client(
                self.endpoint_url,
                ssl_context=ssl_context,
                connect_timeout_s=self._connect_timeout_s,
                read_timeout_s=self._read_timeout_s,
                max_connections=self._max_connections,
            )
            await self._fresh_credentials()
            return
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, ssl=ssl_context, keepalive_timeout=30, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout_s, sock_read=self._read_timeout_s
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,  # the proxy is resolved once (endpoint_proxy): per request it costs a thread hop
            skip_auto_headers=("Accept-Encoding",),
        )
        await self._fresh_credentials()

    async def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ---- calls ---------------------------------------------------------------------------------
    async def call(self, operation: str, params: Mapping[str, object]) -> dict[str, object]:
        if self._http is None and self._session is None:
            raise RuntimeError("AsyncAwsClient.start() was not awaited")
        model = self._operation(operation)
        path, headers, body = self._encode(model, params)
        credentials = await self._fresh_credentials()
        signed = self._signer.sign(self._base_path + path, headers, body, credentials)
        if self._http is not None:
            status, reply_headers, payload = await self._send_direct(self._http, path, signed, body)
        else:
            status, reply_headers, payload = await self._send_proxied(path, signed, body)
        if status == 200 and self._protocol == "json":
            return orjson.loads(payload) if payload else {}
        response = {"status_code": status, "headers": _Headers(reply_headers), "body": payload}
        parsed: dict[str, object] = self._parser.parse(response, model.output_shape)  # type: ignore[arg-type]  # botocore passes None for an operation without output
        if status >= 300:
            raise ClientError(parsed, operation)  # type: ignore[arg-type]  # botocore's own parsed shape
        return parsed

    async def _send_direct(
        self, http: Http1Client, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        try:
            reply = await http.post(self._base_path + path, headers, body)
        except ConnectFailed as exc:
            raise EndpointConnectionError(endpoint_url=self.endpoint_url + path, error=exc) from exc
        except ReadTimedOut as exc:
            raise ReadTimeoutError(endpoint_url=self.endpoint_url + path, error=exc) from exc
        except (ConnectionLost, OSError) as exc:  # reset, closed without a reply, truncated body
            raise ConnectionClosedError(endpoint_url=self.endpoint_url + path, error=exc) from exc
        return reply.status, reply.headers, reply.body

    async def _send_proxied(
        self, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        assert self._session is not None
        url = self.endpoint_url + path
        try:
            async with self._session.post(url, data=body, headers=headers, proxy=self._proxy) as reply:
                return reply.status, reply.headers, await reply.read()
        except aiohttp.ClientConnectorError as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except (aiohttp.ClientError, OSError) as exc:  # reset, closed without a reply, truncated body
            raise ConnectionClosedError(endpoint_url=url, error=exc) from exc

    # ---- helpers -------------------------------------------------------------------------------
    def _operation(self, name: str) -> OperationModel:
        model = self._operations.get(name)
        if model is None:
            model = self._operations[name] = self._model.operation_model(name)
        return model

    def _encode(self, model: OperationModel, params: Mapping[str, object]) -> tuple[str, Mapping[str, str], bytes]:
        """Path (below the endpoint), headers and body of one call, as botocore's serializer makes them (the JSON
        protocol's headers are the operation's cached ones: read-only, the signer copies them)."""
        if self._protocol == "json":
            static = self._static_headers.get(model.name)
            if static is None:  # headers and path of this operation, from botocore's serializer, once
                empty = self._serializer.serialize_to_request({}, model)
                static = {str(k): str(v) for k, v in empty["headers"].items()}
                static["User-Agent"] = self._user_agent
                self._static_headers[model.name] = static
            body = orjson.dumps(params, default=_epoch_seconds, option=orjson.OPT_PASSTHROUGH_DATETIME)
            return "/", static, body
        request = self._serializer.serialize_to_request(dict(params), model)
        headers = {str(k): str(v) for k, v in request["headers"].items()}
        headers["User-Agent"] = self._user_agent
        body = request["body"]
        if isinstance(body, str):
            body = body.encode("utf-8")
        return request["url_path"], headers, body

    async def _fresh_credentials(self) -> ReadOnlyCredentials:
        """The chain's current credentials; asked off the loop, since a refresh is a blocking HTTP call."""
        now = time.monotonic()
        if self._frozen is not None and now - self._checked_at < CREDENTIALS_CHECK_S:
            return self._frozen
        if self._credentials is None:
            raise NoCredentialsError()
        self._checked_at = now
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):  # no default executor at interpreter exit: keep the last ones
            self._frozen = await loop.run_in_executor(None, self._credentials.get_frozen_credentials)
        if self._frozen is None:
            raise NoCredentialsError()
        return self._frozen


def endpoint_proxy(endpoint_url: str) -> str | None:
    """The proxy botocore would use for this endpoint (``HTTPS_PROXY``/``HTTP_PROXY`` unless ``NO_PROXY`` says
    otherwise), resolved once."""
    parts = urlsplit(endpoint_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


class _Headers(dict[str, str]):
    """A response's headers for botocore's parser (which looks some up in lower case)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__((key.lower(), value) for key, value in headers.items())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]  # case-insensitive; botocore's parser calls get(key) and get(key, default) only
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())
