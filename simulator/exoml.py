"""ExoML ``<Flow>`` documents -> a list of verbs the simulator can play out.

Exotel's public docs name the verbs but not every attribute; we accept the common ones and refuse
anything we do not understand with a clear reason (400), rather than guess.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

VERBS = {
    "Hangup",
    "Answer",
    "Say",
    "StartPlay",
    "StopPlay",
    "StopSay",
    "Play",
    "StartStream",
    "StopStream",
    "StartRecording",
    "StopRecording",
}


class ExoMLError(ValueError):
    """Not a document the simulator can run; the message says why."""


@dataclass
class Verb:
    name: str
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def loop(self) -> int:
        raw = self.attrs.get("loop", "1")
        try:
            value = int(raw)
        except ValueError as exc:
            raise ExoMLError(f"<{self.name} loop={raw!r}>: loop must be an integer") from exc
        if not 1 <= value <= 100:
            raise ExoMLError(f"<{self.name}>: loop must be between 1 and 100")
        return value


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
        if verb.name == "Say" and not verb.text:
            raise ExoMLError("<Say> needs the text to speak")
        if verb.name in ("StartPlay", "Play") and not (verb.text or verb.attrs.get("url")):
            raise ExoMLError(f"<{verb.name}> needs a URL (as text or url attribute)")
        _ = verb.loop  # validate now, not when played
        verbs.append(verb)
    if not verbs:
        raise ExoMLError("<Flow> is empty: give at least one verb")
    return verbs
