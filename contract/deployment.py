"""Names a whole deployment shares: the project tag, the stack prefix, the Exotel credentials secret."""

from __future__ import annotations

#: Every resource of a deployment is tagged ``project=<PROJECT_TAG>``; local resource names start with it.
PROJECT_TAG = "exotel-legs"
#: CDK stacks are ``<prefix>Data``, ``<prefix>Bridge``, ``<prefix>Functions`` (a deploy setting: ``stack_prefix``).
DEFAULT_STACK_PREFIX = "ExotelLegs"
#: Secrets Manager secret holding Exotel credentials (JSON ``{account_sid, api_key, api_token}``).
EXOTEL_SECRET_NAME = "exotel-legs/credentials"
