"""Brings the whole adapter up in order, and down in reverse: emulator, resources, bridge, simulator, functions."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path

from contract.bus import BusMode
from contract.env import AwsEnv, BridgeEnv, Env, PowertoolsEnv, SimulatorEnv
from devstack.api_front import ApiFront
from devstack.children import Child
from devstack.config import LOCAL_ACCOUNT_SID, LOCAL_API_KEY, LOCAL_API_TOKEN, DevstackConfig, check_ports_free
from devstack.console import Console
from devstack.emulator import AwsEmulator, scrub_aws_settings
from devstack.functions import HandlerMissing, Invoker, LocalFunction
from devstack.logs import Printer, PrinterHandler, ThreadStdout
from devstack.ordered import OrderedBus, OrderedBusRef
from devstack.ready import ReadyInfo
from devstack.resources import Provisioned, Provisioner
from devstack.runner import LambdaRunner, QueueTrigger, ScheduleTrigger
from devstack.wiring import api_function, functions, module_of, trigger_queue_ids
from lambdas.domain.deadlines import Deadlines
from lambdas.shared.config import check_function

log = logging.getLogger("devstack")

REPO_ROOT = Path(__file__).resolve().parent.parent
CHILD_READY_TIMEOUT = 30.0
DEFAULT_TALK_SECONDS = 20  # simulated seconds a human talks before hanging up


def deadline_env(scale: float) -> dict[str, str]:
    """The call-plan deadlines (``PLAN_*``) scaled like the schedules, so that the sweeper acts in proportion."""
    scaled = Deadlines().scaled(scale)
    return {
        Env.PLAN_PENDING_DEADLINE_S: f"{scaled.pending:g}",
        Env.PLAN_HANGUP_DEADLINE_S: f"{scaled.hangup:g}",
        Env.PLAN_DIAL_DEADLINE_S: f"{scaled.dial:g}",
        Env.PLAN_REDIAL_SLACK_S: f"{scaled.redial_slack:g}",
        Env.PLAN_BRIDGING_DEADLINE_S: f"{scaled.bridging:g}",
        Env.PLAN_BRIDGED_DEADLINE_S: f"{scaled.bridged:g}",
        Env.PLAN_MESSAGE_DEADLINE_S: f"{scaled.message:g}",
    }


class Devstack:
    """Owns every part; :meth:`start` on the main thread (children's death signal follows it)."""

    def __init__(self, config: DevstackConfig, printer: Printer) -> None:
        self.config = config.with_free_ports()
        self.printer = printer
        self.stdout = ThreadStdout(printer, default_source="devstack")
        self.emulator = AwsEmulator(self.config)
        self.provisioned: Provisioned | None = None
        self.ordered: OrderedBus | None = None
        self.ordered_ref: OrderedBusRef | None = None
        self.children: list[Child] = []
        self.functions: dict[str, LocalFunction] = {}
        self.runner: LambdaRunner | None = None
        self.api: ApiFront | None = None
        self.console: Console | None = None
        self._saved_stdout, self._saved_stderr = sys.stdout, sys.stderr

    # ---- start ------------------------------------------------------------------------------------
    def start(self) -> ReadyInfo:
        started = time.monotonic()
        self._route_logs()
        check_ports_free(self.config)
        removed = scrub_aws_settings(os.environ)
        if removed:
            log.info("ignoring %s from the environment: everything here talks to the emulator", ", ".join(removed))
        self.emulator.start()
        provisioner = Provisioner(
            self.emulator,
            max_receive_count=self.config.max_receive_count,
            dlq_for=trigger_queue_ids(),
            event_source=self.config.event_source,
        )
        self.provisioned = provisioner.provision()
        if self.config.bus_mode is BusMode.ORDERED:
            self.ordered = OrderedBus(self.config, self.emulator, provisioner)
            self.ordered_ref = self.ordered.start()
        os.environ.update(self._function_env())
        self.children = [
            Child("bridge", "bridge", self._bridge_env(), self.config.bridge_port, self.printer, str(REPO_ROOT)),
            Child("simulator", "simulator", self._simulator_env(), self.config.sim_port, self.printer, str(REPO_ROOT)),
        ]
        for child in self.children:
            child.start()
        self._load_functions()  # imports overlap with the children's start-up
        for child in self.children:
            child.wait_ready(self.config.host, CHILD_READY_TIMEOUT)
        invoker = Invoker(self.stdout, self.config.aws_region)
        self.runner = LambdaRunner(
            self.emulator, invoker, self._triggers(), self.config.aws_region, schedules=self._schedules()
        )
        self.runner.start()
        api = self.functions.get(api_function())
        if api is None:
            raise RuntimeError("lambdas/api/handler.py is missing: there is no local API to serve")
        self.api = ApiFront(self.config.host, self.config.api_port, api, invoker)
        if self.config.console:
            self._start_console(self.api)
        self.api.start()
        if self.config.bridge_proto:
            method = self.config.bridge_rpc or "its one unary method"
            log.info("bridge and simulator speak %s (%s)", self.config.bridge_proto, method)
        log.info("everything accepts connections after %.1fs", time.monotonic() - started)
        info = self.ready_info()
        self.emulator.publish_ready(info.model_dump_json())
        return info

    def ready_info(self) -> ReadyInfo:
        assert self.api is not None and self.provisioned is not None
        host = self.config.host
        return ReadyInfo(
            pid=os.getpid(),
            api_url=f"http://{host}:{self.api.port}",
            sim_url=self.config.sim_url,
            bridge_endpoint=self.config.bridge_endpoint,
            aws_endpoint_url=self.emulator.endpoint_url,
            aws_region=self.config.aws_region,
            bus_name=self.provisioned.bus_name,
            api_port=self.api.port,
            sim_port=self.config.sim_port,
            bridge_port=self.config.bridge_port,
            aws_emulator_port=self.emulator.port,
            functions=sorted(self.functions),
            child_pids={child.name: child.pid for child in self.children if child.pid is not None},
            console_url=self.console.about["console_url"] if self.console else None,
            bus_mode=self.config.bus_mode.value,
            bus_arn=self.ordered_ref.bus_arn if self.ordered_ref else None,
            eventsv2_url=self.ordered_ref.endpoint_url if self.ordered_ref else None,
        )

    def _start_console(self, api: ApiFront) -> None:
        """The local console on the API's port (``/console``), fed by its own rule on the bus (ordered mode: its
        own UNORDERED subscriber on the local EventsV2 bus)."""
        assert self.provisioned is not None
        api_url = f"http://{self.config.host}:{api.port}"
        about = {
            "sim_url": self.config.sim_url,
            "bridge_endpoint": self.config.bridge_endpoint,
            "aws_endpoint_url": self.emulator.endpoint_url,
            "aws_region": self.config.aws_region,
            "sim_time_scale": self.config.sim_time_scale,
            "functions": sorted(self.functions),
        }
        self.console = Console(
            self.emulator,
            self.provisioned,
            event_source=self.config.event_source,
            api_url=api_url,
            about=about,
            ordered=self.ordered_ref,
            v2_client=self.ordered.endpoint_client if self.ordered is not None else None,
        )
        self.console.start()
        api.mount("/console", self.console.handle)

    # ---- stop -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Reverse order: no new requests, drain the runner, stop the children, then the emulator."""
        log.info("stopping…")
        if self.console is not None:
            self.console.stop()  # ends open event streams first: the API's server waits for no request thread
        if self.api is not None:
            self.api.stop()
        if self.runner is not None:
            self.runner.stop()
        for child in reversed(self.children):
            child.stop()
        if self.ordered is not None:
            self.ordered.stop()
        self.emulator.stop()
        log.info("stopped")
        sys.stdout, sys.stderr = self._saved_stdout, self._saved_stderr

    # ---- wiring -----------------------------------------------------------------------------------
    def _route_logs(self) -> None:
        root = logging.getLogger()
        root.handlers[:] = [PrinterHandler(self.printer)]
        root.setLevel(self.config.log_level)
        for chatty in ("botocore", "boto3", "urllib3", "werkzeug", "moto"):  # per HTTP call / parse step: too much
            logging.getLogger(chatty).setLevel(logging.WARNING)
        logging.captureWarnings(True)
        # Every function flushes its metrics; one with none to publish is normal here, not worth a warning.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # Powertools Logger and Metrics write to sys.stdout: route it, before any handler module is imported.
        sys.stdout = self.stdout
        sys.stderr = ThreadStdout(self.printer, default_source="devstack")

    def _aws_env(self) -> dict[str, str]:
        return self.emulator.env()

    def _function_env(self) -> dict[str, str]:
        """The env every function gets (one process, so the union of what each needs)."""
        assert self.provisioned is not None
        env = {
            **self._aws_env(),
            **self.provisioned.env(),
            Env.EXOTEL_BASE_URL: self.config.sim_url,
            Env.BRIDGE_ENDPOINT: self.config.bridge_endpoint,
            Env.EVENT_SOURCE: self.config.event_source,
            PowertoolsEnv.TRACE_DISABLED: "true",
            PowertoolsEnv.METRICS_NAMESPACE: self.config.metrics_namespace,
            PowertoolsEnv.LOG_LEVEL: self.config.log_level,
            **deadline_env(self.config.schedule_scale),
        }
        if self.ordered_ref is not None:
            env.update(self.ordered_ref.env())  # redrive replays EventsV2 entries onto the v2 bus
        return env

    def _child_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self._aws_env())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["LOG_LEVEL"] = self.config.log_level
        env.update(extra)
        return env

    def _service_env(self, proto_name: str, rpc_name: str) -> dict[str, str]:
        """The customer's service definition, under the child's own names (both children use the same one)."""
        env: dict[str, str] = {}
        if self.config.bridge_proto:
            env[proto_name] = self.config.bridge_proto
            if self.config.bridge_rpc:
                env[rpc_name] = self.config.bridge_rpc
        return env

    def _bridge_env(self) -> dict[str, str]:
        assert self.provisioned is not None
        return self._child_env(
            {
                **self._service_env(BridgeEnv.PROTO, BridgeEnv.RPC),
                BridgeEnv.PORT: str(self.config.bridge_port),
                BridgeEnv.HOST: self.config.host,
                BridgeEnv.WORKERS: "1",  # one process is plenty locally (a deployed task runs one per vCPU)
                Env.EVENT_BUS_NAME: self.provisioned.bus_name,
                Env.EVENT_SOURCE: self.config.event_source,
                Env.FALLBACK_QUEUE_URL: self.provisioned.env()[Env.FALLBACK_QUEUE_URL],
                Env.DEAD_LETTER_QUEUE_URL: self.provisioned.env()[Env.DEAD_LETTER_QUEUE_URL],
                **(self.ordered_ref.env() if self.ordered_ref is not None else {}),
            }
        )

    def _simulator_env(self) -> dict[str, str]:
        # The simulator's own talk time (5 s) ends a first leg before the second one answers: a two-party call
        # would always be abandoned. Long enough for the whole connect flow, unless the user says otherwise.
        talk = os.environ.get(SimulatorEnv.TALK_SECONDS) or str(DEFAULT_TALK_SECONDS)
        return self._child_env(
            {
                **self._service_env(SimulatorEnv.PUSH_PROTO, SimulatorEnv.PUSH_RPC),
                SimulatorEnv.TALK_SECONDS: talk,
                SimulatorEnv.LOG_LEVEL: os.environ.get(SimulatorEnv.LOG_LEVEL) or self.config.log_level,
                SimulatorEnv.PORT: str(self.config.sim_port),
                SimulatorEnv.HOST: self.config.host,
                SimulatorEnv.TIME_SCALE: str(self.config.sim_time_scale),
                SimulatorEnv.ACCOUNT_SID: LOCAL_ACCOUNT_SID,
                SimulatorEnv.API_KEY: LOCAL_API_KEY,
                SimulatorEnv.API_TOKEN: LOCAL_API_TOKEN,
                SimulatorEnv.INBOUND_ENDPOINT: self.config.bridge_endpoint,
            }
        )

    def _load_functions(self) -> None:
        for wiring in functions():
            function = LocalFunction(
                name=wiring.function,
                module=module_of(wiring),
                timeout_seconds=wiring.timeout_seconds,
                memory_mb=wiring.memory_mb,
            )
            try:
                # As in Lambda: the import is the cold start, and checks the function's variables (named if wrong).
                function.load(
                    {PowertoolsEnv.SERVICE_NAME: wiring.function, AwsEnv.LAMBDA_FUNCTION_NAME: wiring.function}
                )
            except HandlerMissing as exc:
                log.warning("function %s is not there (%s): nothing drains its queues", wiring.function, exc)
                continue
            check_function(wiring.function)  # also when the module was imported before (an in-process test)
            self.functions[wiring.function] = function
        log.info("functions loaded: %s", ", ".join(sorted(self.functions)) or "none")

    def _schedules(self) -> list[ScheduleTrigger]:
        """Scheduled functions (the sweeper) every ``schedule_seconds`` x ``DEVSTACK_SCHEDULE_SCALE``."""
        return [
            ScheduleTrigger(self.functions[w.function], w.schedule_seconds * self.config.schedule_scale)
            for w in functions()
            if w.schedule_seconds and w.function in self.functions
        ]

    def _triggers(self) -> list[QueueTrigger]:
        assert self.provisioned is not None
        triggers: list[QueueTrigger] = []
        for wiring in functions():
            function = self.functions.get(wiring.function)
            if function is None:
                continue
            if wiring.rule and self.ordered_ref is not None:  # a subscriber's queue, read as an SQS event source
                triggers.append(QueueTrigger(function, self.ordered_ref.queues[wiring.function], "sqs", 10))
            elif wiring.rule:
                rule_queue = self.provisioned.rules[wiring.function].queue
                triggers.append(QueueTrigger(function, rule_queue, "eventbridge", 10))
            for queue in wiring.sqs_triggers:
                triggers.append(QueueTrigger(function, self.provisioned.queues[queue.id], "sqs", wiring.batch_size))
        return triggers
