"""The hot path's per-step levers, timed in this process, before and after, in the same run.

The end-to-end ablation (``bench.bridge_figures``) switches the levers that have a switch (the publisher,
the worker count); these are the ones without one, timed directly on the benchmark's own event:

- the Detail's JSON: ``json.dumps`` (``legs.eventbridge.dumps_detail``) vs orjson (``bridge.jsonfast``);
- the decoded event validated and turned into its Detail: ``LegEvent`` and ``to_detail()`` (what the bridge did
  before) vs ``legs.checked`` (the same rules on ``TypedDict`` twins, the dict validated is the Detail);
- the event's ``data`` (a ``google.protobuf.Struct``) to a dict: each member's ``ListFields()`` first (what
  ``legs.wire`` did before) vs its ``string_value`` first (``legs.wire.struct_to_dict``);
- a PutEvents request of 10 entries up to the wire: boto3's client call (parameter validation, serializer,
  signer, and the parser on a canned reply; the HTTP send is cut off with botocore's ``before-send`` event)
  vs ``bridge.asyncsdk`` (orjson body, botocore's SigV4 signer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from bench.payload import SAMPLE_EVENT


class MicroFigure(BaseModel):
    step: str
    before: str
    after: str
    unit: str
    before_us: float
    after_us: float


def _time_us(function: Callable[[], object], seconds: float) -> float:
    """Best of five rounds of ``function`` (microseconds per call): the least disturbed by other processes."""
    function()
    best = float("inf")
    for _ in range(5):
        count = 0
        started = time.perf_counter()
        ends = started + seconds / 5
        while True:
            for _ in range(20):
                function()
            count += 20
            now = time.perf_counter()
            if now >= ends:
                break
        best = min(best, (now - started) / count * 1e6)
    return best


def run_micro(quick: bool) -> list[MicroFigure]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, AWSResponse

    from bridge.asyncsdk import AsyncAwsClient
    from bridge.jsonfast import dumps_compact
    from legs.checked import check_event
    from legs.eventbridge import dumps_detail, to_put_events_entry
    from legs.events import LegEvent

    seconds = 0.5 if quick else 2.0
    event = check_event({**SAMPLE_EVENT, "event_sid": "bench-micro-1"})  # what the bridge builds entries from
    if event is None:
        raise AssertionError("the benchmark's event is not valid")
    received = datetime.now(UTC)
    figures = [
        MicroFigure(
            step="Detail JSON + PutEvents entry of the checked event, per event",
            before="json.dumps",
            after="orjson (bridge.jsonfast)",
            unit="per event",
            before_us=_time_us(lambda: to_put_events_entry(event, received_at=received, dumps=dumps_detail), seconds),
            after_us=_time_us(lambda: to_put_events_entry(event, received_at=received, dumps=dumps_compact), seconds),
        )
    ]

    from bench.payload import encode
    from legs.wire import builtin_wire, struct_to_dict

    decoded = builtin_wire().decode(encode("bench-micro-1"))
    fast = check_event(decoded)
    if fast is None or fast.to_detail() != LegEvent.model_validate(decoded).to_detail():
        raise AssertionError("legs.checked and LegEvent disagree on the benchmark's event")
    figures.append(
        MicroFigure(
            step="the decoded event validated, then its Detail (before the JSON), per event",
            before="LegEvent + to_detail()",
            after="TypedDict twins (legs.checked)",
            unit="per event",
            before_us=_time_us(lambda: LegEvent.model_validate(decoded).to_detail(), seconds),
            after_us=_time_us(lambda: (check_event(decoded) or fast).to_detail(), seconds),
        )
    )

    data = builtin_wire()._parse(encode("bench-micro-1")).data
    if _struct_via_list_fields(data) != struct_to_dict(data):
        raise AssertionError("the two Struct conversions disagree")
    figures.append(
        MicroFigure(
            step=f"the event's data (a Struct of {len(data.fields)} members) to a dict",
            before="ListFields() per member",
            after="string_value first (legs.wire)",
            unit="per event",
            before_us=_time_us(lambda: _struct_via_list_fields(data), seconds),
            after_us=_time_us(lambda: struct_to_dict(data), seconds),
        )
    )

    entries = [to_put_events_entry(event, received_at=received, dumps=dumps_compact) for _ in range(10)]
    client = boto3.client(
        "events",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    canned = b'{"FailedEntryCount":0,"Entries":[' + b",".join([b'{"EventId":"1"}'] * 10) + b"]}"

    def reply(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(canned))

    client.meta.events.register("before-send.events.PutEvents", reply)
    sdk = AsyncAwsClient(client, None, connect_timeout_s=1, read_timeout_s=1, max_connections=1)
    operation = client.meta.service_model.operation_model("PutEvents")
    credentials = client._request_signer._credentials.get_frozen_credentials()

    def asyncsdk_request() -> None:
        path, headers, body = sdk._encode(operation, {"Entries": entries})
        sdk._signer.sign(path, headers, body, credentials)

    path, headers, body = sdk._encode(operation, {"Entries": entries})

    def botocore_signature() -> None:
        request = AWSRequest(method="POST", url=sdk.endpoint_url + path, data=body, headers=headers)
        SigV4Auth(credentials, "events", "us-east-1").add_auth(request)

    figures.append(
        MicroFigure(
            step="PutEvents request of 10 entries, built and signed",
            before="boto3 client call",
            after="bridge.asyncsdk",
            unit="per call",
            before_us=_time_us(lambda: client.put_events(Entries=entries), seconds),
            after_us=_time_us(asyncsdk_request, seconds),
        )
    )
    figures.append(
        MicroFigure(
            step="SigV4 signature of that request",
            before="botocore SigV4Auth",
            after="bridge.sigv4",
            unit="per call",
            before_us=_time_us(botocore_signature, seconds),
            after_us=_time_us(lambda: sdk._signer.sign(path, headers, body, credentials), seconds),
        )
    )
    return figures


def _struct_via_list_fields(struct: Any) -> dict[str, object]:
    """``legs.wire.struct_to_dict`` as it was before (the baseline of its row): each member's ``ListFields()``."""
    from legs.wire import _value_to_python

    fields = struct.fields
    out: dict[str, object] = {}
    for key in fields:
        value = fields[key]
        present = value.ListFields()
        if present and type(item := present[0][1]) is str:
            out[key] = item
        else:
            out[key] = _value_to_python(value)
    return out


class _Raw:
    """The raw body botocore's AWSResponse reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body
