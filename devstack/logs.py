"""One readable line per event, from every part: JSON log lines are condensed, each line gets its source.

Children (simulator, bridge) write to pipes that :func:`pump` re-prints; the in-process functions write to
``sys.stdout`` (Powertools Logger and Metrics do), which :class:`ThreadStdout` routes through the same
printer with the name of the function the current thread is running.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
import time
from typing import IO, Any

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40, "CRITICAL": 50, "FATAL": 50}
#: Keys a human does not need on every line (Powertools and our own log fields).
_NOISE = {
    "timestamp",
    "time",
    "ts",
    "asctime",
    "level",
    "levelname",
    "message",
    "msg",
    "event",
    "location",
    "service",
    "logger",
    "name",
    "xray_trace_id",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "sampling_rate",
    "exception_name",
    "exception",
    "stack_trace",
    "taskName",
    "correlation_id",
    "thread",
    "process",
}
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+")
_MAX_VALUE = 60
_MAX_FIELDS = 8
_MAX_LINE = 240
_WIDTH = 10


class Printer:
    """Writes ``HH:MM:SS.mmm source     LEVEL message k=v`` lines to the real stdout, one at a time."""

    def __init__(self, stream: IO[str] | None = None, level: str = "INFO") -> None:
        self._stream = stream or sys.__stdout__ or sys.stdout
        self._lock = threading.Lock()
        self.threshold = _LEVELS.get(level.upper(), 20)

    def emit(self, source: str, level: str, text: str) -> None:
        if _LEVELS.get(level.upper(), 20) < self.threshold:
            return
        tag = level.upper()[:4] if level.upper() not in ("INFO",) else "    "
        if len(text) > _MAX_LINE:
            text = text[: _MAX_LINE - 1] + "…"
        with self._lock:  # the stamp too: lines come out in time order
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
            self._stream.write(f"{stamp} {source:<{_WIDTH}} {tag} {text}".rstrip() + "\n")
            self._stream.flush()

    def raw(self, text: str) -> None:
        """Banner and machine-readable lines: printed as given, never filtered."""
        with self._lock:
            self._stream.write(text if text.endswith("\n") else text + "\n")
            self._stream.flush()

    def line(self, source: str, text: str) -> None:
        """A line some part wrote: condensed when it is JSON, kept as it is otherwise."""
        level, message = condense(text)
        if message is not None:
            self.emit(source, level, message)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def condense(text: str) -> tuple[str, str | None]:
    """``(level, message)`` for one line; ``message`` None means "nothing worth showing" (blank line)."""
    stripped = text.rstrip("\r\n")
    if not stripped.strip():
        return "INFO", None
    if not stripped.lstrip().startswith("{"):
        plain = _STAMP.sub("", stripped, count=1)  # the printer adds its own time
        return _guess_level(plain), plain
    try:
        record = json.loads(stripped)
    except ValueError:
        return _guess_level(stripped), stripped
    if not isinstance(record, dict):
        return "INFO", stripped
    if "_aws" in record and "CloudWatchMetrics" in record.get("_aws", {}):
        return "DEBUG", _metrics_line(record)
    level = str(record.get("level") or record.get("levelname") or "INFO").upper()
    message = record.get("message", record.get("msg", record.get("event", "")))
    if not isinstance(message, str):
        message = _short(message)
    fields = [
        f"{key}={_short(value)}" for key, value in record.items() if key not in _NOISE and value not in (None, "")
    ]
    parts = [message, *fields[:_MAX_FIELDS]]
    if record.get("exception"):
        last = str(record["exception"]).strip().splitlines()[-1:]
        parts.append(f"!! {last[0] if last else record.get('exception_name', 'exception')}")
    return level, " ".join(part for part in parts if part)


def _metrics_line(record: dict[str, Any]) -> str:
    names = [m.get("Name") for block in record["_aws"]["CloudWatchMetrics"] for m in block.get("Metrics", [])]
    values = ", ".join(f"{name}={_short(record.get(name))}" for name in names if name)
    return f"metrics {values}"


def _guess_level(text: str) -> str:
    head = text[:40].upper()
    for name in ("ERROR", "WARNING", "WARN", "DEBUG", "CRITICAL"):
        if name in head:
            return name
    if text.startswith("Traceback") or text.startswith("  File "):
        return "ERROR"
    return "INFO"


def pump(stream: IO[bytes], source: str, printer: Printer) -> None:
    """Re-print a child's output line by line until it closes (runs in its own thread)."""
    for raw in iter(stream.readline, b""):
        printer.line(source, raw.decode("utf-8", errors="replace"))
    stream.close()


_current = threading.local()  # which function the current thread runs: shared by stdout and stderr


class ThreadStdout(io.TextIOBase):
    """A ``sys.stdout`` (or ``stderr``) that sends each complete line to the printer, tagged with the source the
    current thread runs (a function's name while it is invoked)."""

    def __init__(self, printer: Printer, default_source: str = "devstack") -> None:
        super().__init__()
        self._printer = printer
        self._default = default_source
        self._local = threading.local()  # this stream's partial line, per thread

    @property
    def source(self) -> str:
        return getattr(_current, "source", None) or self._default

    @source.setter
    def source(self, value: str | None) -> None:
        _current.source = value

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending = getattr(self._local, "pending", "") + text
        *lines, rest = pending.split("\n")
        self._local.pending = rest
        for line in lines:
            self._printer.line(self.source, line)
        return len(text)

    def flush(self) -> None:
        pending = getattr(self._local, "pending", "")
        if pending:
            self._local.pending = ""
            self._printer.line(self.source, pending)


class PrinterHandler(logging.Handler):
    """Routes the devstack's own ``logging`` records (and stray library ones) through the printer."""

    def __init__(self, printer: Printer, source: str = "devstack") -> None:
        super().__init__()
        self._printer = printer
        self._source = source

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f" !! {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
            source = getattr(record, "source", None) or self._source
            self._printer.emit(source, record.levelname, message)
        except Exception:  # a log line must never take a part down
            self.handleError(record)
