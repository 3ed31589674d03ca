"""The local console's HTTP side on the session devstack: page, JSON API, event stream, scenario runs, queues.

Through real HTTP on the API port, as the browser uses it (the browser itself: test_console_browser.py).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from contract.resources import DEAD_LETTER_QUEUE, FALLBACK_QUEUE
from devstack.banner import EXOPHONE, HUMAN
from tests.e2e.local_api import Api, wait_until

pytestmark = pytest.mark.e2e

TIMEOUT = 60.0


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _json(url: str) -> Any:
    status, _, body = _get(url)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def _post(url: str, content_type: str | None = "application/json") -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def console(devstack: dict[str, Any]) -> str:
    assert devstack["console_url"] == devstack["api_url"] + "/console"
    return devstack["console_url"]


def test_the_page_and_its_files_are_served_and_nothing_else(console: str) -> None:
    request = urllib.request.Request(console)
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code == 308 and redirect.value.headers["Location"] == "/console/"
    status, headers, body = _get(console + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"local console" in body and b"static/console.js" in body
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        status, headers, body = _get(f"{console}/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    for bad in ("/static/nope.js", "/static/..%2F..%2Fapp.py", "/api/nope"):
        status, headers, body = _get(console + bad)
        assert status == 404 and headers["Content-Type"] == "application/problem+json", (bad, body)
        assert json.loads(body)["status"] == 404


def test_the_feed_sees_a_leg_and_the_timeline_records_its_action_events(api: Api, console: str) -> None:
    """A leg placed through the API shows in the console's feed, list and timeline, with its say_* events recorded
    by leg_state (not only seen on the bus) and served by GET /legs/{sid}/events."""
    sid = _leg_that_says(api, console, "hello from the console test")

    def timeline() -> list[dict[str, Any]] | None:
        entries = _json(f"{console}/api/legs/{sid}")["timeline"]
        recorded = [e["event_name"] for e in entries if e["origin"] == "recorded"]
        return entries if {"leg_connecting", "leg_answered", "say_started"} <= set(recorded) else None

    entries = wait_until(timeline, timeout=TIMEOUT, what="say_started and the recorded events in the leg's timeline")
    say = next(e for e in entries if e["event_name"] == "say_started")
    assert say["kind"] == "action" and say["origin"] == "recorded" and say["t"] > 0
    status, api_timeline = api.get(f"/legs/{sid}/events")
    assert status == 200 and "say_started" in [e["event_name"] for e in api_timeline["events"]]
    assert say["detail"]["event_data"]["data"]["text"] == "hello from the console test"
    assert [e["t"] for e in entries] == sorted(e["t"] for e in entries)
    assert entries[0]["event_name"] == "leg_connecting" and entries[0]["origin"] == "recorded"

    events = _json(f"{console}/api/events?limit=2000")["events"]
    mine = [e["event"] for e in events if (e["event"]["detail"].get("data") or {}).get("leg_sid") == sid]
    assert {"leg_answered", "say_started"} <= {e["detail-type"] for e in mine}
    assert all(e["source"] == "exotel.legs" for e in mine)
    legs = {leg["leg_sid"]: leg for leg in _json(f"{console}/api/legs")["legs"]}
    assert legs[sid]["contact_uri"] == HUMAN and legs[sid]["custom_param"] == "console"


def test_the_event_stream_pushes_bus_events_as_they_happen(api: Api, console: str) -> None:
    last = _json(f"{console}/api/info")["feed_last_seq"]
    request = urllib.request.Request(f"{console}/api/stream?after={last}")
    with urllib.request.urlopen(request, timeout=30) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE})
        assert status == 202, created
        deadline = time.monotonic() + TIMEOUT
        event_id, kind, seen = None, None, []
        while time.monotonic() < deadline:
            line = stream.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "bus":
                item = json.loads(line[6:])
                assert item["seq"] == event_id and event_id > last
                seen.append(item["event"]["detail"]["data"].get("leg_sid"))
                if created["leg_sid"] in seen:
                    return
        pytest.fail(f"no event of leg {created['leg_sid']} on the stream; saw {seen}")


def test_a_scenario_button_runs_the_demo_call_and_the_call_is_drawn_as_lanes(console: str) -> None:
    assert _post(f"{console}/api/scenarios/busy_retry", content_type=None)[0] == 415  # not from a form elsewhere
    assert _post(f"{console}/api/scenarios/nope")[0] == 404
    status, started = _post(f"{console}/api/scenarios/busy_retry")
    assert status == 202 and started["run"]["status"] == "running", started
    run_id = started["run"]["id"]

    def finished() -> dict[str, Any] | None:
        run = next(r for r in _json(f"{console}/api/runs")["runs"] if r["id"] == run_id)
        return run if run["status"] != "running" else None

    run = wait_until(finished, timeout=2 * TIMEOUT, what="the busy_retry run to end", interval=0.5)
    assert run["status"] == "passed", run
    assert any("as expected" in line["text"] for line in run["lines"]), run["lines"]
    call = _json(f"{console}/api/calls/{run['plan_id']}")
    assert call["call"]["status"] == "completed"
    assert [lane["label"] for lane in call["lanes"]] == ["customer #1", "customer #2", "agent #1"]
    assert call["lanes"][0]["terminal_status"] == "busy"
    for lane in call["lanes"]:
        assert lane["timeline"] and lane["timeline"][0]["event_name"] == "leg_connecting", lane
    assert run["plan_id"] in {c["plan_id"] for c in _json(f"{console}/api/calls")["calls"]}


def test_queues_are_counted_and_only_dead_letter_queues_are_peeked_without_consuming(
    devstack: dict[str, Any], console: str
) -> None:
    kwargs = {"endpoint_url": devstack["aws_endpoint_url"], "region_name": devstack["aws_region"]}
    sqs = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t").client("sqs", **kwargs)
    dead = f"{devstack['bus_name']}-{DEAD_LETTER_QUEUE.id}"
    fallback = f"{devstack['bus_name']}-{FALLBACK_QUEUE.id}"
    url = sqs.get_queue_url(QueueName=dead)["QueueUrl"]
    marker = f"console-peek-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"reason": "test", "marker": marker}))
    try:
        rows = {row["name"]: row for row in _json(f"{console}/api/queues")["queues"]}
        assert rows[dead]["peekable"] and not rows[fallback]["peekable"], rows
        assert rows[dead]["visible"] >= 1
        for _ in range(2):  # twice: a peek leaves the message where it was
            peeked = _json(f"{console}/api/queues/{dead}/messages")
            assert marker in {m["body"].get("marker") for m in peeked["messages"] if isinstance(m["body"], dict)}
        status, _, body = _get(f"{console}/api/queues/{fallback}/messages")
        assert status == 404 and b"only DLQs" in body  # a function drains it: never peeked
    finally:
        sqs.purge_queue(QueueUrl=url)


def _leg_that_says(api: Api, console: str, text: str, tries: int = 3) -> str:
    """A leg that got a Say while connected: the sid. The simulated callee hangs up after a few real seconds, so
    on a slow machine the Say can come too late (409, leg terminated); then a new leg is placed."""
    for _ in range(tries):
        status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": "console"})
        assert status == 202, created
        sid = created["leg_sid"]
        wait_until(lambda sid=sid: _answered_on_the_feed(console, sid), timeout=TIMEOUT, what=f"{sid} answered")
        status, reply = api.post(f"/legs/{sid}/actions", {"action": "say", "text": text})
        if status in (200, 202):
            return sid
        assert status == 409, reply  # anything but "too late" is a failure
    pytest.fail(f"{tries} legs in a row ended before a Say reached them")


def _answered_on_the_feed(console: str, sid: str) -> bool:
    events = _json(f"{console}/api/events?limit=2000")["events"]
    return any(
        e["event"]["detail-type"] == "leg_answered" and e["event"]["detail"]["data"].get("leg_sid") == sid
        for e in events
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
