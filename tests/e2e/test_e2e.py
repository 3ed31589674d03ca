"""The whole adapter through the local API only, as a user of ``make run`` (or another team) sees it.

One devstack subprocess (free ports, simulator 20x faster) serves every test here; see conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bridge.fallback import fallback_body
from contract.bus import DEFAULT_SOURCE, BusMode
from contract.resources import FALLBACK_QUEUE
from devstack import demo
from devstack.banner import AGENT, BUSY, EXOPHONE, HUMAN, banner
from devstack.config import LOCAL_ACCOUNT_SID, LOCAL_API_KEY, LOCAL_API_TOKEN
from devstack.launcher import DevstackProcess, pid_alive
from devstack.scenarios import ANSWERING_MACHINE, BUSY_RETRY, SCENARIOS, attempts
from devstack.stack import ReadyInfo
from legs.client import LegsClient
from legs.eventbridge import to_put_events_entry
from legs.events import LegEvent
from legs.eventsv2 import to_v2_entry
from tests.e2e.local_api import Api, wait_until

pytestmark = pytest.mark.e2e

LEG_TIMEOUT = 30.0
CALL_TIMEOUT = 60.0
TERMINAL_CALL = {"completed", "failed"}


def _leg(api: Api, leg_sid: str) -> dict[str, Any] | None:
    status, body = api.get(f"/legs/{leg_sid}")
    assert status in (200, 404), f"GET /legs/{leg_sid} -> {status}: {body}"
    return body if status == 200 else None


def _terminal_leg(api: Api, leg_sid: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        leg = _leg(api, leg_sid)
        return leg if leg and leg.get("state") == "terminal" else None

    return wait_until(probe, timeout=LEG_TIMEOUT, what=f"leg {leg_sid} to reach terminal")


def _event_names(api: Api, leg_sid: str) -> list[str]:
    status, body = api.get(f"/legs/{leg_sid}/events")
    assert status == 200, body
    return [event["event_name"] for event in body["events"]]


def _timeline(api: Api, leg_sid: str, until: str, count: int = 1) -> list[str]:
    """The leg's event names once ``until`` is among them and there are at least ``count`` (bounded wait)."""

    def probe() -> list[str] | None:
        names = _event_names(api, leg_sid)
        return names if until in names and len(names) >= count else None

    return wait_until(probe, timeout=LEG_TIMEOUT, what=f"{until} in leg {leg_sid}'s timeline")


def _follow_call(api: Api, plan_id: str) -> tuple[dict[str, Any], list[str]]:
    """Poll GET /calls/{id} until it is final; return the final view and every status seen, in order."""
    seen: list[str] = []

    def probe() -> dict[str, Any] | None:
        status, body = api.get(f"/calls/{plan_id}")
        assert status == 200, f"GET /calls/{plan_id} -> {status}: {body}"
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        return body if body["status"] in TERMINAL_CALL else None

    final = wait_until(probe, timeout=CALL_TIMEOUT, what=f"call {plan_id} to finish", interval=0.05)
    return final, seen


def test_a_leg_rings_answers_and_ends_with_its_full_timeline(api: Api) -> None:
    status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE})
    assert status == 202, created
    leg_sid = created["leg_sid"]

    leg = _terminal_leg(api, leg_sid)
    assert leg["terminal_status"] == "completed"
    assert leg["answered_by"] == "HUMAN"
    assert leg["contact_uri"] == HUMAN

    # leg_terminated may be recorded before a straggler: wait for the whole timeline, then check its order
    expected = ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
    assert _timeline(api, leg_sid, "leg_terminated", len(expected)) == expected


def test_bad_input_gets_a_clear_4xx_through_the_local_api(api: Api) -> None:
    status, body = api.post("/legs", {"contact_uri": "12345", "exophone": EXOPHONE})
    assert 400 <= status < 500, body
    assert "contact_uri" in json.dumps(body)
    status, body = api.get("/legs/no-such-leg")
    assert status == 404, body


def test_a_two_party_call_is_bridged_then_completed(api: Api) -> None:
    status, created = api.post("/calls", {"customer": HUMAN, "agent": AGENT, "exophone": EXOPHONE})
    assert status == 202, created
    final, seen = _follow_call(api, created["plan_id"])

    assert final["status"] == "completed", final
    assert "bridged" in seen and seen.index("bridged") < seen.index("completed"), seen
    assert final["bridge_sid"]
    roles = {leg["role"]: leg for leg in final["legs"]}
    assert set(roles) == {"customer", "agent"}
    for leg in roles.values():
        assert leg["leg_sid"], leg
        names = _timeline(api, leg["leg_sid"], "leg_terminated")
        assert "leg_answered" in names and "leg_joined_bridge" in names, names
        assert names.index("leg_answered") < names.index("leg_joined_bridge") < names.index("leg_terminated")


