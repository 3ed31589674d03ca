"""Bridge figures: the deployed bridge next to a no-op gRPC server, and the levers that got it there.

Headline server: ``python -m bridge`` exactly as a task runs it (``BRIDGE_WORKERS`` at its default, the
bridge's own SDK client) against an EventBridge endpoint on loopback that answers ``PutEvents`` at once,
in a process of its own (``bench.instant_sink``): what a deployment pays (request building, signing, HTTP,
parsing) with a bus that costs next to nothing. Ablation servers, same run, same load generator:

- ``THREADS``: one worker, ``BRIDGE_PUBLISHER=threads`` (boto3 in a thread pool: the path before the async
  publisher), asyncio's event loop, same HTTP endpoint;
- ``ONE_WORKER``: one worker, the async publisher (``bridge.asyncsdk``) sending with aiohttp, asyncio's event
  loop, same endpoint;
- ``ASYNCIO_LOOP``: the deployed worker count, asyncio's event loop (``BRIDGE_EVENT_LOOP=asyncio``), aiohttp;
- ``AIOHTTP``: as deployed but sending with aiohttp (``BRIDGE_HTTP_CLIENT=aiohttp``), workers not pinned: with
  ``ASYNCIO_LOOP`` before it, what uvloop buys;
- ``UNPINNED``: as deployed but with ``BRIDGE_CPU_AFFINITY=off``: with ``AIOHTTP`` before it, what the bridge's own
  HTTP client (``bridge.http1``) buys; with the headline after it, what pinning each worker to its CPU buys;
- ``NOOP_UVLOOP``: the no-op server on uvloop, a stricter secondary baseline (the headline's baseline is
  grpcio's default, asyncio's loop);
- ``MEMORY``: one process with an in-process ``PutEvents`` object (no HTTP at all): the old headline,
  kept as a secondary line.

All servers run interleaved (every repetition visits each server in turn), so drift in the machine's
load hits them alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from pydantic import BaseModel, Field

from bench.loadgen import LoadSpec, run_load
from bench.machine import StealMeter
from bench.procs import RssSampler
from bench.servers import Measured, Server, start_bridge, start_bridge_http, start_noop
from bench.stats import LoadResult, middle_of, paired_rounds, quartiles
from bridge.workers import available_cpus

CONCURRENCY = (1, 16, 64, 256)
QUICK_CONCURRENCY = (16, 64, 256)
OPEN_RATE = 1000.0
#: Open-loop runs per server (full mode), interleaved, each :data:`OPEN_SECONDS` long; the one with the median
#: p99 is reported. Many short runs rather than a few long ones: on a shared machine the slow calls come in
#: bursts, the no-op server's as much as the bridge's (something takes the CPUs for a fraction of a second; the
#: steal ``/proc/stat`` shows was 0.5% in one such run: 66 of one 8 s run's 80 slowest calls fell within 0.4 s,
#: and each of three such runs held at least one burst, 2026-12-03), and a burst decides the p99 of the run it
#: lands in. Shorter runs confine a burst to one run, and the median passes over spoiled runs while they are
#: fewer than half. The events measured per server stay about the same (50,000 against 56,000 with seven runs
#: of 8 s), and so does the section's length.
OPEN_REPETITIONS = 25
OPEN_SECONDS = 2.0
#: Closed-loop runs per server and caller count (full mode), interleaved; the median is reported. Three, not two:
#: the no-op server's events/s at 64 callers moved between 3,904 and 5,145 in five runs of `make bench` (a single
#: process among the load generator's, on two CPUs) and the median of two is their mean.
CLOSED_REPETITIONS = 3

NOOP = "no-op grpcio server"
NOOP_UVLOOP = "no-op grpcio server, uvloop"
BRIDGE = "bridge as deployed"
ASYNCIO_LOOP = "bridge, workers, asyncio loop, aiohttp"
ONE_WORKER = "bridge, 1 worker, asyncio loop, aiohttp"
AIOHTTP = "bridge as deployed, aiohttp client"
UNPINNED = "bridge as deployed, workers not pinned"
THREADS = "bridge, 1 worker, boto3 thread pool"
MEMORY = "bridge, 1 worker, in-process sink"
#: The ablation ladder, from the path before this work to the headline.
LADDER = (THREADS, ONE_WORKER, ASYNCIO_LOOP, AIOHTTP, UNPINNED, BRIDGE)
#: Workers left where the scheduler puts them (the ladder's rows before pinning).
NOT_PINNED = {"BRIDGE_CPU_AFFINITY": "off"}
#: aiohttp sending the PutEvents requests (the deployed bridge sends with its own client, bridge.http1).
ON_AIOHTTP = {"BRIDGE_HTTP_CLIENT": "aiohttp"}
#: asyncio's own event loop for an ablation server (the deployed bridge runs on uvloop), and aiohttp.
ON_ASYNCIO = {"BRIDGE_EVENT_LOOP": "asyncio", **ON_AIOHTTP, **NOT_PINNED}
#: Servers measured at every concurrency (the others at 64 callers only).
SWEPT = (NOOP, BRIDGE, ONE_WORKER)


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
    #: open loop: every repetition's p99 in the order run (servers interleaved: run i of two servers were
    #: measured one after the other)
    runs_p99_ms: list[float] = Field(default_factory=list)
    quantiles_ms: list[float] = Field(default_factory=list)


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
    workers: int = 1
    #: share of the CPUs' time the hypervisor took during the open-loop runs (``/proc/stat`` steal), in %
    open_steal_percent: float | None = None
    notes: list[str] = Field(default_factory=list)

    def find(self, server: str, mode: str, concurrency: int = 0) -> RunFigure | None:
        for run in self.runs:
            if run.server == server and run.mode == mode and (mode == "open" or run.concurrency == concurrency):
                return run
        return None

    def events_per_vcpu(self, server: str = BRIDGE, concurrency: int = 64) -> float | None:
        """Events acknowledged per CPU-second of the bridge's own processes (what sizes a task)."""
        run = self.find(server, "closed", concurrency)
        if run is None or not run.cpu_ms_per_event or run.cpu_ms_per_event != run.cpu_ms_per_event:
            return None
        return 1000.0 / run.cpu_ms_per_event


