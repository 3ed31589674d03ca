"""The Legs & Bridges REST client: typed results, Exotel's errors, retries that are safe.

Exotel's clusters: Mumbai ``https://cpaas-api.in.exotel.com`` (:data:`DEFAULT_BASE_URL`, what Exotel's
pages use) and Singapore ``https://cpaas-api.exotel.com``; the deployment picks one by setting.

Small on purpose: it runs inside Lambda, so it uses urllib3 (which ships with botocore) and the
models of :mod:`legs.models`, nothing else. One connection pool per client; reuse the client.

Retry policy (why: Exotel throttles per account, and a repeated POST can place a second call):
- 429: the request was not processed, so it is retried for any method, after ``Retry-After`` when
  the reply carries it (else backoff with full jitter). A ``Retry-After`` longer than
  ``max_backoff`` is not slept on: the error is raised with ``retry_after`` set so the caller can
  reschedule (a Lambda should not sleep for a minute).
- 5xx and connection errors: retried only for idempotent calls (GET, PUT). POST (create leg,
  actions, hangup, bridges) is never retried on them: the first attempt may have been processed
  (the executor repeats a hangup itself: ``lambdas.executor.ENDING_RETRY_PAUSES``).
"""

from __future__ import annotations

import json
import random
import time
from typing import TypeVar
from urllib.parse import quote, urlencode

import urllib3
from pydantic import BaseModel, ValidationError

from legs.errors import LegsApiError
from legs.json_types import JsonObject, JsonValue
from legs.models import (
    SHORTCUTS,
    ActionAccepted,
    Bridge,
    BridgeCreated,
    BridgeStopped,
    CreateBridgeRequest,
    CreateLegRequest,
    ErrorData,
    ExternalEvent,
    ExternalEvents,
    Leg,
    LegCreated,
    StartPlay,
    StartSay,
    StartStream,
)

#: Exotel's clusters (developer.exotel.com exoml/overview).
MUMBAI_BASE_URL = "https://cpaas-api.in.exotel.com"
SINGAPORE_BASE_URL = "https://cpaas-api.exotel.com"
DEFAULT_BASE_URL = MUMBAI_BASE_URL

_Model = TypeVar("_Model", bound=BaseModel)

LEG_SHORTCUTS = frozenset(SHORTCUTS)
_IDEMPOTENT = frozenset({"GET", "PUT", "HEAD", "DELETE"})


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors(include_url=False)
    )


