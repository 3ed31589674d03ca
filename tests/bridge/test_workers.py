"""``BRIDGE_WORKERS``: processes sharing one port; every one serves, SIGTERM drains them all, nothing is lost.

Also: the CPU count the default comes from, a port already taken, bad input that cannot starve good events
(the dead-letter queue has its own threads), and the bus budget taken from the caller's gRPC deadline.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest

from bridge import workers as workers_module
from bridge.service import LegEventService
from bridge.workers import available_cpus, cgroup_cpu_quota, pin_to, reserve_port, worker_cpus
from legs.pb import exotel_legs_pb2 as pb
from legs.pb import exotel_legs_pb2_grpc as pb_grpc
from tests.bridge.conftest import AwsStack, bridge_env, make_event
from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.component


def send_on_separate_connections(
    target: str, messages: list[pb.CallbackEvent], connections: int, timeout: float = 30
) -> list[Any]:
    """Each message on one of ``connections`` channels with their own TCP connection (the kernel balances
    connections, not calls, over the workers)."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(target, options=options) for _ in range(connections)]
    replies: list[Any] = [None] * len(messages)

    def run(index: int) -> None:
        stub = pb_grpc.LegEventServiceStub(channels[index % connections])
        try:
            replies[index] = stub.TriggerCallbackEvent(messages[index], timeout=timeout)
        except grpc.RpcError as exc:
            replies[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for channel in channels:
        channel.close()
    return replies


def stopped_totals(lines: list[str]) -> list[dict[str, int]]:
    """The ``totals`` of every worker's ``bridge stopped`` log line."""
    out = []
    for line in lines:
        if '"bridge stopped"' in line:
            out.append(json.loads(line)["totals"])
    return out


def test_two_workers_both_serve_and_sigterm_drains_them_all(stack: AwsStack, proxy: FaultProxy, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, proxy.url, BRIDGE_WORKERS="2", BRIDGE_METRICS_INTERVAL_S="3600"))
    ready = [json.loads(line) for line in bridge.lines if '"bridge ready"' in line]
    assert ready and ready[0]["workers"] == 2
    workers = [json.loads(line) for line in bridge.lines if '"bridge worker ready"' in line]
    assert [w["event_loop"] for w in workers] == ["uvloop", "uvloop"]  # the default loop, in every worker

    first = [make_event(i) for i in range(64)]
    replies = send_on_separate_connections(bridge.target, first, connections=32)
    assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in replies), replies[:3]

    # Events in flight when SIGTERM arrives: the bus is slow, so they are still being published.
    proxy.delay(seconds=1.5, count=4, target="PutEvents")
    late = [make_event(i, run="late") for i in range(32)]
    results: list[Any] = []
    sender = threading.Thread(target=lambda: results.extend(send_on_separate_connections(bridge.target, late, 16)))
    sender.start()
    while sum(v for k, v in proxy.stats.items() if k.startswith("injected:delay")) < 1 and sender.is_alive():
        threading.Event().wait(0.02)
    assert bridge.terminate() == 0
    sender.join(60)

    acknowledged = [m.event_sid for m, r in zip(late, results, strict=True) if isinstance(r, pb.CallbackEventResponse)]
    received = stack.receive(stack.subscriber_url, expected=len(first) + len(acknowledged), settle=1.0)
    counts = Counter(body["detail"]["event_sid"] for body in received)
    assert {m.event_sid for m in first} | set(acknowledged) <= set(counts)  # nothing acknowledged is lost
    assert max(counts.values()) == 1
    totals = stopped_totals(bridge.lines)
    assert len(totals) == 2, bridge.tail()
    assert all(t["received"] > 0 for t in totals), totals  # both workers served
    assert sum(t["published"] for t in totals) == len(counts)
    assert any('"bridge workers stopped"' in line for line in bridge.lines)


