"""Functions, rules from the routing table, IAM scoped to named resources, the REST API, monitoring."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from contract.bus import DEFAULT_SOURCE
from contract.env import Env
from contract.resources import TABLES
from infra.function_specs import FunctionSpec, function_specs
from infra.monitoring import BRIDGE_ALARMS
from lambdas import routing
from lambdas.routing import routes
from lambdas.wiring import WIRING
from tests.infra.conftest import FULL_CONTEXT, Assembly, FullSynth

pytestmark = pytest.mark.infra
FUNCTIONS = "ExotelLegsFunctions"
SOURCE = FULL_CONTEXT["event_source"]
SPECS = function_specs(SOURCE)
ROUTES = routes(SOURCE)
XRAY = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


@pytest.fixture(scope="module")
def functions(full: FullSynth) -> Template:
    return Template.from_json(full.assembly.templates[FUNCTIONS])


def _resource(full: FullSynth, construct: Any) -> tuple[str, dict[str, Any]]:
    stack = full.deployment.functions
    logical = stack.resolve(construct.node.default_child.logical_id)
    return logical, full.assembly.templates[FUNCTIONS]["Resources"][logical]


def _policy_statements(full: FullSynth, spec: FunctionSpec) -> list[dict[str, Any]]:
    function = full.deployment.functions.functions[spec.name]
    role_logical, _ = _resource(full, function.role)
    return [
        s
        for p in full.assembly.resources(FUNCTIONS, "AWS::IAM::Policy").values()
        if {"Ref": role_logical} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _event_rules(full: FullSynth) -> dict[str, Any]:
    """The rules on the bus (with a pattern), not the schedules."""
    rules = full.assembly.resources(FUNCTIONS, "AWS::Events::Rule")
    return {name: rule for name, rule in rules.items() if "EventPattern" in rule["Properties"]}


def test_one_rule_per_routing_entry_with_exactly_its_pattern(full: FullSynth) -> None:
    rules = _event_rules(full)
    assert len(rules) == len(ROUTES)
    bus_export = full.deployment.functions.resolve(full.deployment.data.bus.event_bus_name)
    for route in ROUTES:
        function_logical, _ = _resource(full, full.deployment.functions.functions[route.function])
        (rule,) = [
            r
            for r in rules.values()
            if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [function_logical, "Arn"]}
        ]
        props = rule["Properties"]
        assert props["EventPattern"] == route.pattern
        assert props["EventBusName"] == bus_export
        (target,) = props["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
        assert "ReactorFailures" in json.dumps(target["DeadLetterConfig"]["Arn"])


def test_every_rule_matches_the_source_the_bridge_publishes(full: FullSynth) -> None:
    """With a non-default event_source, a reactor still receives events (the rules once hard-coded the default)."""
    (task,) = full.assembly.resources("ExotelLegsBridge", "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    published = {e["Name"]: e["Value"] for e in container["Environment"]}[Env.EVENT_SOURCE]
    assert published == SOURCE != DEFAULT_SOURCE
    rules = _event_rules(full).values()
    assert rules and all(rule["Properties"]["EventPattern"]["source"] == [published] for rule in rules)


def test_scheduled_functions_get_a_rate_rule_from_the_wiring(full: FullSynth) -> None:
    """The sweeper runs on a schedule: a rule with a rate (default bus), no retries (the next run is the retry)."""
    rules = full.assembly.resources(FUNCTIONS, "AWS::Events::Rule")
    schedules = {n: r["Properties"] for n, r in rules.items() if "ScheduleExpression" in r["Properties"]}
    expected = {s.name: s.wiring.schedule_seconds for s in SPECS if s.wiring.schedule_seconds}
    assert expected == {"sweeper": 60} and len(schedules) == len(expected)
    for name, seconds in expected.items():
        logical, _ = _resource(full, full.deployment.functions.functions[name])
        (props,) = [p for p in schedules.values() if p["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical, "Arn"]}]
        assert props["ScheduleExpression"] == f"rate({seconds // 60} minute{'s' if seconds > 60 else ''})"
        assert "EventBusName" not in props and props["State"] == "ENABLED"
        assert props["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 0
        permissions = full.assembly.resources(FUNCTIONS, "AWS::Lambda::Permission").values()
        assert any(
            p["Properties"]["Principal"] == "events.amazonaws.com"
            and p["Properties"]["FunctionName"] == {"Fn::GetAtt": [logical, "Arn"]}
            for p in permissions
        )


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_function_runtime_tracing_logs_and_concurrency(full: FullSynth, spec: FunctionSpec) -> None:
    _, resource = _resource(full, full.deployment.functions.functions[spec.name])
    props = resource["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == spec.wiring.handler
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Timeout"] == spec.wiring.timeout_seconds and props["MemorySize"] == spec.wiring.memory_mb
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == spec.name
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ExotelLegs"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert set(spec.wiring.env) <= set(env), f"{spec.name} misses {set(spec.wiring.env) - set(env)}"
    if spec.reserved_concurrency:
        assert props["ReservedConcurrentExecutions"] == FULL_CONTEXT["exotel_reserved_concurrency"]
    else:
        assert "ReservedConcurrentExecutions" not in props
    log_group = full.assembly.templates[FUNCTIONS]["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize("spec", [s for s in SPECS if not s.wiring.api], ids=lambda s: s.name)
def test_event_driven_functions_have_an_on_failure_destination(full: FullSynth, spec: FunctionSpec) -> None:
    logical, _ = _resource(full, full.deployment.functions.functions[spec.name])
    configs = [
        c["Properties"]
        for c in full.assembly.resources(FUNCTIONS, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": logical}
    ]
    assert len(configs) == 1
    assert "ReactorFailures" in json.dumps(configs[0]["DestinationConfig"]["OnFailure"]["Destination"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_iam_is_scoped_to_named_resources(full: FullSynth, spec: FunctionSpec) -> None:
    statements = _policy_statements(full, spec)
    data = full.deployment.data
    resolve = full.deployment.functions.resolve
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if statement["Resource"] == "*":
            assert statement["Action"] == XRAY, statement  # X-Ray has no resource-level permissions
        assert "*" not in json.dumps(statement["Action"]), statement
    granted = json.dumps(statements)
    for table_def in TABLES:
        table_arn = json.dumps(resolve(data.tables[table_def.id].table_arn))
        assert (table_arn in granted) == (table_def.env in spec.wiring.env), (spec.name, table_def.id)
        for index in table_def.indexes:  # a query on an index needs the index's own ARN
            assert (f"/index/{index.name}" in granted) == (table_def.env in spec.wiring.env), (spec.name, index)
    assert ("secretsmanager:GetSecretValue" in granted) == (Env.EXOTEL_SECRET_NAME in spec.wiring.env)
    assert ("events:PutEvents" in granted) == spec.wiring.puts_events
    for queue_def in spec.wiring.sends_to:
        assert json.dumps(resolve(data.queues[queue_def.id].queue_arn)) in granted
    _, role = _resource(full, full.deployment.functions.functions[spec.name].role)
    assert not role["Properties"].get("ManagedPolicyArns")


def test_sqs_triggers_from_the_wiring(full: FullSynth) -> None:
    mappings = full.assembly.resources(FUNCTIONS, "AWS::Lambda::EventSourceMapping")
    expected = {(s.name, q.id) for s in SPECS for q in s.wiring.sqs_triggers}
    assert len(mappings) == len(expected) and expected
    resolve = full.deployment.functions.resolve
    for name, queue_id in expected:
        logical, _ = _resource(full, full.deployment.functions.functions[name])
        queue_arn = resolve(full.deployment.data.queues[queue_id].queue_arn)
        (mapping,) = [
            m["Properties"]
            for m in mappings.values()
            if m["Properties"]["FunctionName"] == {"Ref": logical} and m["Properties"]["EventSourceArn"] == queue_arn
        ]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_api_function_gets_the_bridge_endpoint(full: FullSynth) -> None:
    _, api = _resource(full, full.deployment.functions.functions["api"])
    assert api["Properties"]["Environment"]["Variables"][Env.BRIDGE_ENDPOINT] == (
        f"grpc://{FULL_CONTEXT['domain_name']}:443"
    )


def test_only_event_driven_exotel_callers_get_reserved_concurrency(full: FullSynth) -> None:
    """The api calls Exotel too, but API Gateway throttles it: reserved concurrency would turn bursts into 5xx."""
    reserved = {
        name
        for name, function in full.deployment.functions.functions.items()
        if "ReservedConcurrentExecutions" in _resource(full, function)[1]["Properties"]
    }
    assert WIRING["api"].calls_exotel and "api" not in reserved
    assert reserved == {w.function for w in WIRING.values() if w.calls_exotel and not w.api}
    assert "sweeper" in reserved  # it calls Exotel too: its share of the rate limit is reserved like the reactors'


def test_specs_join_wiring_and_routes(full: FullSynth) -> None:
    assert [s.name for s in SPECS] == list(WIRING)
    for spec in SPECS:
        assert spec.wiring is WIRING[spec.name]
        assert spec.pattern == (routing.route(spec.name, SOURCE).pattern if spec.wiring.rule else None)
        assert spec.description, f"{spec.name}: no description in lambdas/routing.py or lambdas/wiring.py"
        _, resource = _resource(full, full.deployment.functions.functions[spec.name])
        assert resource["Properties"]["Description"] == spec.description


def test_rest_api_iam_auth_keys_throttling_access_logs(functions: Template) -> None:
    methods = functions.find_resources("AWS::ApiGateway::Method")
    assert methods
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert method["Properties"]["ApiKeyRequired"] is True
    functions.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": 50,
                            "ThrottlingBurstLimit": 100,
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                        }
                    )
                ]
            ),
        },
    )
    functions.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {"Quota": {"Limit": 100000, "Period": "DAY"}, "Throttle": {"RateLimit": 50, "BurstLimit": 100}},
    )
    functions.resource_count_is("AWS::ApiGateway::ApiKey", 1)


def test_default_api_needs_no_api_key(both: dict[str, Assembly]) -> None:
    methods = both["default"].resources(FUNCTIONS, "AWS::ApiGateway::Method")
    assert methods and all(m["Properties"]["AuthorizationType"] == "AWS_IAM" for m in methods.values())
    assert not any(m["Properties"].get("ApiKeyRequired") for m in methods.values())
    assert not both["default"].resources(FUNCTIONS, "AWS::ApiGateway::UsagePlan")


def test_alarms_and_dashboard(full: FullSynth) -> None:
    alarms = [a["Properties"] for a in full.assembly.resources(FUNCTIONS, "AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] for a in alarms)
    bridge = {a["MetricName"] for a in alarms if a.get("Namespace") == "ExotelLegs"}
    assert {d.metric for d in BRIDGE_ALARMS} <= bridge
    for alarm in alarms:
        if alarm.get("Namespace") == "ExotelLegs":
            assert alarm["Dimensions"] == [{"Name": "service", "Value": "bridge"}]
    lambda_errors = [a for a in alarms if a.get("Namespace") == "AWS/Lambda" and a["MetricName"] == "Errors"]
    assert len(lambda_errors) == len(SPECS)
    assert any(a.get("Namespace") == "AWS/ApiGateway" and a["MetricName"] == "5XXError" for a in alarms)
    assert any(a.get("MetricName") == "UnHealthyHostCount" for a in alarms)
    dashboards = full.assembly.resources(FUNCTIONS, "AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = json.dumps(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    for metric in ("EventsSpilledToFallback", "EventsRejected", "PublishLatency", "ApproximateNumberOfMessagesVisible"):
        assert metric in body
