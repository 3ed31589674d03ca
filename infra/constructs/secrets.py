"""Secrets Manager: Exotel's API credentials, and the bridge's optional shared token."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract.deployment import EXOTEL_SECRET_NAME
from infra.logical_ids import Grouping
from infra.nag import acknowledge

#: The bridge's optional shared token (``BRIDGE_AUTH_TOKEN``).
BRIDGE_TOKEN_SECRET_NAME = "exotel-legs/bridge-token"


class Secrets(Grouping):
    """``exotel`` always (fixed name, filled in by the operator); ``bridge_token`` when ``bridge_auth_token`` is on."""

    def __init__(self, scope: Construct, construct_id: str, *, bridge_token: bool) -> None:
        super().__init__(scope, construct_id)
        self.exotel = secretsmanager.Secret(
            self,
            "ExotelCredentials",
            secret_name=EXOTEL_SECRET_NAME,
            description='Exotel API credentials: {"account_sid": ..., "api_key": ..., "api_token": ...}',
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"account_sid": "REPLACE_ME", "api_key": "REPLACE_ME"}',
                generate_string_key="api_token",
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.exotel,
            "AwsSolutions-SMG4",
            "Exotel issues the API key and token; they are rotated in Exotel's dashboard and then here, "
            "so a Lambda rotation schedule cannot rotate them.",
        )
        self.bridge_token = self._bridge_token() if bridge_token else None

    def _bridge_token(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "BridgeToken",
            secret_name=BRIDGE_TOKEN_SECRET_NAME,
            description="Shared token the bridge requires as 'authorization: Bearer <token>'",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "The token is also configured at Exotel's side; rotating it means changing both ends together, "
            "which is a manual, coordinated step (docs/DEPLOY.md).",
        )
        return secret