def test_workers_leave_when_their_supervisor_is_killed(stack: AwsStack, start_bridge) -> None:
    bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_WORKERS="2", BRIDGE_METRICS_INTERVAL_S="3600"))
    workers = bridge.worker_pids()
    assert len(workers) == 2, bridge.tail()
    bridge.proc.kill()  # SIGKILL: the supervisor cannot pass anything on
    bridge.proc.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], bridge.tail()  # none left serving the port
    with socket.socket() as probe:  # and the port is free again
        probe.bind(("127.0.0.1", bridge.port))


def test_a_taken_port_is_refused_not_shared(stack: AwsStack, start_bridge) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge = start_bridge(bridge_env(stack, stack.url, BRIDGE_WORKERS="2", BRIDGE_PORT=str(port)), wait=False)
        assert bridge.proc.wait(timeout=60) == 1
    assert any('"bridge could not start"' in line for line in bridge.lines), bridge.tail()
    # Two workers of one bridge may share the port; a second bridge may not.
    held = reserve_port("127.0.0.1", 0)
    with held, pytest.raises(OSError):
        reserve_port("127.0.0.1", held.getsockname()[1])


def test_bad_input_cannot_starve_good_events(stack: AwsStack, proxy: FaultProxy, start_bridge) -> None:
    """Rejected input waits on a hung dead-letter queue in threads of its own; good events (here on the
    thread-pool publisher, the one that needs threads) go through meanwhile. (The SQS client's 2 s read
    time-out bounds how long one stuck send holds a thread, so on one shared pool this would show as delay,
    not failure: the pools' separation itself is checked in test_each_kind_of_io_has_its_own_threads.)"""
    bridge = start_bridge(bridge_env(stack, proxy.url, BRIDGE_PUBLISHER="threads", BRIDGE_MAX_IN_FLIGHT="4"))
    proxy.delay(seconds=60.0, count=-1, target="AmazonSQS.SendMessage")  # the dead-letter queue hangs
    bad = []
    for i in range(40):
        message = make_event(i, run="bad")
        message.event_name = "not a name!"
        bad.append(message)
    bad_results = send_on_separate_connections(bridge.target, bad, 8)
    assert all(isinstance(r, grpc.RpcError) and r.code() == grpc.StatusCode.INVALID_ARGUMENT for r in bad_results)
    assert sum(v for k, v in proxy.stats.items() if k.startswith("injected:delay")) >= 4  # DLQ threads stuck
    good = [make_event(i, run="good") for i in range(40)]
    good_results = send_on_separate_connections(bridge.target, good, 8, timeout=15)
    assert all(isinstance(r, pb.CallbackEventResponse) and r.accepted for r in good_results), good_results[:3]
    received = stack.receive(stack.subscriber_url, expected=len(good))
    assert sorted(b["detail"]["event_sid"] for b in received) == sorted(m.event_sid for m in good)
    proxy.clear()


# ---- units -----------------------------------------------------------------------------------------
class _Sink:
    def put_events(self, **params: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"} for _ in params["Entries"]]}


@pytest.mark.parametrize("publisher", ["async", "threads"])
def test_each_kind_of_io_has_its_own_threads(publisher: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from bridge.config import BridgeConfig
    from bridge.server import BridgeServer

    config = BridgeConfig.from_env(
        host="127.0.0.1",
        port=0,
        aws_region="us-east-1",
        fallback_queue_url="http://127.0.0.1:9/000000000000/fallback",
        dead_letter_queue_url="http://127.0.0.1:9/000000000000/dlq",
        publisher=publisher,
    )
    for key, value in {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}.items():
        monkeypatch.setenv(key, value)

    async def pools() -> tuple[Any, Any, Any]:
        server = BridgeServer(config, events_client=None if publisher == "async" else _Sink(), sqs_client=object())
        await server.start()
        try:
            assert server._publisher is not None and server._fallback is not None
            service_letters = [h for h in server._executors if h._thread_name_prefix == "bridge-deadletter"]
            return server._publisher._executor, server._fallback._executor, service_letters[0]
        finally:
            await server.stop(grace=0)

    publish, fallback, dead_letters = asyncio.run(pools())
    assert len({id(fallback), id(dead_letters)} | ({id(publish)} if publish is not None else set())) == (
        2 if publish is None else 3
    )
    assert (publish is None) == (publisher == "async")  # the async publisher uses no thread at all


def test_cpu_count_follows_the_cgroup_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 0.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cpus() >= 1


def test_workers_are_pinned_only_when_each_cpu_gets_exactly_one(monkeypatch: pytest.MonkeyPatch) -> None:
    quota: list[float | None] = [None]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 2})
    monkeypatch.setattr(workers_module, "cgroup_cpu_quota", lambda: quota[0])
    assert worker_cpus(2) == [2, 5]  # one worker per CPU of the affinity, in order
    assert worker_cpus(2, "off") == [None, None]
    assert worker_cpus(1) == [None]  # fewer workers than CPUs: the scheduler places them
    assert worker_cpus(3) == [None, None, None]  # more workers than CPUs: pinning would stack two on one
    quota[0] = 1.0  # the task owns one CPU's worth of a shared host: pinning would crowd tasks onto CPU 2 and 5
    assert worker_cpus(2) == [None, None]
    quota[0] = 2.0
    assert worker_cpus(2) == [2, 5]


