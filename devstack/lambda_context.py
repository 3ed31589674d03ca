"""A Lambda-like ``context`` object: what Powertools and handlers read from the real one."""

from __future__ import annotations

import time
import uuid

from devstack.config import LOCAL_AWS_ACCOUNT


class LambdaContext:
    """Mirrors the attributes of the Python runtime's context (``awslambdaric.lambda_context``)."""

    def __init__(
        self,
        function_name: str,
        *,
        memory_limit_in_mb: int = 256,
        timeout_seconds: float = 30,
        region: str = "us-east-1",
        account: str = LOCAL_AWS_ACCOUNT,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
