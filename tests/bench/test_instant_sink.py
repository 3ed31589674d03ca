"""``bench.instant_sink``, the benchmark's stand-in for the bus, in its own process over real HTTP: both protocols
the bridge speaks get one result per entry on one kept-alive connection, and the counters say what it saw."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import cbor2
import pytest

from bench.procs import Child
from bench.servers import start_instant_sink


@pytest.fixture()
def sink() -> Iterator[tuple[http.client.HTTPConnection, Child]]:
    url, _, child = start_instant_sink()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        yield connection, child
    finally:
        connection.close()
        child.stop()


def _post(connection: http.client.HTTPConnection, path: str, content_type: str, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", path, body=body, headers={"Content-Type": content_type})
    reply = connection.getresponse()
    return reply.status, reply.read()


def test_json_and_cbor_put_events_get_one_result_per_entry_on_one_connection(
    sink: tuple[http.client.HTTPConnection, Child],
) -> None:
    connection, _ = sink
    entries = [{"Source": "s", "DetailType": "d", "Detail": "{}"}] * 3
    status, body = _post(connection, "/", "application/x-amz-json-1.1", json.dumps({"Entries": entries}).encode())
    assert status == 200
    reply = json.loads(body)
    assert reply["FailedEntryCount"] == 0 and len(reply["Entries"]) == 3
    assert all(result["EventId"] for result in reply["Entries"])

    cbor_path = "/service/AWSEventBridge/operation/PutEvents"
    status, body = _post(connection, cbor_path, "application/cbor", cbor2.dumps({"Entries": entries[:2]}))
    assert status == 200
    results = cbor2.loads(body)["Entries"]
    assert [result["SuccessCode"] for result in results] == ["PUBLISHED", "PUBLISHED"]

    connection.request("GET", "/__bench/stats")
    assert json.loads(connection.getresponse().read()) == {"calls": 2, "entries": 5, "max_entries": 3}


def test_it_runs_on_uvloop(sink: tuple[http.client.HTTPConnection, Child]) -> None:
    """Its CPU is taken from the server under test (the module's docstring): the cheaper loop is part of the
    benchmark's method, so a change that lost it would move every figure measured against it."""
    _, child = sink
    assert "uvloop" in Path(f"/proc/{child.pid}/maps").read_text()