def test_a_cpu_that_cannot_be_had_leaves_the_worker_unpinned_not_stopped() -> None:
    before = os.sched_getaffinity(0)
    assert pin_to(4096) is False  # no such CPU: EINVAL, logged, nothing changed
    assert os.sched_getaffinity(0) == before


def threads_cpus(pid: int) -> set[str]:
    """The CPU lists the threads of process ``pid`` may run on (/proc)."""
    lists = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                lists.add(line.split(":", 1)[1].strip())
    return lists


def test_one_worker_per_cpu_each_pinned_with_all_its_threads(stack: AwsStack, start_bridge) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota()
    if len(cpus) < 2 or len(cpus) > 8 or (quota is not None and quota < len(cpus)):
        pytest.skip(f"needs 2-8 CPUs owned outright (affinity {cpus}, quota {quota})")
    env = bridge_env(stack, stack.url, BRIDGE_WORKERS=str(len(cpus)), BRIDGE_METRICS_INTERVAL_S="3600")
    bridge = start_bridge(env)
    ready = [json.loads(line) for line in bridge.lines if '"bridge ready"' in line]
    assert ready[0]["pinned"] == cpus
    reported = sorted(json.loads(line)["cpus"] for line in bridge.lines if '"bridge worker ready"' in line)
    assert reported == [[cpu] for cpu in cpus]  # each worker on its own CPU
    threads = {pid: threads_cpus(pid) for pid in bridge.worker_pids()}
    assert sorted(lists.pop() for lists in threads.values() if len(lists) == 1) == [str(cpu) for cpu in cpus], (
        threads  # every thread of a worker (grpcio's included) on the worker's CPU
    )
    reply = pb_grpc.LegEventServiceStub(grpc.insecure_channel(bridge.target)).TriggerCallbackEvent(
        make_event(0), timeout=30
    )
    assert reply.accepted
    assert bridge.terminate() == 0

    unpinned = start_bridge({**env, "BRIDGE_CPU_AFFINITY": "off"})
    ready = [json.loads(line) for line in unpinned.lines if '"bridge ready"' in line]
    assert "pinned" not in ready[0]
    assert all(json.loads(line)["cpus"] == cpus for line in unpinned.lines if '"bridge worker ready"' in line)
    assert unpinned.terminate() == 0


def test_bus_budget_leaves_the_fallback_its_time_within_the_callers_deadline() -> None:
    service = LegEventService.__new__(LegEventService)
    service._deadline_s, service._reserve_s = 0.7, 0.27
    assert service.bus_budget(None) == 0.7  # no deadline: the configured one
    assert service.bus_budget(10.0) == 0.7  # a generous caller: still the configured one at most
    assert service.bus_budget(0.8) == pytest.approx(0.53)  # the fallback's time is kept aside
    assert service.bus_budget(0.4) == pytest.approx(0.2)  # never less than half of what is left
    assert service.bus_budget(0.0) == 0.0  # nothing left: straight to the fallback queue
