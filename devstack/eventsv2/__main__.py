"""``python -m devstack.eventsv2``: the local EventsV2 endpoint on its own, delivering to an SQS emulator.

Settings (``contract.env.EventsV2Env``): ``EVENTSV2_HOST`` (127.0.0.1), ``EVENTSV2_PORT`` (0 = any free port),
``EVENTSV2_SQS_ENDPOINT_URL`` (where the subscribers' queues live; default ``AWS_ENDPOINT_URL``),
``EVENTSV2_DEDUP_WINDOW_S`` (300), ``EVENTSV2_DELIVERY_INTERVAL_S`` (0.5), ``AWS_REGION``. Prints one JSON line
``{"eventsv2_ready": true, "url": ..., "port": ...}`` once serving; stops on SIGTERM / SIGINT.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import boto3
from botocore.config import Config

from contract.bus import V2_ASSUMED_DEDUP_WINDOW_S
from contract.env import AwsEnv, EventsV2Env
from devstack.config import LOCAL_AWS_ACCOUNT
from devstack.eventsv2.server import EventsV2Endpoint
from devstack.eventsv2.store import EventsV2Store
from simulator.stopping import await_stop_signal, block_stop_signals


def sqs_factory(endpoint_url: str | None, region: str) -> Any:
    """boto3 SQS clients for the delivery threads (dummy credentials: the emulator accepts anything)."""

    def make() -> Any:
        return boto3.session.Session().client(
            "sqs",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=os.environ.get(AwsEnv.ACCESS_KEY_ID) or "eventsv2",
            aws_secret_access_key=os.environ.get(AwsEnv.SECRET_ACCESS_KEY) or "eventsv2",
            config=Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=10),
        )

    return make


def main() -> int:
    env = os.environ
    block_stop_signals()  # before any thread starts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s eventsv2 %(levelname)s %(message)s")
    region = env.get(AwsEnv.REGION) or env.get(AwsEnv.DEFAULT_REGION) or "us-east-1"
    try:
        port = int(env.get(EventsV2Env.PORT) or 0)
        window = float(env.get(EventsV2Env.DEDUP_WINDOW_S) or V2_ASSUMED_DEDUP_WINDOW_S)
        interval = float(env.get(EventsV2Env.DELIVERY_INTERVAL_S) or 0.5)
    except ValueError as exc:
        print(f"invalid EventsV2 endpoint setting: {exc}", file=sys.stderr)
        return 2
    sqs_url = env.get(EventsV2Env.SQS_ENDPOINT_URL) or env.get(AwsEnv.ENDPOINT_URL)
    store = EventsV2Store(region=region, account=LOCAL_AWS_ACCOUNT, dedup_window_s=window)
    endpoint = EventsV2Endpoint(
        sqs_factory(sqs_url, region),
        host=env.get(EventsV2Env.HOST) or "127.0.0.1",
        port=port,
        store=store,
        idle_wait_s=interval,
    )
    endpoint.start()
    print(json.dumps({"eventsv2_ready": True, "url": endpoint.url, "port": endpoint.port}), flush=True)
    await_stop_signal()
    endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