def test_a_busy_customer_is_dialled_again_and_the_retry_connects(api: Api) -> None:
    status, created = api.post(
        "/calls",
        {
            "customer": BUSY,
            "customer_fallbacks": [HUMAN],
            "agent": AGENT,
            "exophone": EXOPHONE,
            "retry": {"max_attempts": 2, "delay_seconds": 1},
        },
    )
    assert status == 202, created
    final, seen = _follow_call(api, created["plan_id"])

    customer = sorted((leg for leg in final["legs"] if leg["role"] == "customer"), key=lambda leg: leg["attempt"])
    assert [leg["attempt"] for leg in customer] == [1, 2], final["legs"]
    assert customer[0]["number"] == BUSY and customer[0]["terminal_status"] == "busy", customer[0]
    assert customer[1]["number"] == HUMAN
    assert customer[0]["leg_sid"] != customer[1]["leg_sid"]
    assert _terminal_leg(api, customer[0]["leg_sid"])["terminal_status"] == "busy"
    assert final["status"] == "completed", (final, seen)
    assert "bridged" in seen, seen


ANSWERED_BY_HUMAN = {
    "source": ["exotel.legs"],
    "detail-type": ["leg_answered"],
    "detail": {"data": {"answered_by": ["HUMAN"]}},
}


def _team_clients(devstack: dict[str, Any]) -> tuple[Any, Any]:
    """Another team's boto3 clients: the classic bus's ``events`` (or, in ordered mode, ``eventbridgev2``) and SQS."""
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    kwargs = {"endpoint_url": devstack["aws_endpoint_url"], "region_name": devstack["aws_region"], "config": config}
    session = boto3.session.Session(aws_access_key_id="team", aws_secret_access_key="team")
    if devstack["bus_mode"] == BusMode.ORDERED:
        bus = session.client("eventbridgev2", **{**kwargs, "endpoint_url": devstack["eventsv2_url"]})
    else:
        bus = session.client("events", **kwargs)
    return bus, session.client("sqs", **kwargs)


