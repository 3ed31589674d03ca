"""ExoML ``<Flow>`` documents -> a list of verbs the simulator can play out.

Exotel's public docs name the verbs but not every attribute; we accept the common ones and refuse
anything we do not understand with a clear reason (400), rather than guess. ``loop``: 0 repeats
until stopped; ``<StartPlay>``/``<Play>`` allow at most 10 and ``<StartPlay>`` repeats until
stopped when ``loop`` is left out (developer.exotel.com exoml/actions); ``<Say>``/``<StartSay>``
say it once by default (exoml/verbs/say).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from legs.models import PLAY_MAX_LOOP

VERBS = {
    "Hangup",
    "Answer",
    "Say",
    "StartSay",
    "StopSay",
    "StartPlay",
    "StopPlay",
    "Play",
    "StartStream",
    "StopStream",
    "StartRecording",
    "StopRecording",
    "JoinBridge",
    "LeaveBridge",
}
SAY_VERBS = ("Say", "StartSay")
PLAY_VERBS = ("Play", "StartPlay")
#: ``loop`` when the attribute is left out.
DEFAULT_LOOP = {"StartPlay": 0}
STREAM_DIRECTIONS = ("unidirectional", "bidirectional")
#: ``<JoinBridge bridgeSid="…"/>``: the attribute is not documented; both spellings are read.
BRIDGE_SID_ATTRIBUTES = ("bridgeSid", "bridge_sid")


class ExoMLError(ValueError):
    """Not a document the simulator can run; the message says why."""


@dataclass
class Verb:
    name: str
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def loop(self) -> int:
        """Repetitions; 0 = until stopped."""
        raw = self.attrs.get("loop")
        if raw is None:
            return DEFAULT_LOOP.get(self.name, 1)
        try:
            value = int(raw)
        except ValueError as exc:
            raise ExoMLError(f"<{self.name} loop={raw!r}>: loop must be an integer") from exc
        if value < 0:
            raise ExoMLError(f"<{self.name}>: loop must be 0 (repeat until stopped) or more")
        if self.name in PLAY_VERBS and value > PLAY_MAX_LOOP:
            raise ExoMLError(f"<{self.name}>: loop must be at most {PLAY_MAX_LOOP}")
        return value

    @property
    def bridge_sid(self) -> str:
        return next((self.attrs[name] for name in BRIDGE_SID_ATTRIBUTES if self.attrs.get(name)), "")


def parse_flow(document: str) -> list[Verb]:
    if "<!DOCTYPE" in document or "<!ENTITY" in document:
        raise ExoMLError("exoml must not contain a DOCTYPE or entity declarations")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise ExoMLError(f"exoml is not well-formed XML: {exc}") from exc
    if root.tag != "Flow":
        raise ExoMLError(f"exoml root element must be <Flow>, not <{root.tag}>")
    verbs: list[Verb] = []
    for child in root:
        if child.tag not in VERBS:
            raise ExoMLError(f"unsupported ExoML verb <{child.tag}>; supported: {', '.join(sorted(VERBS))}")
        verb = Verb(name=child.tag, text=(child.text or "").strip(), attrs=dict(child.attrib))
        if verb.name in SAY_VERBS and not verb.text:
            raise ExoMLError(f"<{verb.name}> needs the text to speak")
        if verb.name in PLAY_VERBS and not (verb.text or verb.attrs.get("url")):
            raise ExoMLError(f"<{verb.name}> needs a URL (as text or url attribute)")
        if verb.name == "StartStream":
            direction = verb.attrs.get("direction")
            if direction is not None and direction not in STREAM_DIRECTIONS:
                raise ExoMLError(
                    f"<StartStream direction={direction!r}>: direction must be unidirectional or bidirectional"
                )
        if verb.name == "JoinBridge" and not verb.bridge_sid:
            raise ExoMLError('<JoinBridge> needs the bridge: bridgeSid="…"')
        _ = verb.loop  # validate now, not when played
        verbs.append(verb)
    if not verbs:
        raise ExoMLError("<Flow> is empty: give at least one verb")
    return verbs
