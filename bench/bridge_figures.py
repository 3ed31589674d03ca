"""Bridge figures: throughput vs the no-op server, latency, entries per call, RSS, batching on/off, moto sink."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from pydantic import BaseModel, Field

from bench.loadgen import LoadSpec, run_load
from bench.procs import RssSampler
from bench.servers import Measured, Server, start_bridge, start_noop
from bench.stats import LoadResult

CONCURRENCY = (1, 16, 64, 256)
OPEN_RATE = 1000.0
TUNED = "bridge, linger 10 ms, 4 in flight"
TUNED_ENV = {"BRIDGE_LINGER_MS": "10", "BRIDGE_MAX_IN_FLIGHT": "4"}
MOTO_OPEN_RATE = 200.0


class RunFigure(BaseModel):
    """One (server, load shape) cell of the report, the median over repetitions."""

    server: str
    mode: str
    concurrency: int = 0
    offered_rate: float = 0.0
    throughput: float
    p50_ms: float
    p99_ms: float
    lag_p99_ms: float | None = None
    entries_per_call: float | None = None
    cpu_ms_per_event: float
    errors: dict[str, int] = Field(default_factory=dict)
    repetitions: int = 1
    runs_throughput: list[float] = Field(default_factory=list)


class MemoryFigure(BaseModel):
    server: str
    rest_mib: float
    peak_under_load_mib: float
    after_load_mib: float


class BridgeFigures(BaseModel):
    runs: list[RunFigure] = Field(default_factory=list)
    memory: list[MemoryFigure] = Field(default_factory=list)
    window_s: float = 0.0
    client_procs: int = 1
    notes: list[str] = Field(default_factory=list)

    def find(self, server: str, mode: str, concurrency: int = 0) -> RunFigure | None:
        for run in self.runs:
            if run.server == server and run.mode == mode and (mode == "open" or run.concurrency == concurrency):
                return run
        return None


def measure(server: Server, spec: LoadSpec) -> Measured:
    before = server.sink_stats()
    cpu0 = server.cpu()
    load = run_load(spec)
    cpu1 = server.cpu()
    after = server.sink_stats()
    measured = Measured(server=server.label, load=load, server_cpu_s=cpu1 - cpu0)
    if before is not None and after is not None:
        measured.put_events_calls = after["calls"] - before["calls"]
        measured.entries = after["entries"] - before["entries"]
    return measured


def summarize(runs: list[Measured]) -> RunFigure:
    """Median throughput run of the repetitions (its latencies with it: one coherent run)."""
    ordered = sorted(runs, key=lambda m: m.load.throughput)
    mid = ordered[len(ordered) // 2]
    load: LoadResult = mid.load
    errors: dict[str, int] = {}
    for run in runs:
        for code, count in run.load.errors.items():
            errors[code] = errors.get(code, 0) + count
    return RunFigure(
        server=mid.server,
        mode=load.mode,
        concurrency=load.concurrency,
        offered_rate=load.offered_rate,
        throughput=statistics.median(m.load.throughput for m in runs),
        p50_ms=load.p50_ms,
        p99_ms=load.p99_ms,
        lag_p99_ms=load.lag_p99_ms if load.mode == "open" else None,
        entries_per_call=mid.entries_per_call,
        cpu_ms_per_event=mid.cpu_ms_per_event,
        errors=errors,
        repetitions=len(runs),
        runs_throughput=[round(m.load.throughput, 1) for m in runs],
    )


def run_bridge_figures(
    *,
    quick: bool,
    client_procs: int,
    include_moto: bool,
    include_unbatched: bool,
    moto_url_factory: Callable[[], tuple[str, Callable[[], None]]] | None = None,
    log: Callable[[str], None] = print,
) -> BridgeFigures:
    window = 2.0 if quick else 4.0
    reps = 1 if quick else 2
    open_seconds = 3.0 if quick else 8.0
    figures = BridgeFigures(window_s=window, client_procs=client_procs)
    servers: list[Server] = []
    cleanups: list[Callable[[], None]] = []
    samplers: dict[str, RssSampler] = {}
    rest: dict[str, float] = {}
    try:
        servers.append(start_noop())
        servers.append(start_bridge("bridge, in-process sink"))
        if include_unbatched:
            servers.append(start_bridge("bridge, batching off", env={"BRIDGE_BATCH_MAX_ENTRIES": "1"}))
        if not quick:  # the knobs that buy bigger batches: what the defaults leave on the table
            servers.append(start_bridge(TUNED, env=TUNED_ENV))
        if include_moto and moto_url_factory is not None:
            url, stop_moto = moto_url_factory()
            cleanups.append(stop_moto)
            servers.append(start_bridge("bridge, moto server sink", sink="moto", env={"AWS_ENDPOINT_URL": url}))
        for server in servers:
            rest[server.label] = server.rss()
            samplers[server.label] = RssSampler(server.child.pid).__enter__()

        for concurrency in CONCURRENCY:
            per_server: dict[str, list[Measured]] = {s.label: [] for s in servers}
            for _ in range(reps):  # interleaved, so drift in the machine's load hits every server alike
                for server in servers:
                    spec = LoadSpec(
                        target=server.target,
                        concurrency=concurrency,
                        max_seconds=window,
                        max_events=1_000_000,
                        client_procs=client_procs,
                    )
                    per_server[server.label].append(measure(server, spec))
            for server in servers:
                figure = summarize(per_server[server.label])
                figures.runs.append(figure)
                log(
                    f"  c={concurrency:<4} {server.label:<28} {figure.throughput:8.0f} ev/s  "
                    f"p50 {figure.p50_ms:6.2f} ms  p99 {figure.p99_ms:7.2f} ms  "
                    f"entries/call {figure.entries_per_call or 0:4.1f}  errors {figure.errors or '-'}"
                )

        for server in servers:  # fixed offered load (the moto server cannot take 1,000/s: a lower one)
            rate = MOTO_OPEN_RATE if server.label.endswith("moto server sink") else OPEN_RATE
            spec = LoadSpec(
                target=server.target,
                mode="open",
                rate=rate,
                max_events=int(rate * open_seconds),
                max_seconds=open_seconds,
                client_procs=1,
            )
            figure = summarize([measure(server, spec)])
            figures.runs.append(figure)
            log(
                f"  {rate:.0f} ev/s {server.label:<28} p50 {figure.p50_ms:6.2f} ms  p99 {figure.p99_ms:7.2f} ms  "
                f"(generator lag p99 {figure.lag_p99_ms or 0:.2f} ms)  entries/call {figure.entries_per_call or 0:4.1f}"
            )
        for server in servers:
            sampler = samplers[server.label]
            sampler.__exit__(None, None, None)
            figures.memory.append(
                MemoryFigure(
                    server=server.label,
                    rest_mib=rest[server.label],
                    peak_under_load_mib=sampler.peak,
                    after_load_mib=server.rss(),
                )
            )
    finally:
        for sampler in samplers.values():
            sampler.__exit__(None, None, None)
        for server in servers:
            server.stop()
        for cleanup in cleanups:
            cleanup()
    return figures
