"""The local API over real HTTP (devstack: front -> api function -> moto, simulator): one error format, the
signed caller scoping Idempotency-Keys, plan-shaped custom_param refused, the same problem for an unknown leg."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from devstack.banner import EXOPHONE, HUMAN
from lambdas.api.problems import PROBLEM_JSON, ProblemType
from tests.e2e.local_api import Api

LEG = {"contact_uri": HUMAN, "exophone": EXOPHONE, "custom_param": "problems-e2e"}


def _raw(api: Api, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str, Any]:
    req = urllib.request.Request(api.base_url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), json.loads(err.read())


def _signed(access_key: str) -> dict[str, str]:
    """A SigV4-shaped Authorization header: the local front names the caller after its access key."""
    credential = f"{access_key}/20250101/ap-south-1/execute-api/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=00"}


def test_broken_json_and_the_wrong_media_type_are_problems(api: Api) -> None:
    status, media, body = _raw(api, "POST", "/legs", b'{"contact_uri": ', {"Content-Type": "application/json"})
    assert (status, media) == (400, PROBLEM_JSON)
    assert body["type"] == ProblemType.MALFORMED.uri and body["errors"][0]["field"] == "body"
    assert body["instance"] == "/legs" and body["request_id"]
    status, media, body = _raw(api, "POST", "/legs", b"contact_uri=1", {"Content-Type": "text/plain"})
    assert (status, media, body["type"]) == (415, PROBLEM_JSON, ProblemType.UNSUPPORTED_MEDIA_TYPE.uri)


def test_an_idempotency_key_belongs_to_its_caller(api: Api) -> None:
    key = f"k-{uuid.uuid4().hex}"
    alice = api.post("/legs", LEG, headers={"Idempotency-Key": key, **_signed("AKIAALICE")})
    again = api.post("/legs", LEG, headers={"Idempotency-Key": key, **_signed("AKIAALICE")})
    bob = api.post("/legs", LEG, headers={"Idempotency-Key": key, **_signed("AKIABOB")})
    assert alice[0] == again[0] == bob[0] == 202, (alice, bob)
    assert again[1]["leg_sid"] == alice[1]["leg_sid"]  # her repeat: her first answer
    assert bob[1]["leg_sid"] != alice[1]["leg_sid"]  # the same key from someone else is a new request
    assert alice[1]["created_at"].endswith("Z") and "T" in alice[1]["created_at"]  # RFC 3339, as in GET


def test_a_plans_custom_param_is_refused_on_post_legs(api: Api) -> None:
    status, body = api.post("/legs", {**LEG, "custom_param": "call:P1:customer:1"})
    assert status == 422 and body["type"] == ProblemType.VALIDATION.uri
    assert body["errors"][0]["field"] == "body.custom_param"


def test_an_unknown_leg_is_one_problem_on_get_and_on_actions(api: Api) -> None:
    sid = f"L{uuid.uuid4().hex}"
    got = api.get(f"/legs/{sid}")
    acted = api.post(f"/legs/{sid}/actions", {"action": "hangup"})  # the simulator answers 404 for it
    for status, body in (got, acted):
        assert status == 404 and body["type"] == ProblemType.NOT_FOUND.uri, body
    assert got[1]["detail"] == acted[1]["detail"] and got[1]["title"] == acted[1]["title"]
    assert "exotel" in acted[1] and "exotel" not in got[1]
