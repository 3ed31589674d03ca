"""What a human sees once everything accepts connections: where things are and what to paste."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.stack import ReadyInfo

#: Numbers the simulator reacts to by their last four digits (simulator docs / INTERFACES.md).
EXOPHONE = "08047105151"
HUMAN = "09163810001"  # anything not listed below: a human answers, talks, hangs up
BUSY = "09163811002"
NO_ANSWER = "09163811003"
MACHINE = "09163811004"
AGENT = "09163810042"


def _ordered(info: ReadyInfo) -> str:
    if not info.bus_arn:
        return ""
    return (
        f"\n   EventsV2 (ordered mode)   {info.eventsv2_url}   bus {info.bus_arn}"
        "\n                             (AWS_ENDPOINT_URL_EVENTBRIDGEV2=... aws eventbridgev2 create-subscriber ...)"
    )


def banner(info: ReadyInfo, time_scale: float) -> str:
    api = info.api_url
    leg = f'{{"contact_uri": "{HUMAN}", "exophone": "{EXOPHONE}"}}'
    call = f'{{"customer": "{HUMAN}", "agent": "{AGENT}", "exophone": "{EXOPHONE}"}}'
    rule = "=" * 78
    return f"""
{rule}
 Exotel Legs adapter, running locally (no AWS account, no Docker)

   local API (API Gateway)   {api}
   Exotel simulator (REST)   {info.sim_url}     (timers x{time_scale:g}: SIM_TIME_SCALE)
   bridge (gRPC)             {info.bridge_endpoint}
   AWS emulator (moto)       {info.aws_endpoint_url}   bus "{info.bus_name}", region {info.aws_region}
   functions                 {", ".join(info.functions)}{_ordered(info)}

 Place a leg, then watch it ring, answer and end:
   curl -s -X POST {api}/legs -H 'Content-Type: application/json' -d '{leg}'
   curl -s {api}/legs/<leg_sid>
   curl -s {api}/legs/<leg_sid>/events

 A two-party call (first leg answers -> second leg -> bridge):
   curl -s -X POST {api}/calls -H 'Content-Type: application/json' -d '{call}'
   curl -s {api}/calls/<plan_id>
   (busy customer, dialled again: "customer": "{BUSY}", "retry": {{"max_attempts": 2, "delay_seconds": 2}})

 Outcomes by the dialled number's last four digits: 1002 busy, 1003 no answer, 1004 machine,
 1005 failed to create, 1006 never rings; anything else: a human answers.
 Subscribe like another team would (AWS_ENDPOINT_URL={info.aws_endpoint_url} aws events put-rule ...).
 Ctrl-C stops everything.
{rule}"""
