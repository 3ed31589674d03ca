"""One Lambda function as ``lambdas/wiring.py`` describes it, with IAM written from what it reads.

A table's name in its env -> read (``read_only``) or read/write on that table; the Exotel secret's name ->
read that secret; ``sends_to`` -> send to those queues (an SQS trigger's receive/delete is CDK's grant);
``puts_events`` -> put on the bus. Nothing else (plus X-Ray).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.deployment import EXOTEL_SECRET_NAME
from contract.env import Env, PowertoolsEnv
from contract.resources import QUEUES, TABLES
from infra.config import DeployConfig
from infra.constructs.log_groups import log_group
from infra.function_specs import FunctionSpec, construct_prefix
from infra.logical_ids import Grouping
from infra.nag import acknowledge
from lambdas.wiring import Access

if TYPE_CHECKING:
    from infra.stateful import StatefulStack

#: What a function that only reads a table may do with it (no Scan: no function scans).
TABLE_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"]
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
TABLE_ACCESS_ACTIONS = {Access.READ: TABLE_READ_ACTIONS, Access.READ_WRITE: TABLE_ACTIONS}


def deployment_values(config: DeployConfig, data: StatefulStack, bridge_endpoint: str) -> dict[str, str]:
    """What each ``Env`` name a function may read is in this deployment (a function gets those it reads)."""
    values = {
        Env.EXOTEL_SECRET_NAME: EXOTEL_SECRET_NAME,  # fixed name (stateful stack), not a token
        Env.EXOTEL_BASE_URL: config.exotel_base_url,
        Env.BRIDGE_ENDPOINT: bridge_endpoint,
        Env.EVENT_BUS_NAME: data.bus.event_bus_name,
        Env.EVENT_SOURCE: config.event_source,
    }
    for table_def in TABLES:
        values[table_def.env] = data.tables[table_def.id].table_name
    for queue_def in QUEUES:
        values[queue_def.env] = data.queues[queue_def.id].queue_url
    return values


class WiredFunction(Grouping):
    """Log group, role with least privilege, and ``function`` (ARM64, active tracing, JSON logs).

    An event- or queue-driven function (not the API's) retries twice and then sends the event to ``failures``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        config: DeployConfig,
        data: StatefulStack,
        values: dict[str, str],
        failures: sqs.IQueue,
        code: lambda_.Code,
        exotel_callers: int = 1,
    ) -> None:
        """``exotel_callers``: how many functions share Exotel's per-account rate limit (reserved concurrency)."""
        super().__init__(scope, construct_id)
        prefix, wiring = construct_prefix(spec.name), spec.wiring
        logs = log_group(self, f"{prefix}Logs", config.log_retention_days)
        self.role = iam.Role(
            self,
            f"{prefix}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"exotel-legs {spec.name} function",
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[logs.log_group_arn],
            )
        )
        self._grant(spec, data)
        self.function = lambda_.Function(
            self,
            f"{prefix}Function",
            description=spec.description[:256],
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=wiring.handler,
            code=code,
            role=self.role,
            timeout=Duration.seconds(wiring.timeout_seconds),
            memory_size=wiring.memory_mb,
            environment=self._environment(spec, config, values),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=config.reactor_concurrency(exotel_callers)
            if spec.reserved_concurrency
            else None,
            on_failure=None if wiring.api else destinations.SqsDestination(failures),
            retry_attempts=None if wiring.api else 2,
        )
        self._acknowledge()

    @staticmethod
    def _environment(spec: FunctionSpec, config: DeployConfig, values: dict[str, str]) -> dict[str, str]:
        environment = {
            PowertoolsEnv.SERVICE_NAME: spec.name,
            PowertoolsEnv.METRICS_NAMESPACE: config.functions_metrics_namespace,
            PowertoolsEnv.LOG_LEVEL: config.powertools_log_level,
            PowertoolsEnv.LOGGER_LOG_EVENT: "false",
            PowertoolsEnv.TRACER_CAPTURE_RESPONSE: "false",
            PowertoolsEnv.DEV: "false",
            Env.DEPLOY_ENVIRONMENT: config.environment,
        }
        environment.update({name: values[name] for name in spec.wiring.env if name in values})
        return environment

    def _grant(self, spec: FunctionSpec, data: StatefulStack) -> None:
        """Least privilege from what the function reads, and how (``lambdas.wiring.FunctionWiring.table_access``)."""
        wiring, role = spec.wiring, self.role
        access = wiring.table_access()
        for level, sid in ((Access.READ_WRITE, "Tables"), (Access.READ, "ReadOnlyTables")):
            tables = [t for t in TABLES if access.get(t.id) is level]
            table_arns = [data.tables[t.id].table_arn for t in tables]
            table_arns += [f"{data.tables[t.id].table_arn}/index/{index.name}" for t in tables for index in t.indexes]
            if table_arns:
                role.add_to_principal_policy(
                    iam.PolicyStatement(sid=sid, actions=TABLE_ACCESS_ACTIONS[level], resources=table_arns)
                )
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

    def _acknowledge(self) -> None:
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords do not support resource-level permissions "
            "(added by Lambda active tracing); every other statement names its resources.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to Python 3.12 on purpose: the asset's binary wheels (pydantic-core) are built for cp312 "
            "manylinux2014_aarch64; moving to a newer runtime is a deliberate, tested change.",
        )