def measure(server: Server, spec: LoadSpec) -> Measured:
    before = server.sink_stats()
    cpu0 = server.cpu()
    load = run_load(spec)
    cpu1 = server.cpu()
    after = server.sink_stats()
    measured = Measured(server=server.label, load=load, server_cpu_s=cpu1 - cpu0)
    if before and after:
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
        quantiles_ms=load.quantiles_ms,
    )


def closed_round(
    servers: list[Server],
    *,
    concurrency: int,
    reps: int,
    window_s: float,
    client_procs: int,
    log: Callable[[str], None],
) -> list[RunFigure]:
    """Each server at ``concurrency`` callers, ``reps`` times, interleaved (every repetition visits each server in
    turn, so drift in the machine's load hits them alike); the median run of each, logged."""
    per_server: dict[str, list[Measured]] = {s.label: [] for s in servers}
    for _ in range(reps):
        for server in servers:
            spec = LoadSpec(
                target=server.target,
                concurrency=concurrency,
                max_seconds=window_s,
                max_events=1_000_000,
                client_procs=client_procs,
            )
            per_server[server.label].append(measure(server, spec))
    figures = [summarize(per_server[server.label]) for server in servers]
    for figure in figures:
        log_run(log, figure)
    return figures


def open_run(server: Server, *, rate: float, seconds: float) -> RunFigure:
    """One open-loop run: calls started at ``rate`` per second for ``seconds``, whatever the answers."""
    spec = LoadSpec(
        target=server.target,
        mode="open",
        rate=rate,
        max_events=int(rate * seconds),
        max_seconds=seconds,
        client_procs=1,
    )
    return summarize([measure(server, spec)])


def paired_ratios(runs: RunFigure, baseline: RunFigure) -> list[float]:
    """Run i's p99 over the baseline's run i (measured one after the other, so under the same conditions)."""
    return [a / b for a, b in paired_rounds(runs.runs_p99_ms, baseline.runs_p99_ms)]


def paired_quartiles(run: RunFigure | None, baseline: RunFigure | None) -> tuple[float, float, float] | None:
    """Quartiles of the run-by-run p99 ratios (each run over the baseline's run of the same round), if several."""
    return None if run is None or baseline is None else quartiles(paired_ratios(run, baseline))


def median_by_p99(runs: list[RunFigure]) -> RunFigure:
    """Open-loop repetitions all carry the offered rate; the one with the median p99 stands for them."""
    chosen = middle_of(runs, key=lambda run: run.p99_ms)
    chosen.repetitions = len(runs)
    return chosen


def open_round(
    servers: list[Server], *, reps: int, seconds: float, log: Callable[[str], None], rate: float = OPEN_RATE
) -> list[RunFigure]:
    """``reps`` open-loop runs per server, interleaved (drift in the machine's load hits every server alike);
    per server the run with the median p99, logged."""
    opens: dict[str, list[RunFigure]] = {server.label: [] for server in servers}
    for _ in range(reps):
        for server in servers:
            opens[server.label].append(open_run(server, rate=rate, seconds=seconds))
    figures = []
    for server in servers:
        figure = median_by_p99(opens[server.label])
        figure.runs_p99_ms = [round(run.p99_ms, 3) for run in opens[server.label]]
        figures.append(figure)
    for figure in figures:
        log_run(log, figure)
    return figures


