"""SigV4 for the bridge's own POSTs: the same signature as botocore's ``SigV4Auth``, at a fraction of its CPU.

Why not botocore's signer (what :mod:`bridge.asyncsdk` used before): profiled per PutEvents call, it was more than
half of the call's CPU in the bridge process (an ``AWSRequest``, email-style header maps, URL parsing and four
HMACs for the signing key, every call), and at 1,000 events/s the bridge makes hundreds of calls a second. This
signs what the bridge sends (a POST with a body, no query string, to one endpoint) and nothing else: the host is
parsed once, the signing key is kept for its day, the canonical headers are built from a plain dict. The rules
are botocore's (which headers are signed, how values are trimmed, the path's normalization, the session token);
``tests/bridge/test_sigv4.py`` compares the two header for header across services, paths, hosts and credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from botocore.auth import SIGNED_HEADERS_BLACKLIST
from botocore.credentials import ReadOnlyCredentials
from botocore.utils import normalize_url_path

_UNSIGNED = frozenset(SIGNED_HEADERS_BLACKLIST)
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Headers the signer writes itself (a caller's copy is dropped).
_REPLACED = frozenset({"authorization", "x-amz-date"})


def host_header(endpoint_url: str) -> str:
    """The ``host`` value botocore signs for this endpoint: lower case, no user info, port only if not default."""
    parts = urlsplit(endpoint_url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _prepare(headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """The headers to send as given (not a date or signature of an earlier signing), the signed ones among them in
    canonical form (lower-case name, value with its runs of whitespace made one space), and the names under which
    the caller gave a session token (replaced by the credentials' own when they have one, as botocore does)."""
    kept = {key: value for key, value in headers.items() if key.lower() not in _REPLACED}
    static = {key.lower(): " ".join(value.split()) for key, value in kept.items() if key.lower() not in _UNSIGNED}
    token_keys = tuple(key for key in kept if key.lower() == "x-amz-security-token")
    return kept, static, token_keys


class _Second(NamedTuple):
    """The parts of a signature that stay the same for one second, one set of headers and credentials."""

    headers: Mapping[str, str]
    stamp: str
    token: str | None
    access_key: str | None
    secret: str | None
    signed: dict[str, str]  # the headers to send, all but Authorization
    canonical: str  # the canonical header block
    signed_names: str
    to_sign_head: str  # the string to sign up to the canonical request's hash
    authorization: str  # the Authorization header up to the signature
    key: bytes  # the day's signing key


class SigV4Signer:
    """Signs POST requests to one service endpoint (``service``, ``region``, ``endpoint_url``)."""

    def __init__(self, *, service: str, region: str, endpoint_url: str) -> None:
        self.service = service
        self.region = region
        self.host = host_header(endpoint_url)
        self._scope_tail = f"/{region}/{service}/aws4_request"
        self._key: tuple[str, str, bytes] | None = None  # (secret, day, signing key)
        self._paths: dict[str, str] = {}
        self._prepared: tuple[Mapping[str, str], dict[str, str], dict[str, str], tuple[str, ...]] | None = None
        self._second = -1  # the second self._stamp_text is for
        self._stamp_text = ""
        self._state: _Second | None = None  # what the requests of the current second share

    def sign(
        self,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: ReadOnlyCredentials,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """``headers`` plus ``X-Amz-Date``, ``X-Amz-Security-Token`` (temporary credentials) and ``Authorization``.

        The same ``headers`` object call after call (the publisher's cached ones, which nobody changes) is prepared
        once per second and set of credentials (which of them are signed, how, and the canonical header block): the
        work per call is then the body's hash, the request's hash and the HMAC."""
        stamp = self._stamp() if now is None else now.strftime("%Y%m%dT%H%M%SZ")
        state = self._state
        if (
            state is None
            or state.headers is not headers
            or state.stamp != stamp
            or state.token != credentials.token
            or state.access_key != credentials.access_key
            or state.secret != credentials.secret_key
        ):
            state = self._state = self._prepare_second(headers, stamp, credentials)
        request = (
            f"POST\n{self._canonical_path(path)}\n\n{state.canonical}\n{state.signed_names}\n"
            f"{hashlib.sha256(body).hexdigest()}"
        )
        to_sign = f"{state.to_sign_head}{hashlib.sha256(request.encode()).hexdigest()}"
        signed = dict(state.signed)
        signed["Authorization"] = state.authorization + hmac.digest(state.key, to_sign.encode(), "sha256").hex()
        return signed

    def _prepare_second(self, headers: Mapping[str, str], stamp: str, credentials: ReadOnlyCredentials) -> _Second:
        """What every request signed in this second, with these headers and credentials, shares."""
        prepared = self._prepared
        if prepared is None or prepared[0] is not headers:
            prepared = self._prepared = (headers, *_prepare(headers))
        _, kept, static, token_keys = prepared
        day = stamp[:8]
        signed = dict(kept)
        signed["X-Amz-Date"] = stamp
        canonical = dict(static)
        canonical.setdefault("host", self.host)  # a caller's own Host is signed as given, as botocore does
        canonical["x-amz-date"] = stamp
        token = credentials.token
        if token:
            for key in token_keys:
                del signed[key]
            signed["X-Amz-Security-Token"] = token
            canonical["x-amz-security-token"] = " ".join(token.split())
        names = sorted(canonical)
        signed_names = ";".join(names)
        scope = day + self._scope_tail
        return _Second(
            headers=headers,
            stamp=stamp,
            token=token,
            access_key=credentials.access_key,
            secret=credentials.secret_key,
            signed=signed,
            canonical="".join(f"{name}:{canonical[name]}\n" for name in names),
            signed_names=signed_names,
            to_sign_head=f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n",
            authorization=(
                f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, SignedHeaders={signed_names}, "
                "Signature="
            ),
            key=self._signing_key(credentials.secret_key or "", day),
        )

    def _stamp(self) -> str:
        """``X-Amz-Date`` for now (UTC), made once per second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._stamp_text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._second = second
        return self._stamp_text

    def _canonical_path(self, path: str) -> str:
        canonical = self._paths.get(path)
        if canonical is None:
            canonical = self._paths[path] = quote(normalize_url_path(path), safe="/~")
        return canonical

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret and cached[1] == day:
            return cached[2]
        key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
        for part in (self.region, self.service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = (secret, day, key)
        return key
