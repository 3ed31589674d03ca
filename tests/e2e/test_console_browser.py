"""The console in a real headless browser: Debian's Chromium, driven by Playwright, against the session devstack.

A person's first look: open /console, press "Two-party call", and see the run pass, the call's two legs as
lanes with their events (the hold message's say_started among them), the live events and the queues.
Skipped, saying what to install, only where no Chromium is installed (``.ci/run`` installs it).
A screenshot is left in the test's temporary folder (its path is printed).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Debian's package; Playwright's own browser download (``playwright install``) cannot work here.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 120_000


NO_BROWSER = (
    "no Chromium here: install Debian's package (`apt-get install -y chromium`, as root; .ci/run does it); "
    "Playwright (requirements-dev.txt) drives it, no browser download needed"
)


def chromium_path() -> str | None:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found or next((path for path in CHROMIUM_CANDIDATES if Path(path).is_file()), None)


# decided before any fixture: no devstack is started just to be skipped
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(chromium_path() is None, reason=NO_BROWSER)]


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    executable = chromium_path()
    assert executable is not None
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make venv installs it")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            page = context.new_page()
            page.errors = []  # type: ignore[attr-defined]
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
            yield page
        finally:
            context.close()


def test_the_console_shows_a_demo_call_its_legs_timeline_and_the_live_events(
    devstack: dict[str, Any], page: Any, tmp_path: Path
) -> None:
    page.set_default_timeout(WAIT_MS)
    page.goto(devstack["console_url"])
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#live[data-state=open]")  # the event stream is connected
    assert page.locator("button.scenario").count() == 3

    page.click("button.scenario[data-key=two_party]")
    run = page.wait_for_selector(".run[data-key=two_party]:not([data-status=running])")
    assert run.get_attribute("data-status") == "passed", run.inner_text()

    # the call the run placed is selected and drawn: one lane per leg, events where they happened
    detail = page.wait_for_selector("#detail[data-kind=call][data-status=completed]")
    plan_id = detail.get_attribute("data-id")
    page.wait_for_selector("#timeline g.lane >> nth=1")
    page.wait_for_function(
        """() => document.querySelectorAll('#timeline g.ev[data-name="leg_terminated"]').length >= 2
             && document.querySelector('#timeline g.ev[data-name="say_started"]') !== null""",
        timeout=WAIT_MS,
    )
    lanes = page.locator("#timeline g.lane")
    assert [lanes.nth(i).get_attribute("data-label") for i in range(lanes.count())] == ["customer #1", "agent #1"]
    leg_sids = [lanes.nth(i).get_attribute("data-leg-sid") for i in range(2)]
    assert all(leg_sids), leg_sids
    customer = page.locator(f'#timeline g.lane[data-leg-sid="{leg_sids[0]}"]')
    for name in ("leg_connecting", "leg_ringing", "leg_answered", "leg_joined_bridge", "say_started"):
        assert customer.locator(f'g.ev[data-name="{name}"]').count() >= 1, name
    assert page.locator('#timeline g.ev[data-kind="bridge"]').count() >= 2  # bridge_created on both lanes
    assert page.locator("#timeline line.link").count() >= 1  # ... joined across them
    assert page.locator('#timeline-table tr[data-name="say_started"]').count() >= 1
    assert "Connecting you to an agent" in page.inner_text("#timeline-table")

    # the live feed, the lists and the queues
    page.wait_for_selector(f'#events .event[data-type="leg_answered"][data-leg-sid="{leg_sids[0]}"]')
    page.wait_for_selector(f'#calls tr[data-plan-id="{plan_id}"]')
    for sid in leg_sids:
        page.wait_for_selector(f'#legs tr[data-leg-sid="{sid}"]')
    for queue in ("exotel-legs-BridgeFallback", "exotel-legs-BridgeDeadLetter"):
        page.wait_for_selector(f'#queues tr[data-queue="{queue}"]')

    # clicking a leg in the live feed shows that leg alone
    page.click(f'#events .event[data-leg-sid="{leg_sids[1]}"] .sid >> nth=0')
    page.wait_for_selector(f'#detail[data-kind=leg][data-id="{leg_sids[1]}"]')
    page.wait_for_selector(f'#timeline g.lane[data-leg-sid="{leg_sids[1]}"] g.ev[data-name="leg_answered"]')
    page.click(f'#calls tr[data-plan-id="{plan_id}"]')
    page.wait_for_selector(f'#detail[data-kind=call][data-id="{plan_id}"]')
    page.wait_for_selector("#timeline g.lane >> nth=1")

    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot))
    print(f"console screenshot: {shot}")
    assert shot.stat().st_size > 20_000
    assert page.errors == [], page.errors


def test_the_console_shows_its_own_call_when_the_live_stream_brings_it_before_the_start_reply(
    devstack: dict[str, Any], page: Any
) -> None:
    """The reply to "start" is held until the live stream has told the page the run's call: the page must still
    show that call (a loaded CI run once lost this race, and the page never selected the call)."""
    console_api = devstack["console_url"].rstrip("/") + "/api"

    def the_run_has_its_call(run_id: int) -> bool:
        with urllib.request.urlopen(f"{console_api}/runs", timeout=10) as resp:
            runs = json.load(resp)["runs"]
        return any(run["id"] == run_id and run["plan_id"] for run in runs)

    held: list[int] = []

    def hold_the_reply(route: Any) -> None:
        response = route.fetch()
        run_id = int(json.loads(response.body())["run"]["id"])
        deadline = time.monotonic() + WAIT_MS / 1000
        while not the_run_has_its_call(run_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # the stream sends run changes at once; this leaves it ample time to arrive first
        held.append(run_id)
        route.fulfill(response=response)

    page.set_default_timeout(WAIT_MS)
    page.route("**/api/scenarios/two_party", hold_the_reply)
    page.goto(devstack["console_url"])
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#live[data-state=open]")
    page.click("button.scenario[data-key=two_party]")
    page.wait_for_function("() => document.querySelector('#detail[data-kind=call]') !== null", timeout=WAIT_MS)
    assert len(held) == 1, held  # the reply was held, so the stream came first
    run = page.wait_for_selector(f'.run[data-run-id="{held[0]}"]')
    plan_id = run.query_selector(".plan").inner_text()
    assert page.get_attribute("#detail", "data-id") == plan_id
    assert page.errors == [], page.errors
