"""``bench.relay_server``, the contract's latency floor, over real gRPC and real HTTP: each acknowledgement comes
after exactly one PutEvents with one entry has reached the instant endpoint (its own process)."""

from __future__ import annotations

import grpc

from bench import payload
from bench.servers import start_relay
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc


def test_each_acknowledgement_follows_one_put_events_with_one_entry() -> None:
    server = start_relay("relay under test")
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.LegEventServiceStub(channel)
            for i in range(3):
                event = pb.CallbackEvent.FromString(payload.encode(f"relay-{i}"))
                assert stub.TriggerCallbackEvent(event, timeout=10).accepted
                assert server.sink_stats() == {"calls": i + 1, "entries": i + 1, "max_entries": 1}
    finally:
        server.stop()
