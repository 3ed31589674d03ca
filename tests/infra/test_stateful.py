"""The stateful stack: bus + archive + schemas, tables, queues with DLQs and depth alarms, secrets."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from contract.deployment import EXOTEL_SECRET_NAME
from contract.resources import QUEUES, TABLES
from infra.constructs.queues import TERMINAL_QUEUES
from infra.constructs.secrets import BRIDGE_TOKEN_SECRET_NAME
from lambdas.routing import routes
from tests.infra.conftest import FULL_CONTEXT, Assembly, FullSynth

pytestmark = pytest.mark.infra
DATA = "ExotelLegsData"
SOURCE = FULL_CONTEXT["event_source"]


@pytest.fixture(scope="module")
def data(full: FullSynth) -> Template:
    return Template.from_json(full.assembly.templates[DATA])


def _logical_id(full: FullSynth, construct: object) -> str:
    stack = full.deployment.data
    return stack.resolve(construct.node.default_child.logical_id)  # type: ignore[attr-defined]


def test_bus_and_archive(data: Template, full: FullSynth) -> None:
    data.resource_count_is("AWS::Events::EventBus", 1)
    data.has_resource_properties("AWS::Events::EventBus", {"Name": "exotel-legs"})
    data.has_resource_properties(
        "AWS::Events::Archive",
        {"EventPattern": {"source": [SOURCE]}, "RetentionDays": 30, "SourceArn": Match.any_value()},
    )


def test_schema_registry_publishes_the_event_schema(full: FullSynth) -> None:
    schemas = full.assembly.resources(DATA, "AWS::EventSchemas::Schema")
    registries = full.assembly.resources(DATA, "AWS::EventSchemas::Registry")
    assert len(registries) == 1 and schemas
    routed_types = {t for route in routes(SOURCE) for t in route.pattern.get("detail-type", [])}
    covered: set[str] = set()
    for resource in schemas.values():
        props = resource["Properties"]
        assert props["Type"] == "JSONSchemaDraft4"
        content = json.loads(props["Content"])
        assert content["properties"]["source"]["enum"] == [SOURCE]
        assert "$defs" not in json.dumps(content)  # draft 4 uses "definitions"
        ref = content["properties"]["detail"]["$ref"].split("/")[-1]
        detail = content["definitions"][ref]
        assert {"event_sid", "event_name", "event_timestamp"} <= set(detail["properties"])
        covered |= set(content["properties"]["detail-type"].get("enum", []))
    assert routed_types <= covered


@pytest.mark.parametrize("table_def", TABLES, ids=lambda t: t.id)
def test_table(full: FullSynth, table_def) -> None:  # type: ignore[no-untyped-def]
    tables = full.assembly.resources(DATA, "AWS::DynamoDB::Table")
    matching = [
        r for r in tables.values() if r["Properties"]["KeySchema"][0]["AttributeName"] == table_def.partition_key
    ]
    assert len(matching) == 1, f"no table keyed by {table_def.partition_key}"
    table = matching[0]
    props = table["Properties"]
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert keys.get("RANGE") == table_def.sort_key
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    if table_def.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table_def.ttl_attribute, "Enabled": True}
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in table_def.indexes}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    for index in table_def.indexes:  # e.g. CallPlans' by_due: the sweeper's sparse index of plans to watch
        built = indexes[index.name]
        assert built["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert built["Projection"] == {"ProjectionType": "KEYS_ONLY"}
        assert types[index.sort_key] == index.sort_key_type


def test_every_queue_is_encrypted_tls_only_and_retained(full: FullSynth) -> None:
    queues = full.assembly.resources(DATA, "AWS::SQS::Queue")
    assert len(queues) == len(QUEUES) + (len(QUEUES) - len(TERMINAL_QUEUES)) + 1  # + DLQs + ReactorFailures
    for queue in queues.values():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True
        assert queue["DeletionPolicy"] == "Retain"
    policies = full.assembly.resources(DATA, "AWS::SQS::QueuePolicy")
    tls_denied = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                tls_denied |= {q["Ref"] for q in policy["Properties"]["Queues"]}
    assert tls_denied == set(queues)


def test_queues_from_definitions_with_their_dead_letter_queues(full: FullSynth) -> None:
    stack = full.deployment.data
    for queue_def in QUEUES:
        queue = full.assembly.templates[DATA]["Resources"][_logical_id(full, stack.queues[queue_def.id])]
        props = queue["Properties"]
        assert props["MessageRetentionPeriod"] == queue_def.retention_days * 86400
        assert props["VisibilityTimeout"] == queue_def.visibility_timeout_seconds
        if queue_def.id in TERMINAL_QUEUES:
            assert "RedrivePolicy" not in props
        else:
            dlq_id = _logical_id(full, stack.queue_dlqs[queue_def.id])
            assert props["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


def test_reactor_failures_queue_accepts_only_rules_on_this_bus(full: FullSynth) -> None:
    stack = full.deployment.data
    queue_id = _logical_id(full, stack.reactor_failures)
    policies = full.assembly.resources(DATA, "AWS::SQS::QueuePolicy")
    statements = [
        s
        for p in policies.values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert len(statements) == 1
    allow = statements[0]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    source = json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    assert "rule/exotel-legs/*" in source


def test_depth_alarm_on_every_queue(full: FullSynth) -> None:
    queues = full.assembly.resources(DATA, "AWS::SQS::Queue")
    alarms = full.assembly.resources(DATA, "AWS::CloudWatch::Alarm")
    watched = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["AlarmActions"], "alarm without an action"
        for dimension in props["Dimensions"]:
            watched.add(dimension["Value"]["Fn::GetAtt"][0])
    # Every queue except DLQs of consumer queues' own DLQs are watched: all of them, in fact.
    assert watched == set(queues)


def test_alarm_topic_is_encrypted_and_mails_the_configured_address(data: Template) -> None:
    data.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    data.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": FULL_CONTEXT["alarm_email"]}
    )
    data.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_secrets(data: Template) -> None:
    data.has_resource(
        "AWS::SecretsManager::Secret",
        {"Properties": Match.object_like({"Name": EXOTEL_SECRET_NAME}), "DeletionPolicy": "Retain"},
    )
    data.has_resource_properties("AWS::SecretsManager::Secret", {"Name": BRIDGE_TOKEN_SECRET_NAME})


def test_default_deployment_has_no_bridge_token_secret(both: dict[str, Assembly]) -> None:
    secrets = both["default"].resources(DATA, "AWS::SecretsManager::Secret")
    assert [s["Properties"]["Name"] for s in secrets.values()] == [EXOTEL_SECRET_NAME]
