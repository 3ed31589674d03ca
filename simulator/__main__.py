"""``python -m simulator``: run the local Exotel until SIGINT/SIGTERM. Settings: SIM_* env vars."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys

from contract.env import SimulatorEnv
from legs.settings import ConfigError
from simulator.server import Simulator, SimulatorConfig

#: Blocked in every thread (the mask is set before any starts) and taken by the main thread's ``sigwait``: a
#: Python handler runs only once the main thread is interrupted, and a SIGTERM the kernel hands to another
#: thread (the parent-death one included) could leave it asleep in ``Event.wait`` for good.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

#: Seconds a stop may take (it takes well under one) before faulthandler prints every thread's stack and exits
#: the process: a child of a killed devstack must not outlive it, whatever it hangs on.
STOP_BUDGET_S = 10.0


def main() -> int:
    try:
        config = SimulatorConfig.from_env()
    except ConfigError as exc:  # one line per problem, each naming the SIM_* variable
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(name)s %(message)s")
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # before any thread starts: see STOP_SIGNALS
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
    signal.sigwait(STOP_SIGNALS)
    faulthandler.dump_traceback_later(STOP_BUDGET_S, exit=True)  # see STOP_BUDGET_S
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
