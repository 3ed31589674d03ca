"""The AWS emulator: moto's threaded server inside the devstack process, and the env that points SDKs at it."""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from contract.env import AwsEnv
from devstack.config import DevstackConfig
from devstack.moto_tuning import speed_up_moto
from devstack.ready import READY_PATH

log = logging.getLogger("devstack.emulator")

#: Dummy credentials: moto accepts anything, and real AWS must never be reached by accident.
DUMMY_KEY = "devstack"
DUMMY_SECRET = "devstack"


#: Settings from the user's shell that would point an SDK elsewhere (a profile, a session, a per-service endpoint).
_FOREIGN_AWS_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", AwsEnv.SESSION_TOKEN, "AWS_SECURITY_TOKEN")


def scrub_aws_settings(environ: MutableMapping[str, str]) -> list[str]:
    """Remove what would send an SDK to real AWS (or fail on a missing profile); returns the names removed."""
    names = [n for n in environ if n in _FOREIGN_AWS_SETTINGS or n.startswith("AWS_ENDPOINT_URL_")]
    for name in names:
        environ.pop(name, None)
    return names


class _AtomicDynamoDB:
    """WSGI middleware: one DynamoDB request at a time.

    moto applies an ``UpdateItem`` step by step to the stored item, so a ``GetItem`` in another server thread
    can see half of it (e.g. only the keys of a new item); DynamoDB's writes are atomic. Other services are
    left concurrent (an SQS long poll must not hold up the rest).
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class _ReadyRoute:
    """WSGI middleware: ``GET /_devstack/ready`` answers the devstack's READY record (``devstack.ready``).

    503 until the devstack has published it; every other request goes to moto.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self.ready_json: bytes | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != READY_PATH:
            return self._app(environ, start_response)
        body = self.ready_json
        if environ.get("REQUEST_METHOD") != "GET":
            body, status = b'{"message": "GET only"}', "405 Method Not Allowed"
        elif body is None:
            body, status = b'{"ready": false, "message": "the devstack is still starting"}', "503 Service Unavailable"
        else:
            status = "200 OK"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class _MotoServer(ThreadedMotoServer):
    """moto's server, with atomic DynamoDB requests, the READY route, and a bind failure reported instead of
    hanging ``start()``."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.error: BaseException | None = None
        self.ready = _ReadyRoute(_AtomicDynamoDB(DomainDispatcherApplication(create_backend_app)))

    def _server_entry(self) -> None:  # moto's own, plus the middleware and the error report
        try:
            app = self.ready
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        except BaseException as exc:  # reported by start()
            self.error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()


class AwsEmulator:
    """Starts moto on ``host:port`` (0 = any free port) and hands out boto3 clients bound to it."""

    def __init__(self, config: DevstackConfig) -> None:
        self._config = config
        self._server = _MotoServer(config.host, config.aws_emulator_port)
        self.port = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is too chatty
        speed_up_moto()
        self._server.start()
        if self._server.error is not None:
            raise RuntimeError(
                f"AWS emulator could not listen on {self._config.host}:{self._config.aws_emulator_port}: "
                f"{self._server.error} (is another devstack running? set AWS_EMULATOR_PORT)"
            ) from self._server.error
        self.port = int(self._server.get_host_and_port()[1])
        log.info("AWS emulator (moto) listening on %s", self.endpoint_url)

    def stop(self) -> None:
        if self.port:
            self._server.stop()
            self.port = 0

    def publish_ready(self, ready_json: str) -> None:
        """Serve the devstack's READY record at ``READY_PATH`` (``python -m devstack.subscribe`` reads it)."""
        self._server.ready.ready_json = ready_json.encode("utf-8")

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._config.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """What every part (children and in-process functions) needs to talk to the emulator, not to AWS."""
        return {
            AwsEnv.ENDPOINT_URL: self.endpoint_url,
            AwsEnv.REGION: self._config.aws_region,
            AwsEnv.DEFAULT_REGION: self._config.aws_region,
            AwsEnv.ACCESS_KEY_ID: DUMMY_KEY,
            AwsEnv.SECRET_ACCESS_KEY: DUMMY_SECRET,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str) -> Any:
        with self._lock:  # boto3's default session is not thread-safe while creating clients
            return boto3.session.Session().client(service, **self._client_settings())

    def resource(self, service: str) -> Any:
        """A boto3 resource (e.g. DynamoDB ``Table``s) bound to the emulator; not thread-safe: one per user."""
        with self._lock:
            return boto3.session.Session().resource(service, **self._client_settings())

    def _client_settings(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self._config.aws_region,
            "aws_access_key_id": DUMMY_KEY,
            "aws_secret_access_key": DUMMY_SECRET,
            "config": Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=30),
        }
