"""``bus_mode=ordered``: the EventsV2 bus, a subscriber per routed function (FIFO where order matters) into the
function's queue, the bridge and redrive wired to the bus; cdk-nag and cfn-lint clean. Synthesized once, in process,
with every optional feature on (tests/infra/conftest.py FULL_CONTEXT) and a non-default event source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lambdas.routing import routes
from tests.infra.conftest import FULL_CONTEXT, Assembly, FullSynth
from tests.infra.test_synthesis import _violations

pytestmark = pytest.mark.infra

SOURCE = FULL_CONTEXT["event_source"]


@pytest.fixture(scope="session")
def ordered(tmp_path_factory: pytest.TempPathFactory, full: FullSynth) -> Assembly:
    from infra.app_builder import build_app, new_app

    outdir = tmp_path_factory.mktemp("cdk") / "ordered"
    app = new_app(outdir=str(outdir), context={**FULL_CONTEXT, "bus_mode": "ordered", "ordered_retention_days": 14})
    build_app(app)
    app.synth()  # raises on an unacknowledged cdk-nag finding
    return Assembly.load(outdir)


def _one(assembly: Assembly, stack: str, type_name: str) -> dict[str, Any]:
    [resource] = assembly.resources(stack, type_name).values()
    return resource


def _logical_id(ref: Any) -> str:
    """The logical id a ``Fn::GetAtt`` / ``Ref`` points at ("" for another stack's export)."""
    if "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    return str(ref.get("Ref", ""))


def test_the_stateful_stack_holds_the_v2_bus_with_its_retention(ordered: Assembly) -> None:
    bus = _one(ordered, "ExotelLegsData", "AWS::EventsV2::EventBus")
    assert bus["Properties"]["Name"] == "exotel-legs"
    assert bus["Properties"]["StorageConfiguration"] == {"RetentionPeriodInDays": 14}
    assert bus["DeletionPolicy"] == "Retain"
    outputs = ordered.templates["ExotelLegsData"]["Outputs"]
    assert outputs["OrderedBusArn"]["Export"]["Name"] == "ExotelLegs-OrderedBusArn"


def test_each_routed_function_has_a_subscriber_with_its_pattern_and_no_rule(ordered: Assembly) -> None:
    template = ordered.templates["ExotelLegsFunctions"]
    resources = template["Resources"]
    rules = ordered.resources("ExotelLegsFunctions", "AWS::Events::Rule").values()
    assert [r for r in rules if "EventPattern" in r["Properties"]] == []  # only the sweeper's schedule is a rule
    assert all("ScheduleExpression" in r["Properties"] for r in rules)
    subscribers = ordered.resources("ExotelLegsFunctions", "AWS::EventsV2::Subscriber")
    by_name = {s["Properties"]["Name"].removeprefix("exotel-legs-"): s["Properties"] for s in subscribers.values()}
    expected = {route.function: route for route in routes(SOURCE)}
    assert set(by_name) == set(expected)
    mappings = ordered.resources("ExotelLegsFunctions", "AWS::Lambda::EventSourceMapping").values()
    for name, props in by_name.items():
        route = expected[name]
        [filter_] = props["FilterConfiguration"]["Filters"]
        assert (json.loads(filter_["Pattern"]), filter_["Scope"]) == (route.pattern, "DATA")
        assert props["Type"] == ("FIFO" if route.fifo else "UNORDERED")
        assert props["Transformer"] == {"Type": "RAW"}
        assert props["StartingPosition"] == "LATEST"
        assert props["RetryPolicy"]["MaxRetryAttempts"] == 8
        assert "ReactorFailures" in json.dumps(props["OnFailureConfiguration"]["Arn"])  # the stateful failures queue
        queue_id = _logical_id(props["InvokeConfiguration"]["TargetArn"])
        queue = resources[queue_id]
        assert queue["Type"] == "AWS::SQS::Queue"
        assert bool(queue["Properties"].get("FifoQueue")) is route.fifo  # FIFO subscribers fill FIFO queues
        assert "deadLetterTargetArn" in queue["Properties"]["RedrivePolicy"]
        readers = [m for m in mappings if _logical_id(m["Properties"]["EventSourceArn"]) == queue_id]
        assert len(readers) == 1 and readers[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        function = resources[_logical_id(readers[0]["Properties"]["FunctionName"])]
        assert function["Properties"]["Handler"] == f"lambdas.{name}.handler.handler"


def test_subscriber_roles_may_send_only_to_their_queue_and_the_failures_queue(ordered: Assembly) -> None:
    resources = ordered.templates["ExotelLegsFunctions"]["Resources"]
    for subscriber in ordered.resources("ExotelLegsFunctions", "AWS::EventsV2::Subscriber").values():
        role_id = _logical_id(subscriber["Properties"]["InvokeConfiguration"]["RoleArn"])
        trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": "events.amazonaws.com"}
        policies = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        ]
        [statement] = policies[0]["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "sqs:SendMessage" and len(statement["Resource"]) == 2


def test_the_bridge_publishes_to_the_v2_bus_and_redrive_may_replay_onto_it(ordered: Assembly) -> None:
    task = _one(ordered, "ExotelLegsBridge", "AWS::ECS::TaskDefinition")
    env = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert env["EVENT_BUS_KIND"] == "v2"
    assert "OrderedBus" in json.dumps(env["EVENT_BUS_ARN"])
    policies = json.dumps(ordered.resources("ExotelLegsBridge", "AWS::IAM::Policy"))
    assert "PutEventsOnTheOrderedBus" in policies
    functions = ordered.resources("ExotelLegsFunctions", "AWS::Lambda::Function")
    [redrive] = [f for f in functions.values() if f["Properties"]["Handler"] == "lambdas.redrive.handler.handler"]
    assert "OrderedBus" in json.dumps(redrive["Properties"]["Environment"]["Variables"]["EVENT_BUS_ARN"])


def test_alarms_watch_every_subscriber_dlq_and_each_fifo_queue_for_a_stuck_group(ordered: Assembly) -> None:
    alarms = ordered.resources("ExotelLegsFunctions", "AWS::CloudWatch::Alarm")
    names = " ".join(alarms)
    fifo = [r.function for r in routes(SOURCE) if r.fifo]
    for route in routes(SOURCE):
        prefix = "".join(part.capitalize() for part in route.function.split("_"))
        assert f"{prefix}SubscriberDLQDepthAlarm" in names
        assert (f"{prefix}SubscriberStuckGroupAlarm" in names) is (route.function in fifo)
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the alarm topic"


def test_cdk_nag_and_cfn_lint_are_clean_in_ordered_mode(ordered: Assembly) -> None:
    assert _violations(ordered.report) == []
    templates = [str(ordered.outdir / f"{name}.template.json") for name in ordered.stack_names]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *templates],
        capture_output=True,
        text=True,
        timeout=180,
    )
    findings = json.loads(result.stdout or "[]")
    assert [f for f in findings if f.get("Level") == "Error"] == []
    # cfn-lint knows AWS::EventsV2 (its schemas include them): a wrong property would be an error, not skipped.
    assert not [f for f in findings if "EventsV2" in json.dumps(f) and f.get("Level") == "Error"]


def test_classic_mode_has_no_eventsv2_resource(full: FullSynth) -> None:
    for name in full.assembly.stack_names:
        assert "AWS::EventsV2" not in json.dumps(full.assembly.templates[name])
