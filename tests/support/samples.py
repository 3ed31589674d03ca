"""Sample events: the two verbatim from the seed (000_*.txt), then shapes built from exotel-legs-api.md."""

from __future__ import annotations

SEED_LEG_INCOMING = {
    "event_sid": "2K8DQQuKWiXhXdfpMnXJYKVoTdB",
    "event_type": "leg_lifecycle_event",
    "event_name": "leg_incoming",
    "event_timestamp": {"seconds": 1673347299, "nanos": 607761576},
    "data": {
        "account_sid": "exotel60",
        "caller_id": "08030752400",
        "contact_uri": "09163816622",
        "date_created": "2023-01-10T10:41:39.607712401Z",
        "date_updated": "2023-01-10T10:41:39.607712401Z",
        "dc_code": "101",
        "direction": "inbound",
        "exophone": "08030752400",
        "leg_sid": "2K8DQQr2eoPW6HXJej7VesxsTUy00000",
        "network_type": "pstn",
        "nso_code": "9988fd96-ce41-11ed-9a09-0242ac110003",
        "start_time": "2023-01-10T10:41:39.03987348Z",
        "state": "ringing",
        "time_limit": 14400,
    },
}

SEED_LEG_CONNECTING = {
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG00000",
    "event_type": "leg_lifecycle_event",
    "event_name": "leg_connecting",
    "event_timestamp": {"seconds": 1685966925, "nanos": 743609442},
    "data": {
        "account_sid": "exotel60",
        "caller_id": "8030752501",
        "contact_uri": "07417712343",
        "custom_param": "MD_LEGS",
        "date_created": "2023-06-05T12:08:45.521094309Z",
        "date_updated": "2023-06-05T12:08:45.631124146Z",
        "dc_code": "101",
        "direction": "outbound",
        "exophone": "08030752400",
        "leg_sid": "2Qmm2j6Y9MfjJfQMNg61K8DaKxv00000",
        "network_type": "pstn",
        "nso_code": "9988fd96-ce41-11ed-9a09-0242ac110003",
        "start_time": "2023-06-05T12:08:45.630677211Z",
        "state": "connecting",
        "time_limit": 14400,
    },
}

LEG_TERMINATED = {
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG00009",
    "event_type": "leg_lifecycle_event",
    "event_name": "leg_terminated",
    "event_timestamp": {"seconds": 1685966990, "nanos": 5},
    "event_data": {
        "data": {"hangup_cause_code": 16},
        "error": {"error_code": 0, "message": "normal clearing", "description": "the call ended normally"},
    },
    "data": {
        "leg_sid": "2Qmm2j6Y9MfjJfQMNg61K8DaKxv00000",
        "state": "terminal",
        "terminal_status": "completed",
        "answered_by": "HUMAN",
        "custom_param": "MD_LEGS",
        "some_future_field": {"nested": [1, 2.5, "x", True, None]},
    },
}

SAY_COMPLETED = {
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG0000A",
    "event_type": "leg_action_event",
    "event_name": "say_completed",
    "event_timestamp": {"seconds": 1685966950, "nanos": 0},
    "action_sid": "act-123",
    "action_custom_parameter": "greeting",
    "data": {"leg_sid": "2Qmm2j6Y9MfjJfQMNg61K8DaKxv00000", "state": "connected"},
}

BRIDGE_CREATED = {
    "event_sid": "2Qmm2gI1sRmNkiGNyREGKHv2PnG0000B",
    "event_type": "bridge_lifecycle_event",
    "event_name": "bridge_created",
    "event_timestamp": {"seconds": 1685966960, "nanos": 999999999},
    "data": {"bridge_sid": "br-1", "state": "created", "leg_sids": ["leg-a", "leg-b"]},
}

SEED_EVENTS = [SEED_LEG_INCOMING, SEED_LEG_CONNECTING]
ALL_SAMPLES = [*SEED_EVENTS, LEG_TERMINATED, SAY_COMPLETED, BRIDGE_CREATED]
