"""``python -m bench [--quick] [--sections ...] [--out docs/PERFORMANCE.md]``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import describe
from bench.procs import REPO
from bench.report import PLOTS_DIR, Results, render

SECTIONS = ("bridge", "linger", "ordered", "profile", "e2e", "imports", "synth")


def _log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmarks; writes docs/PERFORMANCE.md")
    parser.add_argument("--quick", action="store_true", help="short windows, one repetition (about 2 minutes)")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    parser.add_argument("--out", default=str(REPO / "docs" / "PERFORMANCE.md"), help="where to write the report")
    parser.add_argument("--json", default=None, help="also write the raw figures as JSON here")
    parser.add_argument("--client-procs", type=int, default=2, help="load generator processes (closed loop)")
    parser.add_argument("--no-memory-sink", action="store_true", help="skip the in-process sink (secondary) line")
    parser.add_argument("--from-json", default=None, help="re-render the report from a --json file; measure nothing")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))} (choose from {', '.join(SECTIONS)})")

    if args.from_json:
        from bench.plots import write_plots

        results = Results.model_validate_json(Path(args.from_json).read_text())
        out = Path(args.out)
        results.plots = write_plots(results, out.parent / PLOTS_DIR, relative_to=out.parent)
        out.write_text(render(results))
        _log(f"wrote {args.out} from {args.from_json}")
        return 0
    started = time.monotonic()
    results = Results(
        command="python -m bench"
        + (" " + shlex.join(argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else ""),
        machine=describe(REPO),
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        sections=sections,
    )
    if "bridge" in sections:
        from bench.bridge_figures import run_bridge_figures
        from bench.micro import run_micro

        _log("bridge: the deployed bridge (SDK over HTTP) vs a no-op server, and the levers on/off")
        results.bridge = run_bridge_figures(
            quick=args.quick,
            client_procs=args.client_procs,
            include_memory_sink=not args.no_memory_sink,
            log=_log,
        )
        results.micro = run_micro(quick=args.quick)
        for figure in results.micro:
            _log(f"  micro {figure.step:<44} {figure.before_us:8.1f} -> {figure.after_us:8.1f} us")
    if "linger" in sections:
        from bench.linger_figures import run_linger_figures

        _log("linger: BRIDGE_LINGER_MS, latency at a fixed load against throughput at saturation")
        results.linger = run_linger_figures(quick=args.quick, client_procs=args.client_procs, log=_log)
    if "ordered" in sections:
        from bench.ordered_figures import run_ordered_figures

        _log("ordered: the EventsV2 path's throughput next to the classic one (in-process and HTTP sinks)")
        results.ordered = run_ordered_figures(quick=args.quick, client_procs=args.client_procs, log=_log)
    if "profile" in sections:
        from bench.profile import profile_bridge

        _log("profile: py-spy on the bridge at 64 callers")
        results.profile = profile_bridge(seconds=4 if args.quick else 8, client_procs=args.client_procs)
        if results.profile.error:
            _log(f"  {results.profile.error}")
    if "e2e" in sections:
        from bench.e2e import run_e2e

        _log("e2e: devstack, event pushed -> leg_state ran")
        results.e2e = run_e2e(args.quick)
        _log(f"  {results.e2e.model_dump_json()}")
    if "imports" in sections:
        from bench.imports import run_imports

        _log("imports: cold import of each Lambda handler")
        results.imports = run_imports(args.quick)
        for figure in results.imports:
            error = figure.error or ""
            _log(f"  {figure.module:<40} min {figure.min_ms:7.1f} ms  median {figure.median_ms:7.1f} ms {error}")
    if "synth" in sections:
        from bench.synth import run_synth

        _log("synth: python app.py")
        results.synth = run_synth(args.quick)
        for figure in results.synth:
            _log(f"  {figure.label:<48} {figure.seconds:7.2f} s exit {figure.exit_code}")
    results.duration_s = time.monotonic() - started
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from bench.plots import write_plots

    results.plots = write_plots(results, out.parent / PLOTS_DIR, relative_to=out.parent)
    out.write_text(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results.model_dump(mode="json"), indent=1))
    _log(f"wrote {out} in {results.duration_s:.0f} s")
    return 0
