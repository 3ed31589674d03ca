"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel


class Machine(BaseModel):
    nproc: int
    cpu_model: str
    python: str
    platform: str
    load_average: str
    memory_gib: float
    grpcio: str
    git_commit: str


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe(repo: Path) -> Machine:
    import grpc

    load = os.getloadavg()
    return Machine(
        nproc=os.cpu_count() or 0,
        cpu_model=_cpu_model(),
        python=sys.version.split()[0],
        platform=platform.platform(),
        load_average=" ".join(f"{x:.2f}" for x in load),
        memory_gib=_memory_gib(),
        grpcio=grpc.__version__,
        git_commit=_git_commit(repo),
    )


class StealMeter:
    """Share of the CPUs' time the hypervisor gave to someone else (``/proc/stat`` steal) while the block ran:
    what a reader needs to weigh the latency figures of a shared machine. ``percent`` is None where it cannot
    be read."""

    def __init__(self, path: Path = Path("/proc/stat")) -> None:
        self._path = path
        self._start: tuple[int, int] | None = None
        self.percent: float | None = None

    def _read(self) -> tuple[int, int] | None:
        try:
            with self._path.open("rb") as stat:
                fields = [int(value) for value in stat.readline().split()[1:]]
            return fields[7], sum(fields[:8])  # steal; user nice system idle iowait irq softirq steal
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> StealMeter:
        self._start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        if self._start is not None and end is not None and end[1] > self._start[1]:
            self.percent = 100.0 * (end[0] - self._start[0]) / (end[1] - self._start[1])
