"""A moto server (the AWS emulator the devstack uses) as a PutEvents sink over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Callable

import boto3

from bench.procs import Child, python
from bench.servers import LOCAL_AWS_ENV
from contract.bus import DEFAULT_BUS_NAME


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[str, Callable[[], None]]:
    """Start ``python -m moto.server`` on a free loopback port, create the bus; return (url, stop)."""
    port = _free_port()
    child = Child(
        [python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        lambda line: "Running on" in line,
        env={"PYTHONUNBUFFERED": "1"},
        name="moto server",
    )
    url = f"http://127.0.0.1:{port}"
    events = boto3.client(
        "events",
        endpoint_url=url,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    events.create_event_bus(Name=DEFAULT_BUS_NAME)
    return url, child.stop
