"""The functions stack: one Lambda asset, the reactors wired from the routing table, and the REST API.

One EventBridge rule per routing-table entry with exactly that pattern; each target has a retry
policy and a dead-letter queue, each function an on-failure destination (both the stateful
``ReactorFailures`` queue). Functions that call Exotel get reserved concurrency so that a burst
of events cannot exceed Exotel's per-account rate. IAM is written per function from what it
reads (``Env`` names in ``lambdas/wiring.py``): a table's name → read/write on that table, the
secret's name → read that secret; plus ``sends_to`` → send to those queues, ``puts_events`` → put on the bus.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.deployment import EXOTEL_SECRET_NAME, PROJECT_TAG
from contract.env import Env, PowertoolsEnv
from contract.resources import QUEUES, TABLES
from infra.bridge_service import log_retention
from infra.bundling import lambda_code
from infra.config import DeployConfig
from infra.function_specs import FunctionSpec, construct_prefix, function_specs
from infra.nag import acknowledge
from infra.ordered_bus import OrderedSubscribers
from infra.stateful import StatefulStack

TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
]


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The routing table's JSON pattern as CDK's EventPattern (``detail-type`` → ``detail_type``)."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


class FunctionsStack(Stack):
    """Stateless: the Lambda functions, their triggers, and API Gateway in front of ``api``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        data: StatefulStack,
        bridge_endpoint: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.data = data
        self.bridge_endpoint = bridge_endpoint
        self.specs = function_specs(config.event_source)
        self.code = lambda_code(keep_sdk=data.ordered is not None)  # ordered: redrive needs eventbridgev2
        # Imported views of the stateful queues: targets/destinations in this stack must not try to
        # edit the other stack's queue policies (that would make the stacks depend on each other).
        self.failures = sqs.Queue.from_queue_attributes(
            self,
            "ReactorFailuresRef",
            queue_arn=data.reactor_failures.queue_arn,
            queue_url=data.reactor_failures.queue_url,
        )
        self.functions: dict[str, lambda_.Function] = {}
        self.rules: dict[str, events.Rule] = {}
        for spec in self.specs:
            self.functions[spec.name] = self._function(spec)
        self.api = self._rest_api(self.functions["api"]) if "api" in self.functions else None
        self.ordered = None
        if data.ordered is not None:  # ordered mode: subscribers instead of rules (infra/ordered_bus.py)
            self.ordered = OrderedSubscribers(
                self,
                "Ordered",
                config=config,
                bus=data.ordered,
                specs=self.specs,
                functions=self.functions,
                failures_queue_arn=data.reactor_failures.queue_arn,
                alarm_action=data.alarm_action,
            )

    # ------------------------------------------------------------------------------------------
    def _env_values(self) -> dict[str, str]:
        data = self.data
        values = {
            Env.EXOTEL_SECRET_NAME: EXOTEL_SECRET_NAME,  # fixed name (stateful stack), not a token
            Env.EXOTEL_BASE_URL: self.config.exotel_base_url,
            Env.BRIDGE_ENDPOINT: self.bridge_endpoint,
            Env.EVENT_BUS_NAME: data.bus.event_bus_name,
            Env.EVENT_SOURCE: self.config.event_source,
        }
        for table_def in TABLES:
            values[table_def.env] = data.tables[table_def.id].table_name
        for queue_def in QUEUES:
            values[queue_def.env] = data.queues[queue_def.id].queue_url
        return values

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        name, wiring = spec.name, spec.wiring
        data = self.data
        log_group = logs.LogGroup(
            self,
            f"{construct_prefix(name)}Logs",
            retention=log_retention(self.config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_prefix(name)}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"exotel-legs {name} function",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        env_values = self._env_values()
        environment = {
            PowertoolsEnv.SERVICE_NAME: name,
            PowertoolsEnv.METRICS_NAMESPACE: self.config.functions_metrics_namespace,
            PowertoolsEnv.LOG_LEVEL: self.config.powertools_log_level,
            PowertoolsEnv.LOGGER_LOG_EVENT: "false",
            PowertoolsEnv.TRACER_CAPTURE_RESPONSE: "false",
            PowertoolsEnv.DEV: "false",
            Env.DEPLOY_ENVIRONMENT: self.config.environment,
        }
        for env_name in wiring.env:
            if env_name in env_values:
                environment[env_name] = env_values[env_name]

        # Least privilege from what the function reads.
        table_arns = [data.tables[t.id].table_arn for t in TABLES if t.env in wiring.env]
        if table_arns:
            role.add_to_principal_policy(iam.PolicyStatement(sid="Tables", actions=TABLE_ACTIONS, resources=table_arns))
        if spec.reads_secret:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ExotelCredentials",
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[data.exotel_secret.secret_arn],
                )
            )
        if wiring.sends_to:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="SendToQueues",
                    actions=["sqs:SendMessage"],
                    resources=[data.queues[q.id].queue_arn for q in wiring.sends_to],
                )
            )
        if wiring.puts_events:
            role.add_to_principal_policy(
                iam.PolicyStatement(sid="PutEvents", actions=["events:PutEvents"], resources=[data.bus.event_bus_arn])
            )

        function = lambda_.Function(
            self,
            f"{construct_prefix(name)}Function",
            description=spec.description[:256],
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=wiring.handler,
            code=self.code,
            role=role,
            timeout=Duration.seconds(wiring.timeout_seconds),
            memory_size=wiring.memory_mb,
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=self.config.exotel_reserved_concurrency
            if spec.reserved_concurrency
            else None,
            on_failure=None if wiring.api else destinations.SqsDestination(self.failures),
            retry_attempts=None if wiring.api else 2,
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords do not support resource-level permissions "
            "(added by Lambda active tracing); every other statement names its resources.",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Pinned to Python 3.12 on purpose: the asset's binary wheels (pydantic-core) are built for cp312 "
            "manylinux2014_aarch64; moving to a newer runtime is a deliberate, tested change.",
        )

        if spec.pattern is not None and data.ordered is None:
            rule = events.Rule(
                self,
                f"{construct_prefix(name)}Rule",
                event_bus=data.bus,
                description=f"routing table: {name}",
                event_pattern=event_pattern(spec.pattern),
            )
            rule.add_target(
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=self.failures,
                    retry_attempts=self.config.rule_retry_attempts,
                    max_event_age=Duration.seconds(self.config.rule_max_event_age_seconds),
                )
            )
            self.rules[name] = rule
        for queue_def in wiring.sqs_triggers:
            function.add_event_source(
                sources.SqsEventSource(
                    data.queues[queue_def.id],
                    batch_size=wiring.batch_size,
                    report_batch_item_failures=True,
                    enabled=True,
                )
            )
        return function

    # ------------------------------------------------------------------------------------------
    def _rest_api(self, function: lambda_.Function) -> apigw.LambdaRestApi:
        config = self.config
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=function,
            proxy=True,
            description="Exotel legs: create legs and two-party calls, read leg state",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM, api_key_required=config.api_keys or None
            ),
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        if config.api_keys:
            plan = api.add_usage_plan(
                "UsagePlan",
                name=PROJECT_TAG,
                throttle=apigw.ThrottleSettings(
                    rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
                ),
                quota=apigw.QuotaSettings(limit=config.api_quota_per_day, period=apigw.Period.DAY),
            )
            plan.add_api_stage(stage=api.deployment_stage)
            plan.add_api_key(api.add_api_key("ApiKey", description="exotel-legs API key"))
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "Requests are validated by the api function itself (pydantic models via Powertools' event "
            "handler), which answers 400/422 with the field and reason; a proxy resource has no body model.",
        )
        acknowledge(
            api,
            "AwsSolutions-APIG3",
            "WAF is an optional add-on for this API (IAM-signed requests only, throttled per stage); "
            "attach a WebACL to the stage if your organisation requires one (docs/DEPLOY.md).",
        )
        acknowledge(
            api,
            "AwsSolutions-COG4",
            "The API uses IAM authorization (SigV4) for service-to-service callers instead of Cognito user pools.",
        )
        acknowledge(
            api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role uses the AWS managed policy made for exactly this purpose.",
        )
        return api
