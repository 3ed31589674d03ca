"""The load generator: grpc.aio callers over loopback, bounded in count and time.

Two shapes: *closed* (N callers, each sends its next event as soon as the previous one is
answered: measures saturation throughput) and *open* (events started at a fixed rate whatever
the answers: measures latency at a given offered load). Open-loop latency counts from the moment a call
is sent, so it is the acknowledgement's own; how late the generator sent against its schedule (its own stalls,
or CPU the server took from it) is recorded apart as the lag, and a call is never held back by an earlier
one's answer. Large runs are split across several
client processes (spawned, one channel each) so the Python client is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from bench.payload import METHOD, encode, sid_stream
from bench.stats import LoadResult

_ACCEPTED = b"\x08\x01"  # CallbackEventResponse(accepted=True) serialized


@dataclass
class LoadSpec:
    target: str  # host:port
    mode: str = "closed"
    concurrency: int = 16
    rate: float = 0.0  # open mode: events per second (all processes together)
    max_events: int = 20_000  # measured events, all processes together
    max_seconds: float = 5.0  # measured window
    warmup_seconds: float = 0.5
    deadline_s: float = 5.0
    metadata: tuple[tuple[str, str], ...] = ()
    client_procs: int = 1
    #: TCP connections per client process (callers spread over them): a server with several worker
    #: processes sharing a port (SO_REUSEPORT) gets connections, not calls, spread over its workers,
    #: as Exotel's or a load balancer's several connections would be.
    connections: int = 8


@dataclass
class _Tally:
    sent: int = 0
    ok: int = 0
    duplicates: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)  # open mode: actual send - intended send
    total: int = 0  # every answered call, warm-up included (server-side counters see those too)
    last_done: float = 0.0


class _RoundRobin:
    """Calls spread over the process's connections, one after the other."""

    def __init__(self, calls: list) -> None:
        self._calls = calls
        self._next = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        call = self._calls[self._next]
        self._next = (self._next + 1) % len(self._calls)
        return call(*args, **kwargs)


async def _one(call, sid: str, spec: LoadSpec) -> tuple[str, bytes | None]:
    try:
        reply = await call(encode(sid), timeout=spec.deadline_s, metadata=spec.metadata or None)
        return "OK", reply
    except grpc.aio.AioRpcError as err:
        return err.code().name, None


def _record(tally: _Tally, code: str, reply: bytes | None, started: float, window_start: float) -> None:
    tally.total += 1
    if started < window_start:
        return
    tally.last_done = time.perf_counter()
    tally.sent += 1
    if code == "OK":
        tally.ok += 1
        if reply != _ACCEPTED:
            tally.duplicates += 1
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        tally.errors[code] = tally.errors.get(code, 0) + 1


async def _run_worker(spec: LoadSpec, share_events: int, share_rate: float, go: object | None) -> dict:
    options = [("grpc.use_local_subchannel_pool", 1)]  # one TCP connection per channel
    channels = [grpc.aio.insecure_channel(spec.target, options=options) for _ in range(max(1, spec.connections))]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), timeout=15)
        calls = [
            channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None) for channel in channels
        ]
        return await _drive(spec, share_events, share_rate, go, calls)
    finally:
        for channel in channels:
            await channel.close()


async def _drive(spec: LoadSpec, share_events: int, share_rate: float, go: object | None, calls: list) -> dict:
    call = _RoundRobin(calls)
    if go is not None:
        go.wait(60)  # type: ignore[attr-defined]
    sids = sid_stream()
    tally = _Tally()
    gc.disable()  # a collector pause in the client would show up as server latency
    try:
        now = time.perf_counter()
        start = now + spec.warmup_seconds  # warm-up: same shape, not recorded
        stop_at = start + spec.max_seconds
        if spec.mode == "closed":
            await _closed(call, spec, sids, tally, share_events, start, stop_at)
        else:
            await _open(call, spec, sids, tally, share_events, share_rate, now, start, stop_at)
    finally:
        gc.enable()
    elapsed = min(time.perf_counter(), stop_at) - start if tally.sent else 0.0
    if spec.mode == "closed":
        elapsed = (tally.last_done or start) - start
    return {
        "sent": tally.sent,
        "ok": tally.ok,
        "duplicates": tally.duplicates,
        "errors": tally.errors,
        "latencies_ms": tally.latencies_ms,
        "elapsed_s": elapsed,
        "total": tally.total,
        "lags_ms": tally.lags_ms,
    }


