"""The risk pages in Chromium on the demo practice: charts under the CSP, an override, 390 px."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import LiveServer, oathtool, start_server

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None, reason="Debian's oathtool is not installed"
)
ADMIN = ("admin@clinic.example", "amber falcon river 2026")  # the demo's printed login


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "home", "--demo", timeout=240)
    server.wait_for_demo()  # the assessments are seeded after the server is up
    yield server
    server.stop()


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in", exact=True).click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()


def test_the_officer_reads_the_overview_and_overrides_a_measured_answer(
    page: Page, demo: LiveServer, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, demo)

    page.get_by_role("link", name="Risk", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk and insurance readiness")
    expect(page.get_by_role("img", name="Readiness and coverage per framework")).to_be_visible()
    expect(page.get_by_role("img", name="Scores over time")).to_be_visible()  # two assessments
    page.screenshot(path=str(tmp_path / "risk-overview.png"), full_page=True)

    page.get_by_role("button", name="Start an assessment").click()
    expect(page.get_by_text("Assessment started.")).to_be_visible()
    page.get_by_role("link", name="Multi-factor authentication").click()
    question = page.locator("#q-mfa-staff")
    expect(question.get_by_text("What Carewall measured")).to_be_visible()
    expect(question.get_by_text("1 of 5 (20%)")).to_be_visible()  # the admin just enrolled
    question.get_by_label("No", exact=True).check()
    question.get_by_role("button", name="Save answer").click()
    expect(page.get_by_text("overriding it needs a reason")).to_be_visible()

    question = page.locator("#q-mfa-staff")
    question.get_by_label("No", exact=True).check()
    question.get_by_label("Reason").fill("Two staff share the front-desk login")
    question.get_by_role("button", name="Save answer").click()
    expect(page.get_by_text("Answer saved.")).to_be_visible()
    expect(
        page.locator("#q-mfa-staff").get_by_text("override of a measured answer")
    ).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(tmp_path / "risk-section-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    assert errors == [], errors
