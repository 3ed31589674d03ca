"""A moto server in a subprocess on a loopback port: the AWS emulator tests talk to over real HTTP.

    with MotoServer() as moto:          # or moto = MotoServer(); moto.start()
        client = boto3.client("sqs", endpoint_url=moto.url, **LOCAL_AWS)
        moto.restart()                   # same port; moto keeps state in memory, so state is lost
        moto.stop()

``aws_env(url)`` gives the environment a subprocess needs to reach it (fake credentials, region,
``AWS_ENDPOINT_URL``). The server's output goes to a log file (``moto.log_path``) rather than a
pipe, so a chatty server can never block on a full pipe.

The child runs ``python -m tests.support.moto_server -H 127.0.0.1 -p PORT``: moto's own
``moto.server.main`` after :func:`speed_up_moto`. Why: moto 5.2 re-builds a jsonpath parser (a
yacc table) for 8 paths on every event it routes to a rule target, ~35 ms of CPU per event; the
cache makes routing to SQS about 20x faster. In-process users (``ThreadedMotoServer``,
``mock_aws``) can call :func:`speed_up_moto` themselves. Also beware: moto's SQS scans every
message of a queue on each send/receive, so a subscriber queue must be drained (received and
deleted) while events flow, not after thousands have piled up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from devstack.moto_tuning import speed_up_moto
from tests.support.ports import free_port

REGION = "us-east-1"
#: Keyword arguments for ``boto3.client(...)`` against a local emulator (no real credentials).
LOCAL_AWS: dict[str, str] = {
    "region_name": REGION,
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


def aws_env(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """Environment variables that point the AWS SDK of a child process at ``endpoint_url``."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class MotoServer:
    """``python -m moto.server -H 127.0.0.1 -p PORT`` as a managed child process."""

    def __init__(self, port: int | None = None, *, start_timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.mkdtemp(prefix="moto-")
        self.log_path = Path(self._log_dir) / f"moto-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the server and block until it answers HTTP; returns its URL."""
        if self.running:
            return self.url
        root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.moto_server", "-H", self.host, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1.0) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"moto server not ready on {self.url} after {self.start_timeout}s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill if it does not exit in ``timeout``)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    def restart(self) -> str:
        """Stop and start again on the same port (moto's in-memory state is gone afterwards)."""
        self.stop()
        return self.start()

    def reset(self) -> None:
        """Drop all emulated resources without restarting (moto's reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10.0):
            pass

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    speed_up_moto()
    from moto.server import main

    main(sys.argv[1:])
