"""The logical IDs of the long-lived resources, as the first version of the stacks deployed them.

Why this list is checked in: CloudFormation knows a resource by its logical ID, and a changed ID
replaces the resource. For a table or a queue that means a new, empty one (the old one is retained
but orphaned, its items or messages no longer used); for the Exotel secret, the credentials the
operator stored; for the KMS key, the bus, its archive and schema registry, the alarm topic and its
e-mail subscription (to be confirmed again), the same kind of loss. The load balancer, the REST API and
the API key are stateless, but users hold their DNS name, URL and key value: a new one breaks Exotel's
endpoint or the API's callers. And AWS refuses a second SQS event-source mapping of the same queue and
function, a duplicate security-group rule and a second usage-plan key for the same key: renaming one of
those fails the deploy (CloudFormation creates the new resource before it deletes the old one).

A refactor of ``infra/`` must keep every ID here (``infra/logical_ids.py`` is how the named
constructs do it). Change this list only for a deliberate, documented migration. Generated from the
synthesized templates before ``infra/`` was split into constructs (FULL_CONTEXT: every option on).
"""

from __future__ import annotations

#: The resource types whose logical IDs are pinned (schemas: see ``SCHEMA_TYPE``).
KEPT_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::Events::EventBus",
        "AWS::Events::Archive",
        "AWS::EventSchemas::Registry",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::S3::Bucket",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::ApiKey",
        "AWS::Lambda::EventSourceMapping",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::ApiGateway::UsagePlanKey",
    }
)
#: Schemas are ``Schema<i>``, one per schema of ``infra.schemas.load_schemas`` in its order.
SCHEMA_TYPE = "AWS::EventSchemas::Schema"

#: stack suffix -> logical ID -> resource type, with every option on.
KEPT: dict[str, dict[str, str]] = {
    "Data": {
        "AlarmTopicKey57B0D3A7": "AWS::KMS::Key",
        "AlarmTopicD01E77F9": "AWS::SNS::Topic",
        "AlarmTopiconcallexamplecomCD7D68CB": "AWS::SNS::Subscription",
        "BusEA82B648": "AWS::Events::EventBus",
        "BusArchiveD76499E2": "AWS::Events::Archive",
        "SchemaRegistry": "AWS::EventSchemas::Registry",
        "LegStateF5F20FCF": "AWS::DynamoDB::Table",
        "CallPlans886D7716": "AWS::DynamoDB::Table",
        "IdempotencyC15CBC33": "AWS::DynamoDB::Table",
        "BridgeFallbackDLQAF7189F3": "AWS::SQS::Queue",
        "BridgeFallback95F80B15": "AWS::SQS::Queue",
        "BridgeDeadLetter15A488A5": "AWS::SQS::Queue",
        "RetryDelayDLQ1DECFC64": "AWS::SQS::Queue",
        "RetryDelay2B7BB972": "AWS::SQS::Queue",
        "ReactorFailures7C9FE1FB": "AWS::SQS::Queue",
        "ExotelCredentialsF7340DEB": "AWS::SecretsManager::Secret",
        "BridgeTokenF307471A": "AWS::SecretsManager::Secret",
    },
    "Bridge": {
        "LoadBalancerBE9EEC3A": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AccessLogs8B620ECA": "AWS::S3::Bucket",
        "LoadBalancerSgtoExotelLegsBridgeServiceSgF3176E695005112F2C85D": "AWS::EC2::SecurityGroupEgress",
        "ServiceSgfromExotelLegsBridgeLoadBalancerSg8277D18B50051CA239CF1": "AWS::EC2::SecurityGroupIngress",
    },
    "Functions": {
        "ApiF70053CD": "AWS::ApiGateway::RestApi",
        "ApiApiKey8A01341B": "AWS::ApiGateway::ApiKey",
        "RetryFunctionSqsEventSourceExotelLegsDataRetryDelayCD9CE17F3D32BD66": "AWS::Lambda::EventSourceMapping",
        "RedriveFunctionSqsEventSourceExotelLegsDataBridgeFallback6BB69C6CC44884BF": "AWS::Lambda::EventSourceMapping",
        "ApiUsagePlanUsagePlanKeyResourceExotelLegsFunctionsApiApiKey8BA332EA3E77F02F": "AWS::ApiGateway::UsagePlanKey",
    },
}
#: Only there with an option on: the alarm e-mail (``alarm_email``), ``bridge_auth_token``, ``api_keys``.
OPTIONAL = frozenset(
    {
        "AlarmTopiconcallexamplecomCD7D68CB",
        "BridgeTokenF307471A",
        "ApiApiKey8A01341B",
        "ApiUsagePlanUsagePlanKeyResourceExotelLegsFunctionsApiApiKey8BA332EA3E77F02F",
    }
)
