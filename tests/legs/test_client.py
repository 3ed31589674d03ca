"""LegsClient against the running simulator over real HTTP: results, Exotel's errors, retry policy."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from legs.client import LegsApiError, LegsClient
from legs.models import CreateBridgeRequest, CreateLegRequest
from simulator.server import Simulator
from tests.support.ports import free_port
from tests.support.simulator import LOCAL_CREDENTIALS, EventRecorder, running_simulator

pytestmark = pytest.mark.component


def _leg(recorder: EventRecorder, number: str = "09163810001", **extra: object) -> dict:
    return {"contact_uri": number, "exophone": "08030752400", "leg_event_endpoint": recorder.endpoint, **extra}


def _fault(sim: Simulator, **body: object) -> None:
    from simulator.requests import FaultRequest

    sim.add_fault(FaultRequest.model_validate(body))


class SleepLog(list):
    """Stands in for time.sleep and remembers each wait (``real=True`` also waits)."""

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


def _answered(client: LegsClient, recorder: EventRecorder, **extra: object) -> str:
    sid = client.create_leg(_leg(recorder, **extra)).leg_sid
    recorder.wait_for(sid, "leg_answered")
    return sid


def test_create_and_get_leg(client: LegsClient, recorder: EventRecorder) -> None:
    created = client.create_leg(CreateLegRequest.model_validate(_leg(recorder, custom_param="c-1")))
    assert len(created.leg_sid) == 32
    assert created.account_sid == "local-account" and created.custom_param == "c-1"
    assert created.created_at and created.created_at.endswith("+0000 UTC")
    leg = client.get_leg(created.leg_sid, fields=["bridge_status", "play_status", "tx_audio_status"])
    assert leg.leg_sid == created.leg_sid and leg.direction == "outbound" and leg.time_limit == 14400
    assert leg.additional_info == {"bridge_status": "not_bridged", "play_status": "idle", "tx_audio_status": "inactive"}


def test_update_hangup_say_and_external_events(client: LegsClient, recorder: EventRecorder, sim: Simulator) -> None:
    sid = _answered(client, recorder)
    assert client.update_leg(sid, {"time_limit": 600})["time_limit"] == 600
    said = client.say(sid, "hello there", loop=2)
    assert said.action_sid and len(said.action_sid) == 32
    started = next(e for e in recorder.wait_for(sid, "say_started") if e.action_sid == said.action_sid)
    assert started.event_data.data == {"text": "hello there", "loop": 2}
    played = client.leg_action(sid, "<Flow><StartPlay>https://x/y.wav</StartPlay></Flow>", action_custom_param="p1")
    assert played.action_sid != said.action_sid
    assert client.hangup(sid).action_sid
    recorder.wait_for(sid, "leg_terminated")
    assert client.get_leg(sid).terminal_status == "completed"
    assert sim.wait_idle(10)
    records = client.external_events(sid)
    assert [r.event_info["event_name"] for r in records] == recorder.names(sid)
    assert all(r.endpoint_response and r.error is None and r.date_created for r in records)
    page = client.external_events_page(sid, event_name="leg_answered")  # docs.exotel.com get-get-events-for-a-leg
    assert (page.sid, page.account_sid, page.event_type) == (sid, "local-account", "leg_lifecycle_event")
    assert [r.event_info["event_name"] for r in page.external_events] == ["leg_answered"]
    with pytest.raises(ValueError, match="unknown leg action"):
        client.leg_shortcut(sid, "explode")


def test_shortcut_rules_are_checked_before_sending(client: LegsClient, recorder: EventRecorder) -> None:
    sid = _answered(client, recorder, number="09163810021")
    with pytest.raises(ValueError, match="loop"):
        client.play(sid, "https://x/a.wav", loop=11)  # developer.exotel.com exoml/actions: max 10
    with pytest.raises(ValueError, match="loop"):
        client.say(sid, "hi", loop=-1)
    with pytest.raises(ValueError, match="direction"):
        client.start_stream(sid, "wss://x/s", direction="both")
    forever = client.say(sid, "please hold", loop=0)  # 0: until stopped (exoml/verbs/say)
    stream = client.start_stream(sid, "wss://x/s", "bidirectional", content_type="audio/x-mulaw;rate=8000")
    client.leg_shortcut(sid, "stop_say")
    names = recorder.wait_for(sid, "say_interrupted")
    interrupted = [e for e in names if e.event_name == "say_interrupted"][-1]
    assert interrupted.action_sid == forever.action_sid  # it never completed on its own
    started = next(e for e in names if e.event_name == "stream_started")
    assert started.action_sid == stream.action_sid and started.event_data.data["direction"] == "bidirectional"
    assert client.play(sid, "https://x/a.wav", loop=10).action_sid
    client.hangup(sid)


def test_bridges(client: LegsClient, recorder: EventRecorder) -> None:
    a = _answered(client, recorder, number="09163810011")
    b = _answered(client, recorder, number="09163810012")
    created = client.create_bridge(CreateBridgeRequest(leg_sids=[a, b], bridge_event_endpoint=recorder.endpoint))
    announced = recorder.wait_for(created.bridge_sid, "bridge_created")[-1]
    assert announced.bridge_resource.state == "active"  # bridge_created means it is up
    recorder.wait_for(b, "leg_joined_bridge")
    bridge = client.get_bridge(created.bridge_sid)
    assert bridge.sid == created.bridge_sid and bridge.state == "active" and bridge.active_legs == [a, b]
    assert client.bridge_action(created.bridge_sid, "<Flow><Say>hi</Say></Flow>").action_sid
    assert client.stop_bridge(created.bridge_sid).bridge_sid == created.bridge_sid
    recorder.wait_for(created.bridge_sid, "bridge_terminated")
    with pytest.raises(ValueError, match="bridge_event_endpoint"):  # Exotel requires it: not sent without
        client.create_bridge({"leg_sids": [a, b]})
    for sid in (a, b):
        client.hangup(sid)


def test_bridge_first_then_join_and_leave(client: LegsClient, recorder: EventRecorder) -> None:
    # docs.exotel.com post-create-a-bridge: 201 {bridge_sid, bridge_type, state: created}; legs join with
    # <JoinBridge> and leave with <LeaveBridge> (bridge-apis-introduction).
    a = _answered(client, recorder, number="09163810031")
    b = _answered(client, recorder, number="09163810032")
    created = client.create_bridge(
        {"bridge_type": "audio", "max_participants": 2, "recording": False, "bridge_event_endpoint": recorder.endpoint}
    )
    assert (created.state, created.bridge_type, created.leg_sids) == ("created", "audio", None)
    assert client.get_bridge(created.bridge_sid).state == "created"
    for sid in (a, b):
        client.leg_action(sid, f'<Flow><JoinBridge bridgeSid="{created.bridge_sid}"/></Flow>')
        recorder.wait_for(sid, "leg_joined_bridge")
    bridge = client.get_bridge(created.bridge_sid)
    assert bridge.state == "active" and bridge.active_legs == [a, b]
    up = recorder.wait_for(created.bridge_sid, "bridge_created")
    assert [e.event_name for e in up] == ["bridge_created"] and up[0].bridge_resource.state == "active"
    assert up[0].bridge_resource.leg_sids == [a]  # the join that made it active
    third = _answered(client, recorder, number="09163810033")
    with pytest.raises(LegsApiError) as full:
        client.leg_action(third, f'<Flow><JoinBridge bridgeSid="{created.bridge_sid}"/></Flow>')
    assert full.value.http_code == 409 and "participants" in full.value.error_data.description
    client.leg_action(a, "<Flow><LeaveBridge/></Flow>")
    recorder.wait_for(a, "leg_left_bridge")
    client.hangup(b)  # a participant ending leaves the bridge; a bridge made first lives on
    recorder.wait_for(b, "leg_left_bridge")
    assert client.get_bridge(created.bridge_sid).state == "active"
    client.stop_bridge(created.bridge_sid)
    ended = recorder.wait_for(created.bridge_sid, "bridge_terminated")
    assert [e.event_name for e in ended] == ["bridge_created", "bridge_terminated"]
    for sid in (a, third):
        client.hangup(sid)


def test_401_with_exotel_error(sim: Simulator) -> None:
    bad = LegsClient(base_url=sim.base_url, account_sid="local-account", api_key="local-key", api_token="nope")
    with pytest.raises(LegsApiError) as info:
        bad.get_leg("x" * 32)
    err = info.value
    assert err.http_code == 401 and err.error_data is not None
    assert err.error_data.message == "Authentication failed" and err.request_id
    assert err.error_data.code == 1010  # an application code, not the HTTP status (references/error-codes)
    assert "HTTP 401" in str(err) and "Authentication failed" in str(err)


def test_404_unknown_leg_bridge_and_account(client: LegsClient, sim: Simulator) -> None:
    for call in (lambda: client.get_leg("nosuchleg"), lambda: client.get_bridge("nosuchbridge")):
        with pytest.raises(LegsApiError) as info:
            call()
        assert info.value.http_code == 404 and info.value.error_data.code == "not_found"
    other = LegsClient(base_url=sim.base_url, **{**LOCAL_CREDENTIALS, "account_sid": "someone-else"})
    with pytest.raises(LegsApiError) as info:
        other.get_leg("x")
    assert info.value.http_code == 404 and "Account not found" in str(info.value)


def test_400_carries_error_data(client: LegsClient, recorder: EventRecorder) -> None:
    with pytest.raises(LegsApiError) as info:
        client.create_leg(_leg(recorder, number="12345", network_type="voip"))
    err = info.value
    assert err.http_code == 400 and err.method == "POST" and err.path == "/legs"
    fields = {p["field"] for p in err.error_data.model_extra["invalid_params"]}
    assert fields == {"contact_uri"}
    assert "contact_uri" in err.error_data.description
    assert not err.retryable


def test_429_retry_after_is_honoured_for_post(client: LegsClient, recorder: EventRecorder, sim: Simulator) -> None:
    client._sleep = sleeps = SleepLog()
    _fault(sim, status=429, count=2, retry_after=1.5, method="POST")
    assert client.create_leg(_leg(recorder)).leg_sid
    assert sleeps == [1.5, 1.5]


def test_429_body_is_read_the_rate_limit_pages_way(client: LegsClient, recorder: EventRecorder) -> None:
    # docs.exotel.com rate-limits: {"request_id", "http_code": 429, "response": {"error": {code, message}}}
    with running_simulator(rate_limit_per_minute=2) as limited:
        eager = LegsClient(base_url=limited.base_url, max_retries=0, **LOCAL_CREDENTIALS)
        sid = eager.create_leg(_leg(recorder)).leg_sid
        eager.get_leg(sid)
        with pytest.raises(LegsApiError) as info:
            eager.get_leg(sid)
    err = info.value
    assert err.http_code == 429 and err.error_data is not None and err.retryable
    assert err.error_data.code == "rate_limit_exceeded" and "retry" in err.error_data.message.lower()
    assert err.request_id and 1 <= err.retry_after <= 60
    assert "[rate_limit_exceeded]" in str(err)


def test_429_with_long_retry_after_is_handed_to_the_caller(client: LegsClient, sim: Simulator) -> None:
    client._sleep = sleeps = SleepLog()
    _fault(sim, status=429, count=1, retry_after=60)
    with pytest.raises(LegsApiError) as info:
        client.get_leg("whatever")
    assert info.value.http_code == 429 and info.value.retry_after == 60 and sleeps == []
    assert "retry after 60s" in str(info.value)


def test_cps_limit_gives_429_and_retry_after(recorder: EventRecorder) -> None:
    with running_simulator(cps_limit=1) as limited:
        eager = LegsClient(base_url=limited.base_url, max_retries=0, **LOCAL_CREDENTIALS)
        assert eager.create_leg(_leg(recorder)).status is None
        refused = None
        for _ in range(5):  # a loaded machine may let the 1 s window roll over between two calls
            try:
                eager.create_leg(_leg(recorder))
            except LegsApiError as err:
                refused = err
                break
        assert refused is not None and refused.http_code == 429 and refused.retry_after == 1.0
        assert refused.error_data.code == "rate_limit_exceeded"
        # high priority is enqueued instead of refused (seed: "status as enqueued")
        created = []
        while len(created) < 5 and not (created and created[-1].status == "enqueued"):
            created.append(eager.create_leg(_leg(recorder, priority="high")))
        assert created[-1].status == "enqueued"
        recorder.wait_for(created[-1].leg_sid, "leg_connecting")  # an enqueued leg starts later
        patient = LegsClient(base_url=limited.base_url, max_retries=3, **LOCAL_CREDENTIALS)
        patient._sleep = sleeps = SleepLog(real=True)
        # the window may or may not have rolled over; either way the call must end in success
        patient.create_leg(_leg(recorder))
        assert all(s == 1.0 for s in sleeps)


def test_5xx_retried_for_get(client: LegsClient, sim: Simulator, recorder: EventRecorder) -> None:
    sid = client.create_leg(_leg(recorder)).leg_sid
    client._sleep = sleeps = SleepLog()
    _fault(sim, status=503, count=2, method="GET")
    assert client.get_leg(sid).leg_sid == sid
    assert len(sleeps) == 2 and all(0 <= s <= client.max_backoff for s in sleeps)


def test_5xx_gives_up_after_max_retries(client: LegsClient, sim: Simulator) -> None:
    client._sleep = sleeps = SleepLog()
    _fault(sim, status=502, count=10, method="GET")
    with pytest.raises(LegsApiError) as info:
        client.get_leg("x")
    assert info.value.http_code == 502 and len(sleeps) == client.max_retries
    sim.clear_faults()


@pytest.mark.parametrize("call", ["create_leg", "hangup"])
def test_5xx_not_retried_for_post(client: LegsClient, sim: Simulator, recorder: EventRecorder, call: str) -> None:
    sid = client.create_leg(_leg(recorder)).leg_sid
    client._sleep = sleeps = SleepLog()
    _fault(sim, status=503, count=1, method="POST")
    with pytest.raises(LegsApiError) as info:
        client.create_leg(_leg(recorder)) if call == "create_leg" else client.hangup(sid)
    assert info.value.http_code == 503 and info.value.retryable and sleeps == []
    assert client.get_leg(sid).leg_sid == sid  # the fault was used up by exactly one request


def test_connection_errors(recorder: EventRecorder) -> None:
    dead = LegsClient(base_url=f"http://127.0.0.1:{free_port()}", timeout=1, **LOCAL_CREDENTIALS)
    dead._sleep = sleeps = SleepLog()
    with pytest.raises(LegsApiError) as info:
        dead.get_leg("x")
    assert info.value.http_code == 0 and len(sleeps) == dead.max_retries
    assert "connection failed" in str(info.value)
    sleeps.clear()
    with pytest.raises(LegsApiError):
        dead.create_leg(_leg(recorder))
    assert sleeps == []


def test_read_timeout_is_a_connection_error(client: LegsClient, sim: Simulator) -> None:
    slow = LegsClient(base_url=sim.base_url, timeout=0.2, max_retries=0, **LOCAL_CREDENTIALS)
    _fault(sim, status=None, count=1, delay=1.0, method="GET")
    with pytest.raises(LegsApiError) as info:
        slow.get_leg("x")
    assert info.value.http_code == 0 and "Timeout" in str(info.value)


class _Canned(BaseHTTPRequestHandler):
    """A front that is not Exotel: an HTML 502 from a load balancer, or a 200 of the wrong shape."""

    replies: list[tuple[int, bytes]] = []

    def _send(self) -> None:
        status, body = self.replies.pop(0) if self.replies else (500, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _send

    def log_message(self, *args: object) -> None:
        pass


def test_non_exotel_replies() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = LegsClient(base_url=f"http://127.0.0.1:{server.server_address[1]}", **LOCAL_CREDENTIALS)
        client._sleep = SleepLog()
        _Canned.replies[:] = [(502, b"<html>Bad Gateway</html>")] * 4
        with pytest.raises(LegsApiError) as info:
            client.get_leg("x")
        assert info.value.http_code == 502 and info.value.error_data is None
        assert "Bad Gateway" in str(info.value) and len(client._sleep) == 3
        _Canned.replies[:] = [(200, b'{"request_id": "r", "response": {"data": {"no_leg_sid": 1}}}')]
        with pytest.raises(LegsApiError, match="unexpected response shape for Leg"):
            client.get_leg("x")
    finally:
        server.shutdown()
        server.server_close()


def test_retry_after_forms() -> None:
    from email.utils import formatdate

    from legs.client import _parse_retry_after

    assert _parse_retry_after("2") == 2.0
    assert _parse_retry_after("0.5") == 0.5
    assert _parse_retry_after(None) is None and _parse_retry_after("soon") is None
    in_a_minute = _parse_retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 50 < in_a_minute <= 60
    assert _parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_default_base_url_is_mumbai() -> None:
    from legs.client import DEFAULT_BASE_URL, MUMBAI_BASE_URL, SINGAPORE_BASE_URL

    assert DEFAULT_BASE_URL == MUMBAI_BASE_URL == "https://cpaas-api.in.exotel.com"
    client = LegsClient(**LOCAL_CREDENTIALS)
    assert client.base_url == MUMBAI_BASE_URL
    assert LegsClient(base_url=SINGAPORE_BASE_URL, **LOCAL_CREDENTIALS).base_url == "https://cpaas-api.exotel.com"


def test_error_body_in_error_or_error_data() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = LegsClient(base_url=f"http://127.0.0.1:{server.server_address[1]}", max_retries=0, **LOCAL_CREDENTIALS)
        _Canned.replies[:] = [
            (429, b'{"request_id": "r1", "http_code": 429, "response": {"error": {"code": "rate_limit_exceeded"}}}'),
            (401, b'{"request_id": "r2", "http_code": 401, "response": {"error_data": {"code": 1010}}}'),
        ]
        codes = []
        for _ in range(2):
            with pytest.raises(LegsApiError) as info:
                client.get_leg("x")
            codes.append((info.value.http_code, info.value.error_data.code, info.value.request_id))
        assert codes == [(429, "rate_limit_exceeded", "r1"), (401, 1010, "r2")]
    finally:
        server.shutdown()
        server.server_close()
