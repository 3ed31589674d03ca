"""The DynamoDB tables of ``contract.resources.TABLES``."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from contract.resources import TABLES, TableDef
from infra.logical_ids import Grouping

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


class Tables(Grouping):
    """On demand, encrypted, point-in-time recovery, deletion protection, retained: ``tables`` by table id."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {table_def.id: self._table(table_def) for table_def in TABLES}

    def _table(self, table_def: TableDef) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            table_def.id,
            partition_key=dynamodb.Attribute(name=table_def.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=table_def.sort_key, type=dynamodb.AttributeType.STRING)
                if table_def.sort_key
                else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=table_def.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table_def.indexes:  # sparse, keys only: the sweeper reads the plan itself
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=_ATTRIBUTE_TYPES[index.sort_key_type]),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
        return table