@contextlib.contextmanager
def team_subscription(
    devstack: dict[str, Any], pattern: dict[str, Any], **subscriber: Any
) -> Iterator[tuple[Any, str]]:
    """Another team's subscription with boto3 only: a rule on the classic bus targeting their SQS queue, or in
    ordered mode a FIFO subscriber on the EventsV2 bus targeting their FIFO queue."""
    bus, sqs = _team_clients(devstack)
    name = f"team-x-{uuid.uuid4().hex[:8]}"
    if devstack["bus_mode"] != BusMode.ORDERED:
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus.put_rule(Name=name, EventBusName=devstack["bus_name"], EventPattern=json.dumps(pattern))
        bus.put_targets(Rule=name, EventBusName=devstack["bus_name"], Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield sqs, queue_url
        bus.remove_targets(Rule=name, EventBusName=devstack["bus_name"], Ids=["queue"])
        bus.delete_rule(Name=name, EventBusName=devstack["bus_name"])
        sqs.delete_queue(QueueUrl=queue_url)
        return
    queue_url = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created = bus.create_subscriber(
        Name=name,
        EventBusArn=devstack["bus_arn"],
        Type="FIFO",
        InvokeConfiguration={"RoleArn": "arn:aws:iam::123456789012:role/team-x", "TargetArn": queue_arn},
        FilterConfiguration={"Filters": [{"Pattern": json.dumps(pattern), "Scope": "DATA"}]},
        **subscriber,
    )
    yield sqs, queue_url
    bus.delete_subscriber(SubscriberArn=created["SubscriberArn"])
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture
def subscriber_queue(devstack: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    """Another team's subscription to human answers (a rule, or in ordered mode a FIFO subscriber)."""
    with team_subscription(devstack, ANSWERED_BY_HUMAN) as subscription:
        yield subscription


def test_another_teams_rule_receives_leg_answered(api: Api, subscriber_queue: tuple[Any, str]) -> None:
    sqs, queue_url = subscriber_queue
    status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": "team-x"})
    assert status == 202, created
    leg_sid = created["leg_sid"]
    received: list[dict[str, Any]] = []

    def probe() -> dict[str, Any] | None:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            received.append(json.loads(message["Body"]))
        return next((e for e in received if e["detail"]["data"]["leg_sid"] == leg_sid), None)

    event = wait_until(probe, timeout=LEG_TIMEOUT, what="leg_answered on the subscriber's queue", interval=0)
    assert event["detail-type"] == "leg_answered"
    assert event["source"] == "exotel.legs"
    assert event["detail"]["event_name"] == "leg_answered"
    assert event["detail"]["data"]["answered_by"] == "HUMAN"
    assert event["detail"]["data"]["custom_param"] == "team-x"
    assert event["detail"]["bridge"]["schema_version"]
    assert {e["detail-type"] for e in received} == {"leg_answered"}  # the rule's pattern filtered the rest


def test_the_banners_ready_to_paste_commands_work(devstack: dict[str, Any], api: Api) -> None:
    """The JSON bodies the banner tells a human to curl are accepted as they are; its busy-retry call connects."""
    text = banner(ReadyInfo.model_validate(devstack), 0.05)
    posts = re.findall(r"curl -s -X POST (\S+) -H 'Content-Type: application/json' -d '(\{.*?\})'", text)
    assert {url.rsplit("/", 1)[-1] for url, _ in posts} == {"legs", "calls"}, text
    retried = []
    for url, body in posts:
        assert url.startswith(devstack["api_url"])
        status, reply = api.post(url.removeprefix(devstack["api_url"]), json.loads(body))
        assert status == 202, (url, reply)
        if "retry" in json.loads(body):
            retried.append(reply["plan_id"])
    assert len(retried) == 1, text
    final, seen = _follow_call(api, retried[0])
    customer = attempts(final, "customer")
    assert [leg["terminal_status"] for leg in customer[:1]] == ["busy"], final
    assert len(customer) == 2 and customer[1]["number"] != customer[0]["number"], final
    assert final["status"] == "completed" and "bridged" in seen, (final, seen)


def test_the_demo_scenarios_end_as_they_promise(devstack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """``make demo`` against a running devstack: every call checked, the busy one connected on its re-dial."""
    plans = demo.run(devstack["api_url"])
    out = capsys.readouterr().out
    assert set(plans) == set(SCENARIOS) and "All 3 calls ended as expected" in out, out
    busy = plans[BUSY_RETRY.key]
    assert busy["status"] == "completed" and busy["bridge_sid"], busy
    first, second = attempts(busy, "customer")
    assert (first["number"], first["terminal_status"]) == (BUSY, "busy"), busy
    assert second["answered_by"] == "HUMAN", busy
    assert plans[ANSWERING_MACHINE.key]["outcome"] == "machine"
    assert "leg_terminated" in out and "terminal / busy" in out  # the timeline tables were printed


def process_state(pid: int) -> str:
    """What a process is doing, for a failure message: its state, where the kernel has it wait, its threads."""
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        wchan = (proc / "wchan").read_text()
        threads = len(list((proc / "task").iterdir()))
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError as exc:
        return f"gone ({exc})"
    return f"{command!r} state {state}, waiting in {wchan or '-'}, {threads} thread(s)"


def test_a_killed_devstack_leaves_no_process_behind(tmp_path: Path) -> None:
    """Even SIGKILL (no chance to clean up): the simulator and the bridge die with it."""
    stack = DevstackProcess(
        tmp_path, {name: "0" for name in ("AWS_EMULATOR_PORT", "SIM_PORT", "BRIDGE_PORT", "API_PORT")}
    )
    info = stack.start()
    children: dict[str, int] = info["child_pids"]
    try:
        assert all(pid_alive(pid) for pid in children.values())
        assert stack.proc is not None
        stack.proc.send_signal(signal.SIGKILL)
        stack.proc.wait(10)
        # Usually well under a second; the bound is the bridge's SIGTERM drain budget (BRIDGE_SHUTDOWN_GRACE_S,
        # 20 s) plus margin, since PDEATHSIG delivers a SIGTERM (a loaded CI machine took over 30 s once, and
        # over 60 s once on 2026-12-03: the failure now says which child was still there and where it waited).
        deadline = time.monotonic() + 60
        while any(pid_alive(pid) for pid in children.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {name: process_state(pid) for name, pid in children.items() if pid_alive(pid)}
        assert not left, f"children of a killed devstack still running after 60 s: {left}\n{stack.tail()}"
    finally:
        stack.stop()
        for pid in info["child_pids"].values():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_an_event_the_bridge_spilled_reaches_subscribers_through_redrive(
    devstack: dict[str, Any], subscriber_queue: tuple[Any, str]
) -> None:
    """The fallback queue -> redrive wiring: a spilled entry (as the bridge writes it) ends up on the bus."""
    sqs, queue_url = subscriber_queue
    leg_sid = f"spilled-{uuid.uuid4().hex[:12]}"
    event = LegEvent.model_validate(
        {
            "event_sid": f"ev-{leg_sid}",
            "event_type": "leg_lifecycle_event",
            "event_name": "leg_answered",
            "event_timestamp": {"seconds": 1_790_000_000, "nanos": 5},
            "data": {"leg_sid": leg_sid, "state": "connected", "answered_by": "HUMAN"},
        }
    )
    fallback_url = sqs.get_queue_url(QueueName=f"{devstack['bus_name']}-{FALLBACK_QUEUE.id}")["QueueUrl"]
    if devstack["bus_mode"] == BusMode.ORDERED:  # what an ordered-mode bridge spills: the EventsV2 entry
        entry = to_v2_entry(event, bus_arn=devstack["bus_arn"], source=DEFAULT_SOURCE)
    else:
        entry = to_put_events_entry(event)
    sqs.send_message(QueueUrl=fallback_url, MessageBody=fallback_body(entry))

    def probe() -> dict[str, Any] | None:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies = [json.loads(m["Body"]) for m in reply.get("Messages", [])]
        return next((b for b in bodies if b["detail"]["data"]["leg_sid"] == leg_sid), None)

    delivered = wait_until(probe, timeout=LEG_TIMEOUT, what="the redriven event on the subscriber's queue", interval=0)
    assert delivered["detail"]["event_timestamp"] == event.event_timestamp.rfc3339()


def test_another_team_replays_a_legs_events_in_order_from_a_point_in_time(devstack: dict[str, Any], api: Api) -> None:
    """Ordered mode only: a FIFO subscriber created after the leg ended, starting from a point in time before it,
    gets the leg's whole timeline, in order, once (the bus keeps events; docs/DEPLOY.md "Replay")."""
    if devstack["bus_mode"] != BusMode.ORDERED:
        pytest.skip("replay from a point in time is the ordered mode's (EventsV2 storage)")
    started = datetime.now(UTC) - timedelta(seconds=1)
    status, created = api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE})
    assert status == 202, created
    leg_sid = created["leg_sid"]
    expected = ["leg_connecting", "leg_ringing", "leg_answered", "leg_terminated"]
    _terminal_leg(api, leg_sid)
    assert _timeline(api, leg_sid, "leg_terminated", len(expected)) == expected  # over, before anyone subscribed

    point = {"PointType": "TIMESTAMP", "StartingPoint": started}
    replay = {"source": ["exotel.legs"], "detail": {"data": {"leg_sid": [leg_sid]}}}
    with team_subscription(devstack, replay, StartingPosition="POINT_IN_TIME", PointInTimeConfiguration=point) as (
        sqs,
        queue_url,
    ):
        received: list[dict[str, Any]] = []

        def probe() -> list[dict[str, Any]] | None:
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in reply.get("Messages", []):
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return received if len(received) >= len(expected) else None

        wait_until(probe, timeout=LEG_TIMEOUT, what="the replayed timeline", interval=0)
        time.sleep(0.5)
        probe()  # a duplicate would show up now
    assert [event["detail-type"] for event in received] == expected


def test_the_apology_is_heard_to_its_end_before_the_hangup_though_say_does_not_block(
    api: Api, devstack: dict[str, Any]
) -> None:
    """The devstack's simulator runs with ``SIM_SAY_BLOCKS=false``: the apology is a ``start_say`` and the hangup
    waits for its ``say_completed`` (a ``<Say>…</Say><Hangup/>`` flow would cut it: say_started, then the end)."""
    status, created = api.post(
        "/calls",
        {
            "customer": HUMAN,
            "agent": BUSY,
            "exophone": EXOPHONE,
            "retry": {"max_attempts": 1, "delay_seconds": 0},
            "unavailable_message": "Sorry, nobody can take your call. We will call you back.",
        },
    )
    assert status == 202, created
    final, _ = _follow_call(api, created["plan_id"])
    assert (final["status"], final["outcome"]) == ("failed", "busy"), final
    customer = next(leg for leg in final["legs"] if leg["role"] == "customer")
    _terminal_leg(api, customer["leg_sid"])
    sim = LegsClient(
        base_url=devstack["sim_url"],
        account_sid=LOCAL_ACCOUNT_SID,
        api_key=LOCAL_API_KEY,
        api_token=LOCAL_API_TOKEN,
        max_retries=0,
    )

    def pushed() -> list[str] | None:
        records = sorted(sim.external_events(customer["leg_sid"]), key=lambda r: r.date_created or "")
        names = [str(r.event_info.get("event_name")) for r in records]
        return names if "leg_terminated" in names else None

    names = wait_until(pushed, timeout=LEG_TIMEOUT, what="the customer leg's events in the simulator")
    said = [n for n in names if n.startswith("say_")]
    assert said == ["say_started", "say_completed"], names
    assert names.index("say_completed") < names.index("leg_terminated"), names
