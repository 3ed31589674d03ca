"""``python -m devstack`` (what ``make run`` starts): the whole adapter in the foreground until Ctrl-C/SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from devstack.banner import banner
from devstack.config import DevstackConfig
from devstack.logs import Printer
from devstack.stack import Devstack, ReadyInfo
from devstack.stopflag import StopFlag
from legs.settings import ConfigError

log = logging.getLogger("devstack")

READY_PREFIX = "DEVSTACK READY "
ENV_HELP = """environment (0 = any free port):
  AWS_EMULATOR_PORT 4566   SIM_PORT 8080   BRIDGE_PORT 50051   API_PORT 3000   AWS_REGION us-east-1
  SIM_TIME_SCALE 0.2 (1 = real time)   SIM_TALK_SECONDS 20   DEVSTACK_LOG_LEVEL INFO
  DEVSTACK_MAX_RECEIVE_COUNT 3         DEVSTACK_BUS_MODE classic (ordered: local EventsV2 bus)
  other SIM_* / BRIDGE_* go to the simulator / bridge as they are
see docs/DEVSTACK.md"""


def write_ready_file(path: Path, info: ReadyInfo) -> None:
    """Atomically: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="The whole adapter locally (AWS emulator, simulator, bridge, functions, local API) until Ctrl-C.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ready-file", type=Path, help="write the ports (JSON) here once everything is up")
    parser.add_argument("--no-banner", action="store_true", help="only the one-line READY record, no banner")
    args = parser.parse_args(argv)
    try:
        config = DevstackConfig.from_env()
    except ConfigError as exc:  # one line per problem, each naming the variable
        print(f"devstack: {exc}", file=sys.stderr)
        return 2

    printer = Printer(level=config.log_level)
    stopping = StopFlag().install()

    stack = Devstack(config, printer)
    code = 0
    try:
        info = stack.start()
        if not args.no_banner:
            printer.raw(banner(info, stack.config.sim_time_scale))
        printer.raw(READY_PREFIX + json.dumps(info.model_dump(), separators=(",", ":")))
        if args.ready_file:
            write_ready_file(args.ready_file, info)
        while not stopping.wait(0.5):
            dead = [child.name for child in stack.children if not child.alive()]
            if dead:
                log.error("%s exited unexpectedly: stopping the devstack", ", ".join(dead))
                code = 1
                break
    except Exception as exc:  # a failed start: say why, then clean up what was started
        log.error("devstack could not start: %s", exc, exc_info=config.log_level == "DEBUG")
        code = 1
    finally:
        if stopping.signal_name:
            log.info("received %s", stopping.signal_name)
        stack.stop()
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