def log_run(log: Callable[[str], None], figure: RunFigure) -> None:
    shape = f"c={figure.concurrency:<4}" if figure.mode == "closed" else f"{figure.offered_rate:.0f}/s "
    log(
        f"  {shape} {figure.server:<38} {figure.throughput:8.0f} ev/s  p50 {figure.p50_ms:7.2f} ms  "
        f"p99 {figure.p99_ms:7.2f} ms  entries/call {figure.entries_per_call or 0:4.1f}  "
        f"cpu {figure.cpu_ms_per_event:.3f} ms/ev  errors {figure.errors or '-'}"
    )


def start_open_round(servers: list[Server]) -> None:
    """Start the servers of the open-loop round, in the order measured, appending each to ``servers`` as it is up
    (the caller stops what started, whatever fails later)."""
    servers.append(start_noop(NOOP))
    servers.append(start_bridge_http(BRIDGE))
    servers.append(start_bridge_http(ONE_WORKER, env={"BRIDGE_WORKERS": "1", **ON_ASYNCIO}))
    servers.append(start_bridge_http(THREADS, env={"BRIDGE_WORKERS": "1", "BRIDGE_PUBLISHER": "threads", **ON_ASYNCIO}))
    servers.append(start_bridge_http(ASYNCIO_LOOP, env=ON_ASYNCIO))
    servers.append(start_bridge_http(AIOHTTP, env={**ON_AIOHTTP, **NOT_PINNED}))
    servers.append(start_bridge_http(UNPINNED, env=NOT_PINNED))


def run_bridge_figures(
    *,
    quick: bool,
    client_procs: int,
    include_memory_sink: bool = True,
    log: Callable[[str], None] = print,
) -> BridgeFigures:
    window = 2.0 if quick else 4.0
    reps = 1 if quick else CLOSED_REPETITIONS
    open_seconds = 3.0 if quick else OPEN_SECONDS
    open_reps = 1 if quick else OPEN_REPETITIONS
    sweep = QUICK_CONCURRENCY if quick else CONCURRENCY
    workers = available_cpus()
    figures = BridgeFigures(window_s=window, client_procs=client_procs, workers=workers)
    figures.notes.append(
        f"`{BRIDGE}`: `python -m bridge` with `BRIDGE_WORKERS` unset, i.e. {workers} worker process(es) on this"
        f" {workers}-CPU machine (with one per CPU, each pinned to its own: `BRIDGE_CPU_AFFINITY=auto`), its own SDK"
        " client over HTTP to `bench.instant_sink` (a process of its own)."
    )
    servers: list[Server] = []
    samplers: dict[str, RssSampler] = {}
    rest: dict[str, float] = {}
    try:
        start_open_round(servers)
        servers.append(start_noop(NOOP_UVLOOP, loop="uvloop"))
        if include_memory_sink:
            servers.append(start_bridge(MEMORY))
        for server in servers:
            rest[server.label] = server.rss()
            samplers[server.label] = RssSampler(server.child.pid).__enter__()

        for concurrency in sweep:
            measured = [s for s in servers if s.label in SWEPT or concurrency == 64]
            figures.runs += closed_round(
                measured,
                concurrency=concurrency,
                reps=reps,
                window_s=window,
                client_procs=client_procs,
                log=log,
            )

        # Memory is sampled under the saturating load only: nine samplers polling /proc at 20 Hz during the
        # fixed-load runs below raised every server's p99 there (the no-op's 1.69 -> 1.96 ms, the bridge's
        # 2.30 -> 2.77 ms, medians of five, same run).
        for server in servers:
            sampler = samplers.pop(server.label)
            sampler.__exit__(None, None, None)
            figures.memory.append(
                MemoryFigure(
                    server=server.label,
                    rest_mib=rest[server.label],
                    peak_under_load_mib=sampler.peak,
                    after_load_mib=server.rss(),
                )
            )

        # a fixed offered load: latency when the server is not saturated
        opened = [server for server in servers if server.label not in (MEMORY, NOOP_UVLOOP)]
        with StealMeter() as steal:
            figures.runs += open_round(opened, reps=open_reps, seconds=open_seconds, log=log)
        figures.open_steal_percent = steal.percent
    finally:
        for sampler in samplers.values():
            sampler.__exit__(None, None, None)
        for server in servers:
            server.stop()
    return figures
