"""A person falls for a simulation in a real browser: landing page, lesson, training, figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carewall.phishing.simulation import HEADER
from carewall.training import modules
from tests.support.mail import Inbox, smtp_inbox
from tests.support.server import LiveServer, start_server

TYPED = "Browser-Typed-Secret-4417"
PERSON = "nia.park@clinic.example"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def server(tmp_path: Path, inbox: Inbox) -> Iterator[LiveServer]:
    env = {
        "CAREWALL_SMTP_HOST": "127.0.0.1",
        "CAREWALL_SMTP_PORT": str(inbox.port),
        "CAREWALL_SMTP_STARTTLS": "false",
        "CAREWALL_MAIL_ORG_DOMAINS": '["clinic.example"]',
        "CAREWALL_JOBS_TICK_SECONDS": "1",
        "CAREWALL_CAMPAIGN_SCANNER_SECONDS": "1",
        "CAREWALL_LOG_LEVEL": "DEBUG",
    }
    live = start_server(tmp_path / "home", extra_env=env)
    yield live
    live.stop()


def _cli(server: LiveServer, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "carewall", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def _wait_for_simulation(inbox: Inbox) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for message in inbox.messages:
            if message[HEADER]:
                for part in message.walk():
                    if part.get_content_type() == "text/plain":
                        payload = part.get_payload(decode=True)
                        assert isinstance(payload, bytes)
                        link = re.search(r"(http://\S+/s/c/[A-Za-z0-9_-]+)", payload.decode())
                        assert link
                        return link.group(1)
        time.sleep(0.2)
    raise AssertionError("the running server never sent the CLI-launched campaign")


def test_click_submit_learn_and_train(page: Page, server: LiveServer, inbox: Inbox) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    launched = _cli(server, "campaign", "launch", "--template", "ehr-password-expiry",
                    "--to", PERSON, "--now")  # fmt: skip
    campaign_id = launched.strip().splitlines()[-1]
    link = _wait_for_simulation(inbox)  # `serve` runs the queued send by itself
    time.sleep(1.5)  # a person reads before clicking; sooner would look like a mail scanner

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your password")
    page.get_by_label("Username").fill("nia.park")
    page.get_by_label("Password").fill(TYPED)
    page.get_by_role("button", name="Keep my password").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("This was a phishing simulation")
    expect(page.locator("mark.red-flag")).to_have_count(5)
    expect(page.locator("ol.red-flags li")).to_have_count(5)
    page.get_by_role("link", name="Start your training").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your security training")
    page.locator('tr[data-module="phishing-red-flags"]').first.get_by_role(
        "link", name="Start"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spotting phishing")
    page.get_by_role("button", name="Take the quiz").click()
    bank = {q.text: q.choices[q.answer] for m in modules().values() for q in m.questions}
    for legend in page.locator("fieldset.question legend").all_inner_texts():
        question = legend.split(". ", 1)[1]
        page.get_by_role("group", name=legend).get_by_label(bank[question], exact=True).check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#quiz-outcome")).to_contain_text("You passed")
    page.get_by_role("link", name="Back to your training").click()
    expect(page.get_by_role("link", name="Certificate (PDF)").first).to_be_visible()
    assert errors == [], errors

    rows = [
        json.loads(line)
        for line in _cli(server, "campaign", "results", campaign_id, "--json").splitlines()
    ]
    assert len(rows) == 1
    assert rows[0]["clicked"] is not None
    assert rows[0]["submitted"] is not None
    assert rows[0]["opened"] is not None
    assert rows[0]["scanner_events"] == 0
    assert rows[0]["training_assigned"] == ["phishing-red-flags"]
    assert TYPED not in server.output(), "nothing typed reaches the logs"
    for path in server.home.glob("carewall.db*"):
        assert TYPED.encode() not in path.read_bytes(), path
