"""Where the bridge's time goes: py-spy samples the bridge process while it is at saturation.

``py-spy record --format raw`` gives collapsed stacks; we sum samples by the *leaf* frame's
function (self time) and by the first project frame on the stack (inclusive time of the bridge's
own steps), which is enough to say which step to make cheaper.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from bench.loadgen import LoadSpec, run_load
from bench.servers import start_bridge_http

_OWN = ("bridge/", "legs/")


class ProfileFigure(BaseModel):
    tool: str
    samples: int = 0
    self_top: list[tuple[str, float]] = Field(default_factory=list)  # (function, % of samples)
    own_steps: list[tuple[str, float]] = Field(default_factory=list)  # (bridge/legs function, % inclusive)
    threads: list[tuple[str, float]] = Field(default_factory=list)
    error: str | None = None


def _frame_label(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    short = "/".join(Path(path).parts[-2:]) if path else "?"
    return f"{name} ({short})"


def analyse(
    raw: str, top: int = 12
) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]], list[tuple[str, float]]]:
    leaf: Counter[str] = Counter()
    own: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        threads[frames[0]] += count
        leaf[_frame_label(frames[-1])] += count
        seen: set[str] = set()
        for frame in frames:
            if any(marker in frame for marker in _OWN):
                label = _frame_label(frame)
                if label not in seen:
                    own[label] += count
                    seen.add(label)

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)] if total else []

    return total, pct(leaf), pct(own), pct(threads)


def profile_bridge(
    seconds: float = 6.0, concurrency: int = 64, client_procs: int = 2, env: dict[str, str] | None = None
) -> ProfileFigure:
    """The bridge as deployed (its own SDK client over HTTP to ``bench.instant_sink``), one worker so that
    py-spy sees the whole of it."""
    tool = shutil.which("py-spy") or str(Path(__import__("sys").executable).parent / "py-spy")
    if not Path(tool).exists():
        return ProfileFigure(tool="py-spy", error="py-spy is not installed (pip install py-spy)")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    server = start_bridge_http("bridge (profiled)", env={"BRIDGE_WORKERS": "1", **(env or {})})
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pyspy-") as tmp:
            out = Path(tmp) / "stacks.txt"
            argv = [
                tool,
                "record",
                "--pid",
                str(server.child.pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "-o",
                str(out),
            ]
            spy = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            load = threading.Thread(
                target=run_load,
                args=(
                    LoadSpec(
                        target=server.target,
                        concurrency=concurrency,
                        max_seconds=seconds + 1,
                        warmup_seconds=0.2,
                        max_events=10_000_000,
                        client_procs=client_procs,
                    ),
                ),
            )
            load.start()
            spy_out, _ = spy.communicate(timeout=seconds + 60)
            load.join(seconds + 60)
            if spy.returncode != 0 or not out.exists():
                return ProfileFigure(tool=version, error=f"py-spy failed ({spy.returncode}): {spy_out[-800:]}")
            total, leaf, own, threads = analyse(out.read_text())
            return ProfileFigure(tool=version, samples=total, self_top=leaf, own_steps=own, threads=threads)
    finally:
        server.stop()
