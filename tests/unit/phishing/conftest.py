"""Builders for small, hand-written test messages (never copied from any corpus)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest

from carewall.phishing.analyzer import AnalyzerContext, Verdict, analyze_bytes

MailFactory = Callable[..., bytes]
#: A Reply-To outside the sender's domain: the deception that lets lure signals count.
DECEIVING_REPLY_TO = "Accounts <accounts@settlement-desk.net>"


def build_mail(
    *,
    sender: str = "Alice Example <alice@example.org>",
    subject: str = "Minutes of Tuesday's meeting",
    text: str | None = "Hi team, the minutes are below. See you next week.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    deceive: bool = False,
) -> bytes:
    """A message with optional HTML alternative and attachments (name, mime type, bytes).

    ``deceive`` adds a Reply-To outside the sender's domain, so that lure
    signals (which count only next to deception) can be seen.
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "bob@example.net"
    msg["Subject"] = subject
    msg["Message-ID"] = "<test-1@example.org>"
    if deceive:
        msg["Reply-To"] = DECEIVING_REPLY_TO
    for key, value in (headers or {}).items():
        msg[key] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for name, mime, data in attachments or []:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@pytest.fixture
def make_mail() -> MailFactory:
    """The message builder as a fixture."""
    return build_mail


@pytest.fixture
def analyze() -> Callable[..., Verdict]:
    """Analyze with an optional context."""

    def run(raw: bytes, context: AnalyzerContext | None = None) -> Verdict:
        return analyze_bytes(raw, context)

    return run
