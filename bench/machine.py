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
