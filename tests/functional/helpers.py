"""Signing people in through the real pages, for functional tests that need a session.

Nothing here reaches into the session tables: the helpers post the same forms
a browser would (CSRF token, password, authenticator code), so a test that uses
them also proves the sign-in path still works.
"""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import Message

import httpx2
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi.testclient import TestClient

from carewall.core.clock import set_clock
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.identity import accounts
from tests.functional.signin_helpers import csrf, login, post, totp_code
from tests.functional.signin_helpers import enrol_totp as enrol_totp_with_codes

ADMIN_EMAIL = "admin@example.org"
PASSWORD = "velvet otter lantern quietly 93"
TEST_ORIGIN = Origin(ip="127.0.0.1", user_agent="pytest")


def csrf_token(client: TestClient, path: str = "/") -> str:
    """The token every page carries in `<meta name="csrf-token">`."""
    del path  # the token belongs to the browser, not the page
    return csrf(client)


def post_form(client: TestClient, path: str, data: dict[str, str] | None = None) -> httpx2.Response:
    """Submit a form as the page would, with this browser's CSRF token."""
    response: httpx2.Response = post(client, path, data, follow_redirects=False)
    return response


code_now = totp_code


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """POST the password form; returns where Carewall sends the browser next."""
    response = login(client, email, password)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def enrol_totp(client: TestClient) -> str:
    """Set up an authenticator on the enrolment page; returns its secret."""
    return enrol_totp_with_codes(client)[0]


def finish_mfa(client: TestClient, secret: str) -> None:
    """Complete the second-factor step with a fresh code."""
    response = post_form(client, "/login/mfa", {"code": code_now(secret)})
    assert response.status_code == 303, response.text


def sign_in_admin(client: TestClient, runtime: Runtime, email: str = ADMIN_EMAIL) -> str:
    """Create an administrator, sign in and enrol an authenticator; returns the TOTP secret."""
    accounts.create_admin(runtime, email, PASSWORD, TEST_ORIGIN)
    assert log_in(client, email) == "/account/enroll"
    return enrol_totp(client)


def activate_user(runtime: Runtime, email: str, role: str, *, patient_id: str | None = None) -> str:
    """Invite and accept through the services (no browser); returns the user id."""
    link = accounts.invite_user(runtime, Caller.cli("test"), email, role, patient_id=patient_id)
    token = link.url.rsplit("/", 1)[1]
    accounts.accept_invite(runtime, token, PASSWORD, TEST_ORIGIN)
    return link.user_id


def sign_in_user(client: TestClient, runtime: Runtime, email: str, role: str) -> str:
    """An active staff member signed in with a fresh authenticator; returns the secret."""
    activate_user(runtime, email, role)
    assert log_in(client, email) == "/account/enroll"
    return enrol_totp(client)


@contextmanager
def clock_moved(**delta: float) -> Iterator[None]:
    """Run with Carewall's clock moved forward by `delta` (always put back after)."""
    shift = timedelta(**delta)
    set_clock(lambda: datetime.now(UTC) + shift)
    try:
        yield
    finally:
        set_clock(None)


class Inbox:
    """A real SMTP server's mailbox on loopback: aiosmtpd hands it every message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        """Keep the message and accept it."""
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(email.message_from_bytes(content))
        return "250 Message accepted"

    def body(self, index: int = 0) -> str:
        """The plain-text body of a received message."""
        payload = self.messages[index].get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    """Run an SMTP server on a free loopback port for the duration of the block.

    The controller cannot be given port 0 in this environment, so a free port is
    found by binding a socket first and releasing it.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
