"""The whole sign-in life of a new staff member, in Chromium, with oathtool as the phone."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import accounts
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
EMAIL = "nurse@clinic.example"

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None, reason="Debian's oathtool is not installed"
)


@pytest.fixture
def invited(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    link = accounts.invite_user(runtime, Caller.cli(), EMAIL, "clinician")
    runtime.close()
    server = start_server(home)
    yield server, "/" + link.url.split("://", 1)[1].split("/", 1)[1]
    server.stop()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def sign_in_password(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()


def enter_code(page: Page, code: str) -> None:
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Continue").click()


def test_invite_enrol_sign_in_replay_and_recovery(
    page: Page, invited: tuple[LiveServer, str]
) -> None:
    server, invite_path = invited

    # Invitation: choose a password (the meter gives live feedback), then enrol.
    page.goto(server.url + invite_path)
    page.get_by_label("New password").fill("password123")
    expect(page.locator("#strength-feedback")).to_contain_text("common")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Type it again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()  # the QR code
    assert page.locator("#otpauth-uri").get_attribute("href", timeout=5000).startswith("otpauth://")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()
    sign_out(page)

    # Password + TOTP (the next step's code: the enrolment code's step is spent).
    sign_in_password(page, server)
    code = oathtool(secret, "now + 30 seconds")
    enter_code(page, code)
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()
    sign_out(page)

    # The same code again is refused with the generic message.
    sign_in_password(page, server)
    enter_code(page, code)
    expect(page.get_by_role("alert")).to_contain_text("did not work")

    # A recovery code works once, with a warning.
    enter_code(page, codes[0])
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()
    expect(page.locator(".flash-warning")).to_contain_text("recovery code")
    sign_out(page)
    sign_in_password(page, server)
    enter_code(page, codes[0])
    expect(page.get_by_role("alert")).to_contain_text("did not work")
