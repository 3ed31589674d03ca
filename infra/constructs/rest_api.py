"""API Gateway (REST, regional, IAM auth) in front of the ``api`` function.

What API Gateway answers itself (an unsigned request, a stage throttle, a body over 10 MB, a function
that failed) comes in the function's error format too: RFC 9457 problems (``lambdas/api/problems.py``),
through gateway responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.deployment import PROJECT_TAG
from infra.config import DeployConfig
from infra.constructs.log_groups import log_group
from infra.constructs.wired_function import WiredFunction
from infra.function_specs import FunctionSpec
from infra.logical_ids import Grouping
from infra.nag import acknowledge
from lambdas.api.problems import PROBLEM_JSON, ProblemType, gateway_template

if TYPE_CHECKING:
    from infra.stateful import StatefulStack

_R = apigw.ResponseType
#: API Gateway's own answers -> (problem type, status; None: the template serves several statuses).
GATEWAY_RESPONSES: dict[str, tuple[apigw.ResponseType, ProblemType, int | None]] = {
    "MissingSignature": (_R.MISSING_AUTHENTICATION_TOKEN, ProblemType.ACCESS_DENIED, 403),
    "AccessDenied": (_R.ACCESS_DENIED, ProblemType.ACCESS_DENIED, 403),
    "InvalidSignature": (_R.INVALID_SIGNATURE, ProblemType.ACCESS_DENIED, 403),
    "ExpiredToken": (_R.EXPIRED_TOKEN, ProblemType.ACCESS_DENIED, 403),
    "InvalidApiKey": (_R.INVALID_API_KEY, ProblemType.ACCESS_DENIED, 403),
    "Throttled": (_R.THROTTLED, ProblemType.RATE_LIMITED, 429),
    "QuotaExceeded": (_R.QUOTA_EXCEEDED, ProblemType.RATE_LIMITED, 429),
    "TooLarge": (_R.REQUEST_TOO_LARGE, ProblemType.TOO_LARGE, 413),
    "IntegrationTimeout": (_R.INTEGRATION_TIMEOUT, ProblemType.GATEWAY_ERROR, 504),
    "Default4xx": (_R.DEFAULT_4_XX, ProblemType.REFUSED, None),
    "Default5xx": (_R.DEFAULT_5_XX, ProblemType.GATEWAY_ERROR, None),
}


class RestApi(Grouping):
    """``function`` behind ``api`` (proxy), stage ``v1``: throttled, access-logged, traced; API keys when configured."""

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
    ) -> None:
        super().__init__(scope, construct_id)
        wired = WiredFunction(
            self,
            "Handler",
            spec=spec,
            config=config,
            data=data,
            values=values,
            failures=failures,
            code=code,
        )
        self.function = wired.function
        self.api = self._api(config)
        for name, (response_type, kind, status) in GATEWAY_RESPONSES.items():
            self.api.add_gateway_response(
                f"Problem{name}",
                type=response_type,
                status_code=str(status) if status is not None else None,
                response_headers={"Content-Type": f"'{PROBLEM_JSON}'"},
                templates={"application/json": gateway_template(kind, status)},
            )
        if config.api_keys:
            self._usage_plan(config)
        self._acknowledge()

    def _api(self, config: DeployConfig) -> apigw.LambdaRestApi:
        access_logs = log_group(self, "ApiAccessLogs", config.log_retention_days)
        return apigw.LambdaRestApi(
            self,
            "Api",
            handler=self.function,
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

    def _usage_plan(self, config: DeployConfig) -> None:
        plan = self.api.add_usage_plan(
            "UsagePlan",
            name=PROJECT_TAG,
            throttle=apigw.ThrottleSettings(rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst),
            quota=apigw.QuotaSettings(limit=config.api_quota_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        plan.add_api_key(self.api.add_api_key("ApiKey", description="exotel-legs API key"))

    def _acknowledge(self) -> None:
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Requests are validated by the api function itself (pydantic models via Powertools' event "
            "handler), which answers 400/422 with the field and reason; a proxy resource has no body model.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-APIG3",
            "WAF is an optional add-on for this API (IAM-signed requests only, throttled per stage); "
            "attach a WebACL to the stage if your organisation requires one (docs/DEPLOY.md).",
        )
        acknowledge(
            self.api,
            "AwsSolutions-COG4",
            "The API uses IAM authorization (SigV4) for service-to-service callers instead of Cognito user pools.",
        )
        acknowledge(
            self.api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role uses the AWS managed policy made for exactly this purpose.",
        )
