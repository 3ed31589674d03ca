"""The console's pieces on their own: time parsing, the merged timeline, the feed's memory (no devstack)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.config import DevstackConfig
from devstack.console.feed import BusFeed
from devstack.console.views import merge_timeline
from devstack.times import epoch_ms

pytestmark = pytest.mark.component


def test_event_times_keep_nanoseconds_and_zones() -> None:
    assert epoch_ms("2023-06-05T12:08:45.743609442Z") == pytest.approx(1685966925743.609442)
    assert epoch_ms("2023-06-05T17:38:45.5+05:30") == pytest.approx(1685966925500.0)
    assert epoch_ms("2023-06-05T12:08:45Z") == 1685966925000.0
    assert epoch_ms({"seconds": 1685966925, "nanos": 743609442}) == pytest.approx(1685966925743.609442)
    assert epoch_ms("yesterday") is None and epoch_ms(None) is None and epoch_ms(True) is None


def _detail(sid: str, name: str, second: int, leg: str = "L1", **data: Any) -> dict[str, Any]:
    return {
        "event_sid": sid,
        "event_name": name,
        "event_type": "leg_action_event" if name.startswith("say") else "leg_lifecycle_event",
        "event_timestamp": f"2023-06-05T12:08:{second:02d}.000000001Z",
        "data": {"leg_sid": leg, **data},
    }


def test_the_timeline_is_the_record_plus_what_only_the_bus_saw_in_time_order() -> None:
    recorded = [{"detail": _detail("e1", "leg_connecting", 1, state="connecting")}]
    recorded.append({"detail": _detail("e3", "leg_answered", 5, state="connected", answered_by="HUMAN")})
    on_bus = [{"detail": _detail("e3", "leg_answered", 5)}, {"detail": _detail("e2", "say_started", 3)}]
    entries = merge_timeline(recorded, on_bus)
    assert [(e["event_sid"], e["origin"], e["kind"]) for e in entries] == [
        ("e1", "recorded", "leg"),
        ("e2", "bus", "action"),
        ("e3", "recorded", "leg"),
    ]
    assert entries[2]["answered_by"] == "HUMAN" and entries[0]["t"] < entries[1]["t"] < entries[2]["t"]


class _Feed(BusFeed):
    """The feed's memory without an emulator: messages are handed to it as its drain thread would."""

    def __init__(self, capacity: int = 5) -> None:
        super().__init__(emulator=None, bus_name="bus", source="src", capacity=capacity)  # type: ignore[arg-type]

    def deliver(self, *details: dict[str, Any]) -> None:
        self._keep([{"Body": json.dumps({"detail-type": d["event_name"], "detail": d})} for d in details])


def test_the_feed_keeps_the_newest_events_marks_repeats_and_remembers_each_legs_latest_state() -> None:
    feed = _Feed(capacity=5)
    feed.deliver(
        _detail("a", "leg_connecting", 1, contact_uri="0916", state="connecting"),
        _detail("c", "leg_answered", 3, state="connected", answered_by="HUMAN"),
        _detail("b", "leg_ringing", 2, state="ringing"),  # late: does not move the state back
        _detail("c", "leg_answered", 3, state="connected", answered_by="HUMAN"),  # a repeated delivery
    )
    items = feed.since(0)
    assert [i["seq"] for i in items] == [1, 2, 3, 4] and [i["repeat"] for i in items] == [False, False, False, True]
    (leg,) = feed.legs()
    assert leg["state"] == "connected" and leg["answered_by"] == "HUMAN" and leg["contact_uri"] == "0916"
    bridge = {"event_sid": "br", "event_name": "bridge_created", "data": {"bridge_sid": "B", "leg_sids": ["L1", "L2"]}}
    feed.deliver(bridge, _detail("z", "leg_connecting", 9, leg="L2", state="connecting"))
    assert len(feed.since(0)) == 5 and feed.since(0)[0]["seq"] == 2  # the oldest went
    assert [e["detail"]["event_sid"] for e in feed.for_leg("L2")] == ["br", "z"]
    assert [leg["leg_sid"] for leg in feed.legs()] == ["L2", "L1"]  # newest first
    assert feed.since(5) == [feed.since(0)[-1]] and feed.last_seq == 6


def test_the_console_can_be_turned_off() -> None:
    assert DevstackConfig.from_env({}).console is True
    assert DevstackConfig.from_env({"DEVSTACK_CONSOLE": "0"}).console is False
    assert DevstackConfig.from_env({"DEVSTACK_CONSOLE": "false"}).console is False