class LegsClient:
    """Exotel Legs & Bridges API at ``{base_url}/v2/accounts/{account_sid}/``."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        account_sid: str,
        api_key: str,
        api_token: str,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._prefix = f"/v2/accounts/{quote(account_sid, safe='')}"
        self._timeout = urllib3.Timeout(total=timeout)
        self._headers = {
            **urllib3.util.make_headers(basic_auth=f"{api_key}:{api_token}", keep_alive=True),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "exotel-legs-eventbridge/0.1",
        }
        # Our own retry loop decides what is safe to repeat; urllib3 must not retry behind it.
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=10, retries=False, timeout=self._timeout)
        self._sleep = time.sleep  # replaceable in unit tests

    # ---- legs ---------------------------------------------------------------------------
    def create_leg(self, request: CreateLegRequest | JsonObject) -> LegCreated:
        """Place a leg. A dict is sent as given (Exotel validates it); a model is sent without Nones."""
        body = request.model_dump(mode="json", exclude_none=True) if isinstance(request, BaseModel) else request
        return self._typed(LegCreated, self._call("POST", "/legs", body=body))

    def get_leg(self, leg_sid: str, fields: list[str] | None = None) -> Leg:
        query = {"fields": ",".join(fields)} if fields else None
        return self._typed(Leg, self._call("GET", f"/legs/{self._seg(leg_sid)}", query=query))

    def update_leg(self, leg_sid: str, body: JsonObject) -> JsonValue:
        return self._call("PUT", f"/legs/{self._seg(leg_sid)}", body=body) or {}

    def leg_action(self, leg_sid: str, exoml: str, action_custom_param: str | None = None) -> ActionAccepted:
        body: JsonObject = {"exoml": exoml}
        if action_custom_param is not None:
            body["action_custom_param"] = action_custom_param
        return self._typed(ActionAccepted, self._call("POST", f"/legs/{self._seg(leg_sid)}/actions", body=body) or {})

    def leg_shortcut(self, leg_sid: str, name: str, body: JsonObject | None = None) -> ActionAccepted:
        """``POST /legs/{sid}/actions/{name}``; the body is checked against the shortcut's rules first
        (``ValueError`` naming the field: a request Exotel would refuse is not sent)."""
        model = SHORTCUTS.get(name)
        if model is None:
            raise ValueError(f"unknown leg action {name!r}; expected one of {sorted(LEG_SHORTCUTS)}")
        try:
            checked = model.model_validate(body or {}).model_dump(mode="json", exclude_none=True)
        except ValidationError as exc:
            raise ValueError(f"{name}: {_problems(exc)}") from None
        path = f"/legs/{self._seg(leg_sid)}/actions/{name}"
        return self._typed(ActionAccepted, self._call("POST", path, body=checked) or {})

    def hangup(self, leg_sid: str) -> ActionAccepted:
        return self.leg_shortcut(leg_sid, "hangup")

    def say(self, leg_sid: str, text: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted:
        """``start_say {text, loop}`` (``<StartSay>``): loop 0 repeats until ``stop_say``; ``say_completed`` follows."""
        body = StartSay(text=text, loop=loop, action_custom_param=action_custom_param)
        return self.leg_shortcut(leg_sid, "start_say", body.model_dump(exclude_none=True))

    def play(self, leg_sid: str, url: str, loop: int = 1, action_custom_param: str | None = None) -> ActionAccepted:
        """``start_play {url, loop}`` (``<StartPlay>``): at most 10 loops; 0 repeats until ``stop_play``."""
        body = StartPlay(url=url, loop=loop, action_custom_param=action_custom_param)
        return self.leg_shortcut(leg_sid, "start_play", body.model_dump(exclude_none=True))

    def start_stream(self, leg_sid: str, url: str, direction: str, content_type: str | None = None) -> ActionAccepted:
        """``start_stream {direction, url, content_type}``: direction ``unidirectional`` or ``bidirectional``."""
        body = StartStream.model_validate({"url": url, "direction": direction, "content_type": content_type})
        return self.leg_shortcut(leg_sid, "start_stream", body.model_dump(exclude_none=True))

    def external_events(self, leg_sid: str, event_name: str | None = None) -> list[ExternalEvent]:
        """The leg's delivery records (``external_events`` of Exotel's envelope; a bare list is read too)."""
        return self.external_events_page(leg_sid, event_name).external_events

    def external_events_page(self, leg_sid: str, event_name: str | None = None) -> ExternalEvents:
        """``{sid, event_type, account_sid, external_events}`` as Exotel answers it."""
        query = {"event_name": event_name} if event_name else None
        data = self._call("GET", f"/legs/{self._seg(leg_sid)}/external-events", query=query)
        if isinstance(data, list):  # an older shape: the records alone
            data = {"sid": leg_sid, "external_events": data}
        return self._typed(ExternalEvents, data or {})

    # ---- bridges ------------------------------------------------------------------------
    def create_bridge(self, request: CreateBridgeRequest | JsonObject) -> BridgeCreated:
        """Either documented model: ``leg_sids`` now, or ``bridge_type``/``max_participants``/``recording`` and
        ``<JoinBridge>`` later. ``bridge_event_endpoint`` is required (``ValueError`` before sending without it)."""
        if not isinstance(request, CreateBridgeRequest):
            try:
                request = CreateBridgeRequest.model_validate(request)
            except ValidationError as exc:
                raise ValueError(f"create bridge: {_problems(exc)}") from None
        body = request.model_dump(mode="json", exclude_none=True)
        return self._typed(BridgeCreated, self._call("POST", "/bridges", body=body))

    def get_bridge(self, bridge_sid: str) -> Bridge:
        return self._typed(Bridge, self._call("GET", f"/bridges/{self._seg(bridge_sid)}"))

    def stop_bridge(self, bridge_sid: str) -> BridgeStopped:
        """``PUT /bridges/{sid} {"action": "stop"}``; the outcome comes as an event.

        ``bridge_terminated`` (or ``bridge_failed_to_stop``): the reply only says the request was taken.
        """
        data = self._call("PUT", f"/bridges/{self._seg(bridge_sid)}", body={"action": "stop"})
        return self._typed(BridgeStopped, data if isinstance(data, dict) else {})

    def bridge_action(self, bridge_sid: str, exoml: str, action_custom_param: str | None = None) -> ActionAccepted:
        body: JsonObject = {"exoml": exoml}
        if action_custom_param is not None:
            body["action_custom_param"] = action_custom_param
        path = f"/bridges/{self._seg(bridge_sid)}/actions"
        return self._typed(ActionAccepted, self._call("POST", path, body=body) or {})

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> LegsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing -----------------------------------------------------------------------
    @staticmethod
    def _seg(value: str) -> str:
        if not value:
            raise ValueError("sid must not be empty")
        return quote(value, safe="")

    def _typed(self, model: type[_Model], data: JsonValue) -> _Model:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise LegsApiError(
                http_code=200, method="?", path="?", detail=f"unexpected response shape for {model.__name__}: {exc}"
            ) from exc

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_backoff, self.backoff_base * (2**attempt)))

    def _call(
        self, method: str, path: str, *, body: JsonObject | None = None, query: dict[str, str] | None = None
    ) -> JsonValue:
        url = f"{self.base_url}{self._prefix}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        payload = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            try:
                return self._once(method, path, url, payload)
            except LegsApiError as err:
                wait = self._retry_wait(method, err, attempt)
                if wait is None:
                    raise
                attempt += 1
                self._sleep(wait)

    def _retry_wait(self, method: str, err: LegsApiError, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None when the error is final."""
        if attempt >= self.max_retries:
            return None
        if err.http_code == 429:
            if err.retry_after is not None:
                return err.retry_after if err.retry_after <= self.max_backoff else None
            return self._backoff(attempt)
        if (err.http_code == 0 or err.http_code >= 500) and method in _IDEMPOTENT:
            return self._backoff(attempt)
        return None

    def _once(self, method: str, path: str, url: str, payload: bytes | None) -> JsonValue:
        try:
            resp = self._pool.request(method, url, body=payload, headers=self._headers, timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:  # connect/read time-outs, refused, protocol errors
            raise LegsApiError(http_code=0, method=method, path=path, detail=f"{type(exc).__name__}: {exc}") from exc
        envelope: JsonObject | None = None
        try:
            parsed = json.loads(resp.data.decode("utf-8")) if resp.data else None
            envelope = parsed if isinstance(parsed, dict) else None
        except (UnicodeDecodeError, ValueError):
            envelope = None
        response = (envelope or {}).get("response") or {}
        request_id = (envelope or {}).get("request_id")
        if 200 <= resp.status < 300:
            return response.get("data") if envelope is not None and isinstance(response, dict) else None
        error_data = None
        raw_error = None
        if isinstance(response, dict):  # error_data, or error as the rate-limit page shows a 429
            raw_error = response.get("error_data") or response.get("error")
        if isinstance(raw_error, dict):
            try:
                error_data = ErrorData.model_validate(raw_error)
            except ValidationError:
                error_data = None
        retry_after = _parse_retry_after(resp.headers.get("Retry-After")) if resp.status == 429 else None
        detail = None if error_data else (resp.data[:200].decode("utf-8", "replace") or resp.reason)
        raise LegsApiError(
            http_code=resp.status,
            method=method,
            path=path,
            error_data=error_data,
            request_id=None if request_id is None else str(request_id),
            retry_after=retry_after,
            detail=detail,
        )
