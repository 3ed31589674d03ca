"""The devstack's READY record, and where a helper finds it: at ``GET <emulator>/_devstack/ready``.

``python -m devstack`` prints the record (``DEVSTACK READY {...}``) and writes it to ``--ready-file``; it also
serves it on the AWS emulator's port, the one address every local tool is already given (``AWS_ENDPOINT_URL``),
so that ``python -m devstack.subscribe`` learns the bus mode (and, in ordered mode, the local EventsV2
endpoint and bus) without another setting. Not an AWS API: a path moto does not use.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from pydantic import BaseModel, ValidationError

from contract.bus import BusMode
from devstack.config import LOCAL_ACCOUNT_SID

#: Where the emulator answers with the READY record (503 while the devstack is still starting).
READY_PATH = "/_devstack/ready"


class ReadyInfo(BaseModel):
    """What the READY line and ``--ready-file`` carry: enough for a test to talk to every part."""

    pid: int
    api_url: str
    sim_url: str
    bridge_endpoint: str
    aws_endpoint_url: str
    aws_region: str
    bus_name: str
    api_port: int
    sim_port: int
    bridge_port: int
    aws_emulator_port: int
    account_sid: str = LOCAL_ACCOUNT_SID
    functions: list[str]
    child_pids: dict[str, int]
    console_url: str | None = None  # the local console (None when DEVSTACK_CONSOLE=0)
    bus_mode: str = BusMode.CLASSIC.value
    bus_arn: str | None = None  # ordered mode: the local EventsV2 bus
    eventsv2_url: str | None = None  # ordered mode: the local EventsV2 endpoint (AWS_ENDPOINT_URL_EVENTBRIDGEV2)


class NotReady(Exception):
    """A devstack answers at the address but has not finished starting (or answered something unreadable)."""


def fetch_ready(aws_endpoint_url: str, timeout: float = 5.0) -> ReadyInfo | None:
    """The READY record of the devstack whose emulator is at ``aws_endpoint_url``.

    None when nothing answers there, or something that is not a devstack does (a plain moto server: 404);
    :class:`NotReady` when a devstack answers but is still starting.
    """
    url = aws_endpoint_url.rstrip("/") + READY_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            body = reply.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            raise NotReady(f"the devstack at {aws_endpoint_url} is still starting") from None
        return None
    except (urllib.error.URLError, OSError):
        return None
    try:
        return ReadyInfo.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise NotReady(f"{url} answered something that is not a READY record: {exc}") from None
