"""A deployment with its own event source: the bridge publishes with it, the rules match it, the reactors act.

The rules once matched the default source whatever the bridge published: every reactor then sat
idle. This devstack runs with ``EVENT_SOURCE=acme.telephony.exotel`` (its own, next to the session's
default one) and checks all three links: the rules on the bus, the events on the bus, and what the
reactors did as the local API shows it (``leg_state`` recorded the leg, ``connect`` bridged a call).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contract.bus import DEFAULT_SOURCE
from contract.catalogue import EventName
from contract.env import Env, SimulatorEnv
from devstack.banner import AGENT, EXOPHONE, HUMAN
from tests.e2e.conftest import E2E_ENV, running_devstack
from tests.e2e.local_api import Api, wait_until

pytestmark = pytest.mark.e2e

SOURCE = "acme.telephony.exotel"
#: The session devstack's settings, with this source, and a customer who talks 10 s (200 simulated s x 0.05):
#: ample time for the agent leg to be dialled and answered on a loaded machine, so the call is bridged.
ACME_ENV = {**E2E_ENV, Env.EVENT_SOURCE: SOURCE, SimulatorEnv.TALK_SECONDS: "200"}
TIMEOUT = 30.0
CALL_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    assert SOURCE != DEFAULT_SOURCE
    with running_devstack(tmp_path_factory.mktemp("devstack-acme"), ACME_ENV) as info:
        yield info


@pytest.fixture(scope="module")
def acme_api(acme: dict[str, Any]) -> Api:
    return Api(acme["api_url"])


def _clients(info: dict[str, Any]) -> tuple[Any, Any]:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t")
    kwargs = {"endpoint_url": info["aws_endpoint_url"], "region_name": info["aws_region"]}
    return session.client("events", **kwargs), session.client("sqs", **kwargs)


@pytest.fixture
def everything_from_acme(acme: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    """A rule of our own on the bus, for every event from ``SOURCE``, into a queue: what the bridge published."""
    events, sqs = _clients(acme)
    name = f"acme-all-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=acme["bus_name"], EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule=name, EventBusName=acme["bus_name"], Targets=[{"Id": "queue", "Arn": queue_arn}])
    yield sqs, queue_url
    events.remove_targets(Rule=name, EventBusName=acme["bus_name"], Ids=["queue"])
    events.delete_rule(Name=name, EventBusName=acme["bus_name"])
    sqs.delete_queue(QueueUrl=queue_url)


def test_every_reactor_rule_matches_the_configured_source(acme: dict[str, Any]) -> None:
    events, _ = _clients(acme)
    rules = events.list_rules(EventBusName=acme["bus_name"])["Rules"]
    assert rules, "no rules on the devstack's bus"
    assert {rule["Name"]: json.loads(rule["EventPattern"])["source"] for rule in rules} == {
        rule["Name"]: [SOURCE] for rule in rules
    }


def test_a_leg_is_published_with_the_source_and_recorded_by_leg_state(
    acme_api: Api, everything_from_acme: tuple[Any, str]
) -> None:
    sqs, queue_url = everything_from_acme
    status, created = acme_api.post("/legs", {"contact_uri": HUMAN, "exophone": EXOPHONE})
    assert status == 202, created
    leg_sid = created["leg_sid"]

    def recorded() -> dict[str, Any] | None:
        status, leg = acme_api.get(f"/legs/{leg_sid}")
        assert status in (200, 404), (status, leg)
        return leg if status == 200 and leg.get("state") == "terminal" else None

    leg = wait_until(recorded, timeout=TIMEOUT, what=f"leg_state to record leg {leg_sid} as terminal")
    assert leg["terminal_status"] == "completed" and leg["answered_by"] == "HUMAN", leg

    published: list[dict[str, Any]] = []

    def answered_on_the_bus() -> dict[str, Any] | None:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        published.extend(json.loads(message["Body"]) for message in reply.get("Messages", []))
        mine = [e for e in published if e.get("detail", {}).get("data", {}).get("leg_sid") == leg_sid]
        return next((e for e in mine if e["detail-type"] == EventName.LEG_ANSWERED), None)

    event = wait_until(answered_on_the_bus, timeout=TIMEOUT, what="leg_answered from SOURCE on the bus", interval=0)
    assert event["source"] == SOURCE


def test_a_two_party_call_is_bridged_by_connect(acme_api: Api) -> None:
    status, created = acme_api.post("/calls", {"customer": HUMAN, "agent": AGENT, "exophone": EXOPHONE})
    assert status == 202, created
    plan_id = created["plan_id"]
    seen: list[str] = []

    def finished() -> dict[str, Any] | None:
        status, call = acme_api.get(f"/calls/{plan_id}")
        assert status == 200, (status, call)
        if not seen or seen[-1] != call["status"]:
            seen.append(call["status"])
        return call if call["status"] in {"completed", "failed"} else None

    final = wait_until(finished, timeout=CALL_TIMEOUT, what=f"call {plan_id} to finish", interval=0.05)
    assert final["status"] == "completed", (final, seen)
    assert "bridged" in seen, seen
    assert final["bridge_sid"]
