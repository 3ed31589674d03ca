"""``bridge.sigv4`` signs exactly as botocore's ``SigV4Auth`` does: every header, for every shape the bridge sends.

Both sign the same request at the same instant (botocore's clock pinned); the headers they produce, the
``Authorization`` header above all, must be equal. A difference in any rule (which headers are signed, how
values are trimmed, the host's port, the path's encoding, the session token, the signing key's day) shows here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore import auth as botocore_auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from bridge.sigv4 import SigV4Signer, host_header

LONG_TERM = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
TEMPORARY = ReadOnlyCredentials("ASIAEXAMPLE", "secret/with+chars", "FwoGZXIvYXdzEJr//////////token==")
JSON_HEADERS = {
    "X-Amz-Target": "AWSEvents.PutEvents",
    "Content-Type": "application/x-amz-json-1.1",
    "User-Agent": "exotel-legs-bridge botocore/1.44.8 aiohttp/3",
}
CBOR_HEADERS = {
    "smithy-protocol": "rpc-v2-cbor",
    "Content-Type": "application/cbor",
    "Accept": "application/cbor",
    "User-Agent": "exotel-legs-bridge",
}


def botocore_headers(
    monkeypatch: pytest.MonkeyPatch,
    *,
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: ReadOnlyCredentials,
    now: datetime,
    service: str = "events",
    region: str = "us-east-1",
) -> dict[str, str]:
    """botocore's headers for the same POST at the same instant (the ``events`` service in us-east-1 unless told)."""
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("service", "endpoint", "path", "headers", "credentials"),
    [
        ("events", "https://events.ap-south-1.amazonaws.com", "/", JSON_HEADERS, LONG_TERM),
        ("events", "https://events.ap-south-1.amazonaws.com:443", "/", JSON_HEADERS, TEMPORARY),
        ("events", "http://127.0.0.1:4010", "/", JSON_HEADERS, TEMPORARY),
        ("events", "http://LOCALHOST:80", "/", JSON_HEADERS, LONG_TERM),
        ("events", "http://[::1]:5000", "/", JSON_HEADERS, LONG_TERM),
        ("events", "https://proxy.example.com/prefix", "/prefix/", JSON_HEADERS, LONG_TERM),
        ("events", "https://h.example.com", "/", {**JSON_HEADERS, "X-Odd": "  two   spaces  "}, LONG_TERM),
        (
            "events",
            "https://events.ap-south-1.amazonaws.com",
            "/service/AWSEventBridgeV2/operation/PutEvents",
            CBOR_HEADERS,
            TEMPORARY,
        ),
        ("events", "https://h.example.com", "/a b/~c", CBOR_HEADERS, LONG_TERM),
    ],
)
def test_the_same_headers_as_botocores_signer(
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    endpoint: str,
    path: str,
    headers: dict[str, str],
    credentials: ReadOnlyCredentials,
) -> None:
    body = b'{"Entries":[{"Source":"exotel.legs","Detail":"{\\"a\\":1}"}]}'
    now = datetime(2026, 12, 2, 10, 30, 45, tzinfo=UTC)
    signer = SigV4Signer(service=service, region="ap-south-1", endpoint_url=endpoint)
    ours = signer.sign(path, headers, body, credentials, now=now)
    url = endpoint.rstrip("/").split("/prefix")[0] + path
    theirs = botocore_headers(
        monkeypatch,
        service=service,
        region="ap-south-1",
        url=url,
        headers=headers,
        body=body,
        credentials=credentials,
        now=now,
    )
    assert ours == theirs
    assert ("X-Amz-Security-Token" in ours) == bool(credentials.token)


