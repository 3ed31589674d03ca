"""Which contact URIs and exophones Exotel accepts: the seed's rule, kept in one small function.

Seed: "Can use 'sip:' or a indian phone number with 0 or with country prefix". Our reading
(a guess, see docs/EXOTEL-ASSUMPTIONS.md): ``sip:<something>``, or 10 Indian digits preceded by
``0`` or by the country prefix ``91`` / ``+91``. Spaces and dashes are not accepted.
"""

from __future__ import annotations

import re

SIP_URI = re.compile(r"^sip:[^\s@]+(@[^\s@]+)?$")
INDIAN_NUMBER = re.compile(r"^(0|\+?91)[1-9]\d{9}$")


def is_sip_uri(value: str) -> bool:
    return bool(SIP_URI.match(value))


def is_indian_number(value: str) -> bool:
    return bool(INDIAN_NUMBER.match(value))


def check_contact(value: str, field: str) -> str:
    """Return ``value`` if Exotel accepts it as a contact URI / exophone, else raise ``ValueError``."""
    if value.startswith("sip:"):
        if not is_sip_uri(value):
            raise ValueError(f"{field} {value!r} is not a valid sip: URI (expected sip:user@host)")
        return value
    if not is_indian_number(value):
        raise ValueError(
            f"{field} {value!r} must be a sip: URI or an Indian number with a leading 0 "
            "or country prefix (e.g. 09163816621 or +919163816621)"
        )
    return value