async def _closed(call, spec: LoadSpec, sids, tally: _Tally, budget: int, start: float, stop_at: float) -> None:
    async def caller() -> None:
        while tally.sent < budget:
            started = time.perf_counter()
            if started >= stop_at:
                return
            code, reply = await _one(call, next(sids), spec)
            _record(tally, code, reply, started, start)

    callers = max(1, spec.concurrency // max(1, spec.client_procs))
    await asyncio.gather(*(caller() for _ in range(callers)))


async def _open(
    call, spec: LoadSpec, sids, tally: _Tally, budget: int, rate: float, warm: float, start: float, stop_at: float
) -> None:
    """Start events at ``rate`` from ``warm``; those intended after ``start`` are recorded."""
    pending: set[asyncio.Task] = set()

    async def timed(intended: float) -> None:
        sent = time.perf_counter()
        code, reply = await _one(call, next(sids), spec)
        if intended >= start:
            tally.lags_ms.append((sent - intended) * 1000)
        _record(tally, code, reply, sent, start)

    issued = 0
    warm_count = int((start - warm) * rate)
    while issued < budget + warm_count:
        now = time.perf_counter()
        if now >= stop_at:
            break
        due = min(budget + warm_count, int((now - warm) * rate) + 1)
        while issued < due:
            task = asyncio.create_task(timed(warm + issued / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            issued += 1
        await asyncio.sleep(max(0.0, warm + issued / rate - time.perf_counter()))
    if pending:
        await asyncio.wait(pending, timeout=spec.deadline_s + 1)


def _worker_entry() -> None:
    """``python -m bench.loadgen``: one client process; spec as JSON on the first stdin line."""
    raw = json.loads(sys.stdin.readline())
    spec = LoadSpec(**{**raw["spec"], "metadata": tuple(tuple(m) for m in raw["spec"]["metadata"])})
    try:
        result = asyncio.run(_run_worker(spec, raw["share_events"], raw["share_rate"], _StdinGate()))
    except BaseException as exc:
        result = {"error": repr(exc)}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


class _StdinGate:
    """Tells the parent this worker is connected, then waits for its "go" (all start together)."""

    def wait(self, timeout: float) -> None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()


def run_load(spec: LoadSpec) -> LoadResult:
    """Run one load shape against ``spec.target`` and combine what every client process saw."""
    procs = max(1, min(spec.client_procs, spec.concurrency) if spec.mode == "closed" else spec.client_procs)
    spec.client_procs = procs
    share_events = max(1, spec.max_events // procs)
    share_rate = spec.rate / procs
    if procs == 1:
        parts = [asyncio.run(_run_worker(spec, share_events, share_rate, None))]
        return LoadResult.combine(spec.target, spec.mode, parts, spec.concurrency, spec.rate)
    payload = json.dumps({"spec": asdict(spec), "share_events": share_events, "share_rate": share_rate})
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(procs)
    ]
    try:
        for worker in workers:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(payload + "\n")
            worker.stdin.flush()
        for worker in workers:  # each says "ready" once connected (or its error JSON)
            line = worker.stdout.readline()  # type: ignore[union-attr]
            if line.strip() != "ready":
                raise RuntimeError(f"load worker failed to start: {line.strip()}")
        for worker in workers:
            worker.stdin.write("go\n")  # type: ignore[union-attr]
            worker.stdin.flush()  # type: ignore[union-attr]
        parts = []
        for worker in workers:
            out, _ = worker.communicate(timeout=spec.warmup_seconds + spec.max_seconds + spec.deadline_s + 60)
            parts.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    failed = [p["error"] for p in parts if "error" in p]
    if failed:
        raise RuntimeError(f"load worker failed: {failed[0]}")
    return LoadResult.combine(spec.target, spec.mode, parts, spec.concurrency, spec.rate)


if __name__ == "__main__":
    _worker_entry()
