"""Passkeys in real Chromium with a CDP virtual authenticator, against the real server.

WebAuthn needs a domain as relying-party id, so the browser opens the server at
`http://localhost:PORT` (the server's public URL is `http://127.0.0.1:PORT`,
which Carewall maps to the `localhost` RP id).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select, update

from carewall.audit.models import AuditEntry
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity.accounts import create_admin
from carewall.identity.models import WebAuthnCredential, WebSession
from carewall.identity.tags import IdentityTag
from tests.support.server import LiveServer, start_server

EMAIL = "officer@clinic.example"
PASSWORD = "Lantern-Quarry-Meadow-4172"


def _settings(home: Path) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{(home / 'carewall.db').resolve()}")


def _with_db(home: Path) -> Runtime:
    """A second handle on the server's database (SQLite in WAL mode allows it)."""
    return open_runtime(_settings(home), migrate=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real server with one administrator who has not enrolled a factor yet."""
    home = tmp_path / "home"
    runtime = open_runtime(_settings(home))
    try:
        create_admin(runtime, EMAIL, PASSWORD, Origin("127.0.0.1", "test"))
    finally:
        runtime.close()
    live = start_server(home)
    yield live
    live.stop()


@pytest.fixture
def base(server: LiveServer) -> str:
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture
def authenticator(page: Page) -> str:
    """A platform authenticator with resident keys and user verification (like Touch ID)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    result = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return str(result["authenticatorId"])


def _password_step(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _sign_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base + "/login")


def _register_during_enrolment(page: Page, base: str) -> None:
    _password_step(page, base)
    expect(page).to_have_url(base + "/account/enroll")
    page.get_by_role("link", name="Use a passkey or security key instead").click()
    expect(page).to_have_url(base + "/account/passkeys")
    page.get_by_label("Name for this passkey").fill("Test laptop")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page).to_have_url(base + "/")
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()


def _audit_count(server: LiveServer, tag: IdentityTag) -> int:
    runtime = _with_db(server.home)
    try:
        with runtime.db.sessions() as session:
            return int(session.scalar(select(func.count()).where(AuditEntry.action == tag)) or 0)
    finally:
        runtime.close()


def test_passkey_enrolment_second_factor_and_passwordless(
    page: Page, server: LiveServer, base: str, authenticator: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _register_during_enrolment(page, base)
    _sign_out(page, base)

    # Password, then the passkey as the second factor.
    _password_step(page, base)
    expect(page).to_have_url(base + "/login/mfa")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(base + "/")
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()
    _sign_out(page, base)

    # No password at all: the discoverable passkey names the account.
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(base + "/")
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()

    page.goto(base + "/account/security")
    expect(page.get_by_role("cell", name="Test laptop", exact=True)).to_be_visible()
    assert _audit_count(server, IdentityTag.FACTOR_ENROLLED) == 1
    assert errors == [], errors


def test_passkey_step_up_before_adding_another(
    page: Page, server: LiveServer, base: str, authenticator: str
) -> None:
    _register_during_enrolment(page, base)
    runtime = _with_db(server.home)
    try:
        with runtime.db.transaction() as session:
            session.execute(update(WebSession).values(mfa_at=utcnow() - timedelta(hours=1)))
    finally:
        runtime.close()

    page.goto(base + "/account/passkeys")
    expect(page).to_have_url(base + "/account/reauth?next=/account/passkeys")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(base + "/account/passkeys")
    assert _audit_count(server, IdentityTag.STEP_UP) == 1

    # The same authenticator cannot be registered twice (it is in excludeCredentials).
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text("already registered")


def test_sign_count_regression_is_refused_and_audited(
    page: Page, server: LiveServer, base: str, authenticator: str
) -> None:
    _register_during_enrolment(page, base)
    _sign_out(page, base)
    runtime = _with_db(server.home)
    try:
        with runtime.db.transaction() as session:
            session.execute(update(WebAuthnCredential).values(sign_count=1_000_000))
    finally:
        runtime.close()

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_role("alert")).to_contain_text("That passkey was not accepted")
    expect(page).to_have_url(base + "/login")
    assert _audit_count(server, IdentityTag.PASSKEY_CLONE_SUSPECTED) == 1
