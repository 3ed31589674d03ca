"""The servers a throughput run compares, each in its own process: no-op baseline, bridge + sink."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.procs import Child, cpu_seconds, python, rss_mib
from bench.stats import LoadResult

LOCAL_AWS_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Server:
    """One server under test: a label for the report, its process, and how to read its sink counters."""

    label: str
    child: Child
    port: int
    has_sink: bool
    #: where the sink counters come from when they are not the bridge process's own (an HTTP sink's stats URL)
    stats_url: str | None = None
    #: what else to stop with this server (its sink process)
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rss(self) -> float:
        return rss_mib(self.child.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.child.pid)

    def sink_stats(self) -> dict[str, int] | None:
        if self.stats_url is not None:
            with urllib.request.urlopen(self.stats_url, timeout=10) as reply:
                return json.loads(reply.read())
        if not self.has_sink:
            return None
        mark = len(self.child.lines)
        self.child.send("stats")
        line = self.child.wait_line(lambda text: text.startswith("stats "), timeout=10, start=mark)
        if line is None:
            raise RuntimeError(f"{self.label}: no stats reply")
        return json.loads(line.split(" ", 1)[1])

    def stop(self) -> None:
        self.child.stop()
        for cleanup in self.cleanups:
            cleanup()


def start_noop(label: str = "no-op grpcio server", loop: str = "asyncio") -> Server:
    child = Child(
        [python(), "-m", "bench.noop_server", "--loop", loop], lambda line: line.startswith("noop ready"), name=label
    )
    port = int(child.lines[-1].split()[-1])
    return Server(label, child, port, has_sink=False)


def start_instant_sink() -> tuple[str, str, Child]:
    """``bench.instant_sink`` in its own process: (endpoint URL, stats URL, the child)."""
    child = Child(
        [python(), "-m", "bench.instant_sink"], lambda line: line.startswith("instant-sink ready"), name="sink"
    )
    port = int(child.lines[-1].split()[-1])
    url = f"http://127.0.0.1:{port}"
    return url, f"{url}/__bench/stats", child


def start_bridge_http(label: str, env: dict[str, str] | None = None) -> Server:
    """``python -m bridge`` exactly as deployed (its own SDK client over HTTP, ``BRIDGE_WORKERS`` processes)
    against an instant PutEvents endpoint in a process of its own; counters come from the endpoint."""
    url, stats_url, sink = start_instant_sink()
    full_env = {
        **LOCAL_AWS_ENV,
        "AWS_ENDPOINT_URL": url,
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": "0",
        "BRIDGE_METRICS_INTERVAL_S": "3600",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    try:
        child = Child(
            [python(), "-m", "bridge"], lambda line: '"bridge ready"' in line, env=full_env, name=label, timeout=90
        )
    except BaseException:
        sink.stop()
        raise
    ready = next((line for line in child.lines if '"bridge ready"' in line), None)
    if ready is None:
        tail = "\n".join(child.lines[-30:])
        child.stop()
        sink.stop()
        raise RuntimeError(f"{label} exited before it was ready:\n{tail}")
    server = Server(label, child, int(json.loads(ready)["port"]), has_sink=True, stats_url=stats_url)
    server.cleanups.append(sink.stop)
    return server


def start_relay(label: str) -> Server:
    """``bench.relay_server`` (one PutEvents round trip before each answer, nothing else) against an instant
    endpoint of its own: the latency floor of any server that acknowledges only what the bus has."""
    url, stats_url, sink = start_instant_sink()
    try:
        child = Child(
            [python(), "-m", "bench.relay_server", "--endpoint", url],
            lambda line: line.startswith("relay ready"),
            name=label,
        )
    except BaseException:
        sink.stop()
        raise
    server = Server(label, child, int(child.lines[-1].split()[-1]), has_sink=True, stats_url=stats_url)
    server.cleanups.append(sink.stop)
    return server


def start_bridge(
    label: str, sink: str = "memory", env: dict[str, str] | None = None, sink_latency_ms: float = 0.0
) -> Server:
    full_env = {**LOCAL_AWS_ENV, "BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": "0", "BRIDGE_METRICS_INTERVAL_S": "3600"}
    full_env.update(env or {})
    argv = [python(), "-m", "bench.bridge_proc", "--sink", sink, "--sink-latency-ms", str(sink_latency_ms)]
    child = Child(argv, lambda line: line.startswith("bench-bridge ready"), env=full_env, name=label)
    ready = next((line for line in child.lines if line.startswith("bench-bridge ready")), None)
    if ready is None:
        tail = "\n".join(child.lines[-30:])
        child.stop()
        raise RuntimeError(f"{label} exited before it was ready:\n{tail}")
    return Server(label, child, int(ready.split()[-1]), has_sink=True)


@dataclass
class Measured:
    """One load run against one server, with the server-side figures taken around it."""

    server: str
    load: LoadResult
    server_cpu_s: float
    put_events_calls: int | None = None
    entries: int | None = None

    @property
    def entries_per_call(self) -> float | None:
        if not self.put_events_calls:
            return None
        return (self.entries or 0) / self.put_events_calls

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.server_cpu_s / self.load.total if self.load.total else float("nan")
