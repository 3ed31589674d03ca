"""``python -m simulator``: run the local Exotel until SIGINT/SIGTERM. Settings: SIM_* env vars."""

from __future__ import annotations

import logging
import sys

from contract.env import SimulatorEnv
from legs.settings import ConfigError
from simulator.server import Simulator, SimulatorConfig
from simulator.stopping import await_stop_signal, block_stop_signals


def main() -> int:
    try:
        config = SimulatorConfig.from_env()
    except ConfigError as exc:  # one line per problem, each naming the SIM_* variable
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(name)s %(message)s")
    block_stop_signals()  # before any thread starts
    try:
        sim = Simulator(config)  # loads SIM_PUSH_PROTO: a definition that cannot work stops here
    except ValueError as exc:
        print(f"simulator: {SimulatorEnv.PUSH_PROTO}: {exc}", file=sys.stderr)
        return 2
    try:
        sim.start()
    except OSError as exc:
        print(f"simulator: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    print(f"simulator ready on {sim.base_url}", flush=True)
    await_stop_signal()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
