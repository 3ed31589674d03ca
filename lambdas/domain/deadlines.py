"""How long a call plan may stay in each state before the sweeper drives it on (seconds, all settings).

The defaults hold for Exotel's own time-outs: a leg is answered or ended within its ``timeout``
(30 s by default), a function runs at most 30 s (so a dial still unconfirmed after ``pending``
cannot still be in flight: re-issuing it cannot place a second call), a bridged call ends at the
leg's ``time_limit`` (4 h). Ending a leg is safe to repeat, so ``hangup`` is short: whoever is left
on the line is hung up again soon (the sweeper's own schedule adds to it).
The functions read overrides from ``PLAN_*`` variables (``lambdas.shared.config``); the devstack
scales them with its simulator's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Deadlines:
    pending: float = 60.0  # a dial / bridge neither confirmed nor refused: re-issued (or given up) after this
    hangup: float = 10.0  # a hangup / bridge stop / end message not confirmed: hung up (again) after this
    dial: float = 120.0  # a dial neither answered nor ended: hung up and counted as a failed dial
    redial_slack: float = 60.0  # a re-dial whose retry message never came: dialled after its delay + this
    bridging: float = 60.0  # the bridge asked for, the legs not joined: the call ends (bridge_failed)
    bridged: float = 14_400.0 + 600.0  # a bridged call still going after this (time_limit + 10 min): ended
    message: float = 60.0  # an end message whose say_completed never came: the leg is hung up
    max_tries: int = 3  # times an unconfirmed action is issued before it is given up

    @classmethod
    def with_overrides(cls, **values: float | None) -> Deadlines:
        """The defaults, with every value that is not None replaced (``max_tries`` is rounded down)."""
        d = cls()

        def pick(name: str, default: float) -> float:
            value = values.get(name)
            return default if value is None else value

        return cls(
            pending=pick("pending", d.pending),
            hangup=pick("hangup", d.hangup),
            dial=pick("dial", d.dial),
            redial_slack=pick("redial_slack", d.redial_slack),
            bridging=pick("bridging", d.bridging),
            bridged=pick("bridged", d.bridged),
            message=pick("message", d.message),
            max_tries=int(pick("max_tries", d.max_tries)),
        )

    def scaled(self, factor: float) -> Deadlines:
        """Every duration times ``factor`` (the devstack runs its simulator's clock faster)."""
        durations = {f.name: getattr(self, f.name) * factor for f in fields(self) if f.name != "max_tries"}
        return replace(self, **durations)
