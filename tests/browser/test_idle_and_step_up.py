"""Automatic logoff and step-up in Chromium, as a new user meets them.

Left idle, the page must end up on the sign-in form with the session over on
the server (the old cookie no longer opens anything). And a change made with
a second factor older than the step-up window must survive the confirmation.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from carewall.audit import entries_with_action
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import open_runtime
from carewall.identity import Role, accounts, policy
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
CLI = Origin(user_agent="cli")


@pytest.fixture
def idle_practice(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A server whose staff are signed out after one idle minute, and a clinician."""
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    email = "nurse@clinic.example"
    link = accounts.invite_user(runtime, Caller.cli(), email, "clinician")
    accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PASSWORD, CLI)
    accounts.set_mfa_policy(runtime, Caller.cli(), "clinician", False)  # password alone, for speed
    runtime.close()
    server = start_server(home, extra_env={"CAREWALL_SESSION_IDLE_MINUTES_STAFF": "1"})
    yield server, email
    server.stop()


@pytest.mark.slow
def test_left_idle_the_page_shows_sign_in_and_the_session_is_over(
    page: Page, idle_practice: tuple[LiveServer, str]
) -> None:
    server, email = idle_practice
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("link", name=email)).to_be_visible()
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "cw_session")
    expect(page.locator("#idle-warning")).to_be_visible()  # a minute's limit: warned at once

    # Do nothing. The limit passes; the page must end up signed out, not back in the app.
    expect(page).to_have_url(re.compile(r"/login\?expired=1$"), timeout=120_000)
    page.wait_for_timeout(3000)  # nothing may bounce the page back into the app
    expect(page).to_have_url(re.compile(r"/login\?expired=1$"))
    expect(page.get_by_text("signed out after a period of inactivity")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("link", name=email)).to_have_count(0)

    stolen = httpx.get(
        server.url + "/account/security", cookies={"cw_session": cookie}, follow_redirects=False
    )
    assert stolen.status_code == 303, "the old cookie no longer works"
    assert stolen.headers["location"].startswith("/login")
    runtime = open_runtime(Settings(home=server.home))
    with runtime.db.sessions() as session:
        ended = entries_with_action(
            session, ["identity:logout:success", "identity:session:expired"]
        )
    runtime.close()
    assert len(ended) == 1, "the logoff is in the audit trail once"


@pytest.fixture
def admin_practice(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    email = "officer@clinic.example"
    accounts.create_admin(runtime, email, PASSWORD, CLI)
    runtime.close()
    server = start_server(home)
    yield server, email
    server.stop()


def _age_second_factor(home: Path, minutes: int) -> None:
    runtime = open_runtime(Settings(home=home))
    with runtime.db.transaction() as session:
        session.execute(
            text("UPDATE web_sessions SET mfa_at = :then"),
            {"then": utcnow() - timedelta(minutes=minutes)},
        )
    runtime.close()


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="Debian's oathtool is not installed")
def test_a_policy_change_survives_the_step_up(
    page: Page, admin_practice: tuple[LiveServer, str]
) -> None:
    server, email = admin_practice
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()
    _age_second_factor(server.home, minutes=6)

    page.goto(server.url + "/admin/policy")
    page.locator("#required-patient").check()
    page.get_by_role("button", name="Save MFA policy").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(oathtool(secret, "now + 30 seconds"))
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/admin/policy$"))
    expect(page.get_by_text("MFA policy saved.")).to_be_visible()
    expect(page.locator("#required-patient")).to_be_checked()
    runtime = open_runtime(Settings(home=server.home))
    with runtime.db.sessions() as session:
        assert policy.mfa_required(session, runtime.settings, Role.PATIENT)
        assert entries_with_action(session, ["identity:policy:changed"])
    runtime.close()