def test_the_signing_key_follows_the_day_and_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is kept for its day: a call after midnight, or after the credentials rotate, gets a new one."""
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://events.us-east-1.amazonaws.com")
    rotated = ReadOnlyCredentials("AKIDOTHER", "another-secret", None)
    for now, credentials in [
        (datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC), LONG_TERM),
        (datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC), LONG_TERM),
        (datetime(2026, 12, 3, 0, 0, 2, tzinfo=UTC), rotated),
        (datetime(2026, 12, 3, 0, 0, 3, tzinfo=UTC), LONG_TERM),
    ]:
        body = now.isoformat().encode()
        ours = signer.sign("/", JSON_HEADERS, body, credentials, now=now)
        theirs = botocore_headers(
            monkeypatch,
            url="https://events.us-east-1.amazonaws.com/",
            headers=JSON_HEADERS,
            body=body,
            credentials=credentials,
            now=now,
        )
        assert ours["Authorization"] == theirs["Authorization"], now


def test_an_earlier_authorization_or_date_is_replaced_not_signed() -> None:
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://e.example.com")
    now = datetime(2026, 12, 2, tzinfo=UTC)
    clean = signer.sign("/", JSON_HEADERS, b"{}", LONG_TERM, now=now)
    stale = signer.sign(
        "/", {**JSON_HEADERS, "authorization": "old", "X-Amz-Date": "19990101T000000Z"}, b"{}", LONG_TERM, now=now
    )
    assert stale == clean


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://events.us-east-1.amazonaws.com", "events.us-east-1.amazonaws.com"),
        ("https://Events.example.com:443/x", "events.example.com"),
        ("http://user:pw@127.0.0.1:8080", "127.0.0.1:8080"),
        ("https://[::1]:8443", "[::1]:8443"),
    ],
)
def test_host_header(url: str, host: str) -> None:
    assert host_header(url) == host


@pytest.mark.parametrize("credentials", [LONG_TERM, TEMPORARY], ids=["long-term", "temporary"])
def test_a_callers_session_token_header_is_kept_or_replaced_as_botocore_does(
    monkeypatch: pytest.MonkeyPatch, credentials: ReadOnlyCredentials
) -> None:
    headers = {**JSON_HEADERS, "x-amz-security-token": "the caller's"}
    now = datetime(2026, 12, 2, 10, 30, 45, tzinfo=UTC)
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://e.example.com")
    ours = signer.sign("/", headers, b"{}", credentials, now=now)
    theirs = botocore_headers(
        monkeypatch, url="https://e.example.com/", headers=headers, body=b"{}", credentials=credentials, now=now
    )
    assert {k.lower(): v for k, v in ours.items()} == {k.lower(): v for k, v in theirs.items()}


def test_the_clock_is_read_per_call_and_the_headers_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``now`` the signer reads the clock itself (its date text made once per second); the same headers
    object signed again gives botocore's headers at each instant."""
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://e.example.com")
    for instant in (1_764_671_445.25, 1_764_671_445.75, 1_764_671_446.0, 1_764_719_999.9, 1_764_720_000.1):
        monkeypatch.setattr("bridge.sigv4.time.time", lambda instant=instant: instant)
        ours = signer.sign("/", JSON_HEADERS, b"{}", TEMPORARY)
        theirs = botocore_headers(
            monkeypatch,
            url="https://e.example.com/",
            headers=JSON_HEADERS,
            body=b"{}",
            credentials=TEMPORARY,
            now=datetime.fromtimestamp(int(instant), UTC),
        )
        assert ours == theirs, instant


def test_a_callers_host_header_is_the_one_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {**JSON_HEADERS, "Host": "vpce-123.events.us-east-1.vpce.amazonaws.com"}
    now = datetime(2026, 12, 2, 10, 30, 45, tzinfo=UTC)
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://e.example.com")
    ours = signer.sign("/", headers, b"{}", LONG_TERM, now=now)
    theirs = botocore_headers(
        monkeypatch, url="https://e.example.com/", headers=headers, body=b"{}", credentials=LONG_TERM, now=now
    )
    assert ours == theirs


def test_within_one_second_new_credentials_or_bodies_are_signed_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the signer keeps for a second (the canonical header block, the token, the key) is keyed on the
    credentials too: a rotation in the middle of a second signs with the new ones. Each call gets its own dict."""
    signer = SigV4Signer(service="events", region="us-east-1", endpoint_url="https://e.example.com")
    now = datetime(2026, 12, 2, 10, 30, 45, tzinfo=UTC)
    renewed = ReadOnlyCredentials("ASIAEXAMPLE", "secret/with+chars", "a-renewed-session-token")
    seen = []
    for body, credentials in [(b"{}", TEMPORARY), (b'{"a":1}', TEMPORARY), (b"{}", renewed), (b"{}", LONG_TERM)]:
        ours = signer.sign("/", JSON_HEADERS, body, credentials, now=now)
        theirs = botocore_headers(
            monkeypatch, url="https://e.example.com/", headers=JSON_HEADERS, body=body, credentials=credentials, now=now
        )
        assert ours == theirs, (body, credentials.access_key)
        ours["Authorization"] = "changed by the caller"
        seen.append(ours)
    assert len({id(headers) for headers in seen}) == len(seen)
