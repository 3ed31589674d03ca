"""The ordered path's throughput next to the classic one: same run, same load generator, same bridge code.

Four bridges, each in its own process, measured interleaved (so drift in the machine's load hits each alike):

- classic, in-process sink / ordered (``EVENT_BUS_KIND=v2``), in-process sink: the bridge's own cost of each path
  (the v2 entry carries ``SystemMetadata``; the call has ``EventBusArn``; results carry ``SuccessCode``);
- classic / ordered, SDK over HTTP: ``python -m bridge`` (one worker, the async publisher) against
  ``bench.instant_sink``, which answers the classic bus's JSON 1.1 and EventsV2's smithy RPC v2 CBOR alike and
  at once: each path's whole cost as deployed (request building, signing, HTTP, parsing), with no emulator's
  cost in the ratio. Both paths use the same publisher; only the protocol differs (JSON written with orjson,
  CBOR with botocore's serializer).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import boto3
from pydantic import BaseModel, Field

from bench.bridge_figures import RunFigure, closed_round, open_run
from bench.procs import Child, python
from bench.servers import LOCAL_AWS_ENV, Server, start_bridge, start_bridge_http
from contract.env import AwsEnv, BridgeEnv, Env, EventsV2Env

CLASSIC_MEMORY = "classic, in-process sink"
ORDERED_MEMORY = "ordered, in-process sink"
CLASSIC_HTTP = "classic, SDK over HTTP"
ORDERED_HTTP = "ordered, SDK over HTTP"
#: (ordered, classic) pairs the report divides.
PAIRS = ((ORDERED_MEMORY, CLASSIC_MEMORY), (ORDERED_HTTP, CLASSIC_HTTP))
CONCURRENCY = (16, 64)
HTTP_OPEN_RATE = 1000.0
#: Any well-formed ARN does for the in-process sink (it accepts everything).
SINK_BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-busv2/exotel-legs/benchbenchbenchbenchbench"


class OrderedFigures(BaseModel):
    runs: list[RunFigure] = Field(default_factory=list)
    window_s: float = 0.0
    client_procs: int = 1
    notes: list[str] = Field(default_factory=list)

    def find(self, server: str, mode: str, concurrency: int = 0) -> RunFigure | None:
        for run in self.runs:
            if run.server == server and run.mode == mode and (mode == "open" or run.concurrency == concurrency):
                return run
        return None


def v2_env(bus_arn: str) -> dict[str, str]:
    return {Env.EVENT_BUS_KIND: "v2", Env.EVENT_BUS_ARN: bus_arn}


def start_local_eventsv2() -> tuple[str, str, Callable[[], None]]:
    """``python -m devstack.eventsv2`` on a free port with one bus (no subscribers); returns (url, bus ARN, stop)."""
    child = Child(
        [python(), "-m", "devstack.eventsv2"],
        lambda line: '"eventsv2_ready"' in line,
        env={**LOCAL_AWS_ENV, EventsV2Env.PORT: "0", "PYTHONUNBUFFERED": "1"},
        name="local EventsV2 endpoint",
    )
    ready = json.loads(next(line for line in child.lines if '"eventsv2_ready"' in line))
    client = boto3.client(
        "eventbridgev2",
        endpoint_url=ready["url"],
        region_name=LOCAL_AWS_ENV[AwsEnv.REGION],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bus_arn = client.create_event_bus(Name=f"bench-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    return ready["url"], bus_arn, child.stop


def run_ordered_figures(
    *,
    quick: bool,
    client_procs: int,
    log: Callable[[str], None] = print,
) -> OrderedFigures:
    window = 2.0 if quick else 4.0
    reps = 1  # one pass (servers still interleaved): keeps `make bench` within ~10 minutes
    open_seconds = 3.0 if quick else 6.0
    figures = OrderedFigures(window_s=window, client_procs=client_procs)
    servers: list[Server] = []
    cleanups: list[Callable[[], None]] = []
    try:
        servers.append(start_bridge(CLASSIC_MEMORY))
        servers.append(start_bridge(ORDERED_MEMORY, env=v2_env(SINK_BUS_ARN)))
        one = {BridgeEnv.WORKERS: "1"}
        servers.append(start_bridge_http(CLASSIC_HTTP, env=one))
        servers.append(start_bridge_http(ORDERED_HTTP, env={**one, **v2_env(SINK_BUS_ARN)}))

        for concurrency in CONCURRENCY:
            figures.runs += closed_round(
                servers,
                concurrency=concurrency,
                reps=reps,
                window_s=window,
                client_procs=client_procs,
                log=log,
            )
        for server in servers:
            if server.label not in (CLASSIC_HTTP, ORDERED_HTTP):
                continue
            figure = open_run(server, rate=HTTP_OPEN_RATE, seconds=open_seconds)
            figures.runs.append(figure)
            rate = f"{HTTP_OPEN_RATE:.0f} ev/s"
            log(f"  {rate} {server.label:<34} p50 {figure.p50_ms:6.2f} ms  p99 {figure.p99_ms:7.2f} ms")
    finally:
        for server in servers:
            server.stop()
        for cleanup in cleanups:
            cleanup()
    return figures


def _f(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def render_section(figures: OrderedFigures) -> list[str]:
    """The report's "Ordered path" section: throughput per server and the ordered/classic ratio per sink kind."""
    servers = [s for s in (CLASSIC_MEMORY, ORDERED_MEMORY, CLASSIC_HTTP, ORDERED_HTTP) if figures.find(s, "closed", 16)]
    head = " | ".join(f"c={c} ev/s | p99 ms" for c in CONCURRENCY)
    out = [
        "## Ordered path (EventsV2) next to the classic one",
        "",
        "Same run, same load generator (closed loop, "
        f"{figures.client_procs} client processes, {figures.window_s:.0f} s windows): the bridge with "
        "`EVENT_BUS_KIND=v2` against the same kind of sink as the classic bridge. The in-process sinks isolate the "
        "bridge's own cost; the HTTP rows are `python -m bridge` (one worker) against `bench.instant_sink`, which "
        "answers both protocols at once (classic: JSON 1.1 written with orjson; EventsV2: smithy RPC v2 CBOR "
        "written by botocore's serializer), so their ratio is the cost of the ordered path as deployed.",
        "",
        f"| server | {head} | entries/call (c=64) |",
        "|---|" + "---|---|" * len(CONCURRENCY) + "---|",
    ]
    for server in servers:
        cells = []
        for c in CONCURRENCY:
            run = figures.find(server, "closed", c)
            cells += [_f(run.throughput if run else None), _f(run.p99_ms if run else None, 1)]
        at64 = figures.find(server, "closed", 64)
        out.append(f"| {server} | {' | '.join(cells)} | {_f(at64.entries_per_call if at64 else None, 1)} |")
    out += [
        "",
        "| ordered / classic | " + " | ".join(f"c={c}" for c in CONCURRENCY) + " |",
        "|---|" + "---|" * len(CONCURRENCY),
    ]
    for ordered, classic in PAIRS:
        cells = []
        for c in CONCURRENCY:
            o, k = figures.find(ordered, "closed", c), figures.find(classic, "closed", c)
            cells.append(f"{o.throughput / k.throughput:.2f}x" if o and k and k.throughput else "n/a")
        out.append(f"| {ordered} / {classic} | {' | '.join(cells)} |")
    opens = [r for r in figures.runs if r.mode == "open"]
    if opens:
        out += ["", f"At a fixed {HTTP_OPEN_RATE:.0f} events/s offered (open loop), acknowledgement latency:", ""]
        out += [f"- {r.server}: p50 {_f(r.p50_ms, 1)} ms, p99 {_f(r.p99_ms, 1)} ms" for r in opens]
    out.append("")
    return out
