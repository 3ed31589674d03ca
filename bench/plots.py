"""The report's plots (SVG, matplotlib): what a reader should take in at a glance.

- ``throughput``: events/s against concurrent callers, the deployed bridge next to the no-op server;
- ``latency``: the acknowledgement latency distribution at 1,000 events/s offered (percentile against ms);
- ``ablation``: events/s at 64 callers, lever by lever, with the no-op server's as the line to reach;
- ``imports``: each handler's cold import against ``import boto3`` and the 2x line.

Written deterministically (no timestamp, fixed hash salt) so an unchanged figure does not change the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.report import Results

COLOURS = {
    "no-op": "#7f7f7f",
    "deployed": "#1f77b4",
    "one": "#2ca02c",
    "threads": "#d62728",
    "memory": "#9467bd",
    "asyncio": "#ff7f0e",
    "aiohttp": "#8c564b",
    "unpinned": "#17becf",
}


def write_plots(results: Results, folder: Path, relative_to: Path) -> dict[str, str]:
    """Write every plot the results allow; returns name -> path relative to ``relative_to`` (the report's folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "exotel-legs-bench", "font.size": 9})
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}

    def save(name: str, figure: object) -> None:
        path = folder / f"{name}.svg"
        figure.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})  # type: ignore[attr-defined]
        plt.close(figure)  # type: ignore[arg-type]
        written[name] = path.relative_to(relative_to).as_posix()

    bridge = results.bridge
    if bridge is not None:
        from bench.bridge_figures import (
            AIOHTTP,
            ASYNCIO_LOOP,
            BRIDGE,
            CONCURRENCY,
            LADDER,
            MEMORY,
            NOOP,
            ONE_WORKER,
            THREADS,
            UNPINNED,
        )

        style = {
            NOOP: COLOURS["no-op"],
            BRIDGE: COLOURS["deployed"],
            ONE_WORKER: COLOURS["one"],
            THREADS: COLOURS["threads"],
            MEMORY: COLOURS["memory"],
            ASYNCIO_LOOP: COLOURS["asyncio"],
            AIOHTTP: COLOURS["aiohttp"],
            UNPINNED: COLOURS["unpinned"],
        }
        figure, axes = plt.subplots(figsize=(6.4, 3.6))
        for server in (NOOP, BRIDGE, ONE_WORKER):
            points = [(c, r.throughput) for c in CONCURRENCY if (r := bridge.find(server, "closed", c))]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, marker="o", label=server, color=style[server])
        axes.set_xscale("log", base=2)
        axes.set_xticks(list(CONCURRENCY), [str(c) for c in CONCURRENCY])
        axes.set_xlabel("concurrent callers")
        axes.set_ylabel("events acknowledged / s")
        axes.set_ylim(bottom=0)
        axes.set_title("Throughput against callers (closed loop)")
        axes.grid(alpha=0.3)
        axes.legend()
        save("throughput", figure)

        opens = [
            (s, r) for s in (NOOP, BRIDGE, ONE_WORKER, THREADS) if (r := bridge.find(s, "open")) and r.quantiles_ms
        ]
        if opens:
            from bench.stats import QUANTILE_POINTS

            figure, axes = plt.subplots(figsize=(6.4, 3.6))
            # the tail stretched: y = -log10(1 - percentile/100), so 90, 99, 99.9 are evenly spaced
            points = [min(q, 99.95) for q in QUANTILE_POINTS]
            heights = [-math.log10(1 - q / 100) for q in points]
            for server, run in opens:
                values = [max(v, 0.01) for v in run.quantiles_ms]
                axes.plot(values, heights[: len(values)], label=server, color=style[server])
            ticks = [0, 50, 90, 99, 99.9]
            axes.set_yticks([-math.log10(1 - q / 100) for q in ticks], [f"p{q:g}" for q in ticks])
            axes.set_xscale("log")
            axes.set_xlabel("acknowledgement latency, ms (log)")
            axes.set_ylabel("percentile (tail stretched)")
            axes.set_title(f"Latency distribution at {opens[0][1].offered_rate:,.0f} events/s offered")
            axes.grid(alpha=0.3, which="both")
            axes.legend(loc="upper left", fontsize=8)
            save("latency", figure)

        ladder = [(s, r) for s in (*LADDER, MEMORY) if (r := bridge.find(s, "closed", 64))]
        noop64 = bridge.find(NOOP, "closed", 64)
        if ladder:
            figure, axes = plt.subplots(figsize=(6.4, 0.6 + 0.5 * len(ladder)))
            names = [server for server, _ in ladder]
            values = [run.throughput for _, run in ladder]
            axes.barh(names, values, color=[style[n] for n in names])
            for index, value in enumerate(values):
                share = f" ({value / noop64.throughput:.2f}x no-op)" if noop64 and noop64.throughput else ""
                axes.text(value, index, f" {value:,.0f}{share}", va="center")
            if noop64:
                axes.axvline(noop64.throughput, color=COLOURS["no-op"], linestyle="--", label="no-op server")
                axes.axvline(0.7 * noop64.throughput, color="black", linestyle=":", label="0.7x no-op (target)")
                axes.legend(loc="lower right")
            axes.invert_yaxis()
            axes.set_xlabel("events acknowledged / s at 64 callers")
            axes.set_title("Lever by lever")
            axes.set_xlim(0, max([*values, noop64.throughput if noop64 else 0]) * 1.35)
            save("ablation", figure)

    if results.imports:
        figures = [f for f in results.imports if not math.isnan(f.min_ms)]
        boto = next((f for f in figures if f.module == "boto3"), None)
        if figures:
            figure, axes = plt.subplots(figsize=(6.4, 0.6 + 0.35 * len(figures)))
            names = [f.module for f in figures]
            colours = [COLOURS["deployed"] if n.startswith("lambdas.") else COLOURS["no-op"] for n in names]
            axes.barh(names, [f.min_ms for f in figures], color=colours)
            if boto is not None:
                axes.axvline(2 * boto.min_ms, color="black", linestyle=":", label="2x import boto3 (target)")
                axes.legend(loc="lower right")
            axes.invert_yaxis()
            axes.set_xlabel("cold import, ms (min of samples)")
            axes.set_title("Lambda handlers: cold import")
            save("imports", figure)
    return written
