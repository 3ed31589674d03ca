"""The routing table and the wiring: every function is wired once, patterns are what the reactors expect."""

from __future__ import annotations

from contract.bus import DEFAULT_SOURCE
from lambdas import wiring
from lambdas.domain.plan_ref import PlanRef, parse_plan_param
from lambdas.routing import routes
from tests.lambdas.flow import routed_functions
from tests.lambdas.kit import eventbridge, leg_event

ROUTES = routes(DEFAULT_SOURCE)


def test_plan_param_round_trip() -> None:
    ref = PlanRef("abc123", "agent", 3)
    assert ref.custom_param == "call:abc123:agent:3"
    assert parse_plan_param(ref.custom_param) == ref
    for bad in (None, "", "call:", "call:abc", "call:abc:agent:x", "order-1", "call::agent:1"):
        assert parse_plan_param(bad) is None


def test_events_reach_the_functions_the_table_names() -> None:
    plan = "call:p1:customer:1"
    answered = eventbridge(leg_event("leg_answered", "L1", custom_param=plan, answered_by="HUMAN"))
    assert sorted(routed_functions(answered)) == ["connect", "leg_state"]
    machine = eventbridge(leg_event("leg_answered", "L1", custom_param=plan, answered_by="MACHINE"))
    assert sorted(routed_functions(machine)) == ["amd", "connect", "leg_state"]
    ended = eventbridge(leg_event("leg_terminated", "L1", custom_param=plan, terminal_status="busy"))
    assert sorted(routed_functions(ended)) == ["connect", "leg_state", "retry"]
    plain = eventbridge(leg_event("leg_terminated", "L1", custom_param="order-7"))
    assert routed_functions(plain) == ["leg_state"]
    ringing = eventbridge(leg_event("leg_ringing", "L1", custom_param=plan))
    assert routed_functions(ringing) == ["leg_state"]
    # the first event of a leg confirms its dial; an end message's say_* events make connect hang up
    connecting = eventbridge(leg_event("leg_connecting", "L1", custom_param=plan))
    assert sorted(routed_functions(connecting)) == ["connect", "leg_state"]
    for name in ("say_completed", "say_interrupted", "play_failed_to_start"):
        said = eventbridge(leg_event(name, "L1", custom_param=plan, action_custom_parameter="end_with_message:L1"))
        assert sorted(routed_functions(said)) == ["connect", "leg_state"], name  # and the leg's timeline
    other = eventbridge(leg_event("say_completed", "L1", custom_param="order-7"))
    assert routed_functions(other) == ["leg_state"]  # no plan: only the timeline records it


def test_wiring_covers_every_function_with_a_handler_module() -> None:
    import importlib

    assert {r.function for r in ROUTES} | {"api", "redrive", "sweeper"} == set(wiring.WIRING)
    for name, entry in wiring.WIRING.items():
        module = importlib.import_module(f"lambdas.{name}.handler")
        assert callable(module.handler), name
        assert entry.handler == f"lambdas.{name}.handler.handler"
        assert entry.env, name
    assert [q.id for q in wiring.WIRING["redrive"].sqs_triggers] == ["BridgeFallback"]
    assert [q.id for q in wiring.WIRING["retry"].sqs_triggers] == ["RetryDelay"]
    assert wiring.as_dicts()["retry"]["sqs"] == wiring.WIRING["retry"].sqs_triggers
    scheduled = {name: w.schedule_seconds for name, w in wiring.WIRING.items() if w.schedule_seconds}
    assert scheduled == {"sweeper": 60} and not wiring.WIRING["sweeper"].rule
