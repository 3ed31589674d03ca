"""What ``BRIDGE_LINGER_MS`` trades: acknowledgement latency at a fixed load against CPU and throughput at saturation.

The p99 target at 1,000 events/s (issue 14) pulls one way: an event that waits for company is answered later.
The throughput target pulls the other: every PutEvents call costs the bridge a fixed share of CPU (building,
signing, HTTP), so fuller batches leave more CPU for gRPC. This section measures both ends on the same servers,
interleaved: the deployed bridge (``python -m bridge`` against ``bench.instant_sink``) at several lingers, and
the no-op server as the baseline. The lowest p99 any linger reaches is the best this lever does on this machine.
Beside them at the fixed load, the contract's own floor: ``bench.relay_server``, which answers each event after
one PutEvents round trip to the same kind of endpoint and does nothing else (no bridge can answer sooner
and keep "acknowledged = on the bus").
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from bench.bridge_figures import (
    CLOSED_REPETITIONS,
    NOOP,
    OPEN_RATE,
    OPEN_REPETITIONS,
    OPEN_SECONDS,
    RunFigure,
    closed_round,
    open_round,
    paired_quartiles,
)
from bench.servers import Server, start_bridge_http, start_noop, start_relay
from bridge.config import DEFAULT_LINGER_MS
from contract.env import BridgeEnv

#: Lingers measured, in ms (the default first).
SETTINGS_MS = (DEFAULT_LINGER_MS, 5.0, 2.0, 0.0)
#: Closed-loop callers: a group smaller than two workers' batches, and saturation.
CALLERS = (16, 64)
#: The default linger under the rule before ``BRIDGE_LINGER_WHEN=busy``: whenever a batch is in flight or recent.
ALWAYS = f"bridge, linger {DEFAULT_LINGER_MS:g} ms, BRIDGE_LINGER_WHEN=always"
#: The contract's latency floor (open loop only: it neither batches nor is a candidate).
RELAY = "durable-ack floor (bench.relay_server)"


def label(linger_ms: float) -> str:
    return f"bridge, linger {linger_ms:g} ms"


class LingerFigures(BaseModel):
    runs: list[RunFigure] = Field(default_factory=list)
    settings_ms: list[float] = Field(default_factory=list)
    open_repetitions: int = 1

    def find(self, server: str, mode: str, concurrency: int = 0) -> RunFigure | None:
        return next(
            (
                r
                for r in self.runs
                if r.server == server and r.mode == mode and (mode == "open" or r.concurrency == concurrency)
            ),
            None,
        )

    def default_linger(self) -> tuple[str, RunFigure] | None:
        """The default setting (what a task runs) at the fixed load, with its label, if measured."""
        name = label(DEFAULT_LINGER_MS)
        run = self.find(name, "open")
        return None if run is None else (name, run)

    def best_linger(self) -> tuple[str, RunFigure] | None:
        """The setting whose p99 at the fixed load was lowest, with its figure."""
        measured = [(label(s), self.find(label(s), "open")) for s in self.settings_ms]
        found = [(name, run) for name, run in measured if run is not None]
        return min(found, key=lambda pair: pair[1].p99_ms) if found else None


def run_linger_figures(*, quick: bool, client_procs: int, log: Callable[[str], None] = print) -> LingerFigures:
    open_seconds = 3.0 if quick else OPEN_SECONDS
    open_reps = 1 if quick else OPEN_REPETITIONS
    window = 2.0 if quick else 4.0
    figures = LingerFigures(settings_ms=list(SETTINGS_MS), open_repetitions=open_reps)
    servers: list[Server] = []
    try:
        servers.append(start_noop(NOOP))
        for setting in SETTINGS_MS:
            servers.append(start_bridge_http(label(setting), env={BridgeEnv.LINGER_MS: f"{setting:g}"}))
        servers.append(
            start_bridge_http(
                ALWAYS, env={BridgeEnv.LINGER_MS: f"{DEFAULT_LINGER_MS:g}", BridgeEnv.LINGER_WHEN: "always"}
            )
        )
        relay = start_relay(RELAY)
        opened = [*servers, relay]
        servers.append(relay)  # stopped with the others; closed rounds below leave it out
        figures.runs += open_round(opened, reps=open_reps, seconds=open_seconds, log=log)
        for callers in CALLERS:
            figures.runs += closed_round(
                [server for server in servers if server is not relay],
                concurrency=callers,
                reps=1 if quick else CLOSED_REPETITIONS,
                window_s=window,
                client_procs=client_procs,
                log=log,
            )
    finally:
        for server in servers:
            server.stop()
    return figures


def _f(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def _x(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "n/a"


def render_section(figures: LingerFigures) -> list[str]:
    """The report's linger section: one row per setting, the no-op's figures beside them."""
    noop_open = figures.find(NOOP, "open")
    out = [
        "## The linger trade (`BRIDGE_LINGER_MS`)",
        "",
        "Same servers, interleaved: the deployed bridge (`python -m bridge`, SDK over HTTP) at each linger and the"
        " no-op server. Every linger row is under the default rule, `BRIDGE_LINGER_WHEN=busy` (wait for company only"
        " while the CPUs are busy); the `always` row is the rule before it (wait whenever a batch is in flight or"
        f" recent) at the default linger. Open loop: {OPEN_RATE:,.0f} events/s offered"
        f" (median p99 of {figures.open_repetitions} runs)."
        f" Closed loop: {' and '.join(str(c) for c in CALLERS)} callers.",
        "",
        "| server | p50 ms | p99 ms | p99 / no-op | entries / call | CPU ms / event | "
        + " | ".join(f"c={c} ev/s | / no-op | entries / call" for c in CALLERS)
        + " |",
        "|---|---|---|---|---|---|" + "---|---|---|" * len(CALLERS),
    ]
    rows = [NOOP] + [label(s) for s in figures.settings_ms]
    if figures.find(ALWAYS, "open") is not None:
        rows.append(ALWAYS)
    if figures.find(RELAY, "open") is not None:
        rows.append(RELAY)
    for server in rows:
        at = figures.find(server, "open")
        bridge = server != NOOP
        cells = [
            _f(at.p50_ms if at else None, 2),
            _f(at.p99_ms if at else None, 2),
            _x(at.p99_ms if at else None, noop_open.p99_ms if noop_open else None) if bridge else "1.00x",
            _f(at.entries_per_call if at and bridge else None),
            _f(at.cpu_ms_per_event if at else None, 3),
        ]
        for callers in CALLERS:
            run, base = figures.find(server, "closed", callers), figures.find(NOOP, "closed", callers)
            cells += [
                _f(run.throughput if run else None, 0),
                _x(run.throughput if run else None, base.throughput if base else None),
                _f(run.entries_per_call if run and bridge else None),
            ]
        out.append(f"| {server} | {' | '.join(cells)} |")
    best = figures.best_linger()
    relay = figures.find(RELAY, "open")
    if best is not None and noop_open is not None:
        name, run = best
        out += [
            "",
            f"The lowest p99 at {OPEN_RATE:,.0f} events/s was {_f(run.p99_ms, 2)} ms ({name}),"
            f" {_x(run.p99_ms, noop_open.p99_ms)} the no-op server's {_f(noop_open.p99_ms, 2)} ms. At that load the"
            " CPUs are not busy, so no row waits for company and the lingers differ little; a shorter linger shows"
            " at saturation instead, where each event then pays more of a PutEvents call's fixed cost (CPU per"
            f" event, entries per call). The default ({DEFAULT_LINGER_MS:g} ms) is the linger that keeps the"
            " saturation targets.",
        ]
        always = figures.find(ALWAYS, "open")
        if always is not None:
            out += [
                "",
                f"The rule before (`always`, {DEFAULT_LINGER_MS:g} ms) had a p99 of {_f(always.p99_ms, 2)} ms at this"
                f" load ({_x(always.p99_ms, noop_open.p99_ms)} the no-op's): its events waited for company the CPUs"
                " did not need.",
            ]
        if relay is not None:
            out += [
                "",
                "The contract's floor, measured beside them: `bench.relay_server` answers each event after one"
                " PutEvents round trip to an instant endpoint of its own and does nothing else (no validation,"
                f" batching or signing). Its p99 was {_f(relay.p99_ms, 2)} ms,"
                f" {_x(relay.p99_ms, noop_open.p99_ms)} the no-op's:"
                " what any server that acknowledges only events the bus has pays here before doing any work of its"
                f" own. The bridge's best linger was {_x(run.p99_ms, relay.p99_ms)} that floor.",
            ]
            out += _against_the_floor(figures, relay, noop_open)
    out.append("")
    return out


def _against_the_floor(figures: LingerFigures, relay: RunFigure, noop: RunFigure) -> list[str]:
    """The default linger (what a task runs) against the floor, and the floor against the no-op, run by run: the
    lowest p99 of several settings is picked after the fact, so it flatters; these are not picked."""
    found_default = figures.default_linger()
    text = ""
    if found_default is not None:
        default = found_default[1]
        ratio = _x(default.p99_ms, relay.p99_ms)
        text += f"At the default linger ({DEFAULT_LINGER_MS:g} ms) the bridge was {ratio} the floor"
        text += _quartiles_text(paired_quartiles(default, relay), "each bridge run over the floor's of the same round")
        text += ". "
    found = paired_quartiles(relay, noop)
    if found is not None:
        text += "The floor over the no-op" + _quartiles_text(found, "each run over the no-op's of the same round") + "."
    return ["", text.strip()] if text else []


def _quartiles_text(found: tuple[float, float, float] | None, how: str) -> str:
    if found is None:
        return ""
    lower, middle, upper = found
    return f", run by run ({how}): median {middle:.2f}x, middle half {lower:.2f}-{upper:.2f}x"
