"""What a human sees once everything accepts connections: where things are and what to paste."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from contract.catalogue import EventName
from devstack.scenarios import AGENT, BUSY, BUSY_RETRY, EXOPHONE, HUMAN, MACHINE, NO_ANSWER, SECOND_CHOICE

if TYPE_CHECKING:
    from devstack.stack import ReadyInfo

__all__ = ["AGENT", "BUSY", "EXOPHONE", "HUMAN", "MACHINE", "NO_ANSWER", "SECOND_CHOICE", "banner"]


def subscribe_command(aws_endpoint_url: str) -> str:
    """Another team's subscription, with what the project installs (boto3 in .venv): see devstack/subscribe.py.

    The same in both bus modes: the helper asks the devstack (at the emulator's address) which mode it runs in."""
    command = f".venv/bin/python -m devstack.subscribe --detail-type {EventName.LEG_ANSWERED}"
    return f"AWS_ENDPOINT_URL={aws_endpoint_url} {command}"


def _ordered(info: ReadyInfo) -> str:
    if not info.bus_arn:
        return ""
    return (
        f"\n   EventsV2 (ordered mode)   {info.eventsv2_url}   bus {info.bus_arn}"
        "\n                             (the subscribe command below makes an UNORDERED subscriber there; --fifo: FIFO)"
    )


def banner(info: ReadyInfo, time_scale: float) -> str:
    api = info.api_url
    leg = f'{{"contact_uri": "{HUMAN}", "exophone": "{EXOPHONE}"}}'
    call = f'{{"customer": "{HUMAN}", "agent": "{AGENT}", "exophone": "{EXOPHONE}"}}'
    retry = json.dumps(BUSY_RETRY.body)
    rule = "=" * 78
    return f"""
{rule}
 Exotel Legs adapter, running locally (no AWS account, no Docker)

   console (in a browser)    {api}/console
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

 A busy customer, dialled again on their second number (dial n uses the n-th of customer + customer_fallbacks):
   curl -s -X POST {api}/calls -H 'Content-Type: application/json' -d '{retry}'

 Outcomes by the dialled number's last four digits: 1002 busy, 1003 no answer, 1004 machine,
 1005 failed to create, 1006 never rings; anything else: a human answers.
 Subscribe like another team would (a rule on the bus, or in ordered mode an EventsV2 subscriber -> a queue;
 prints each event):
   {subscribe_command(info.aws_endpoint_url)}
 Ctrl-C stops everything.
{rule}"""
