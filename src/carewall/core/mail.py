"""Outgoing mail behind one small interface: SMTP for real, a null sender otherwise.

Demo mode and an empty `CAREWALL_SMTP_HOST` use the null sender, so neither
the demo nor the tests can mail anyone outside this machine.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from carewall.core.config import Settings
from carewall.core.errors import CarewallError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMail:
    """A plain-text message."""

    to: str
    subject: str
    body: str


class MailError(CarewallError):
    """The SMTP server refused or could not be reached."""

    code = "mail_failed"
    status = 502


class MailSender(Protocol):
    """Sends one message or raises MailError."""

    def send(self, mail: OutgoingMail) -> None:
        """Deliver `mail`."""

    @property
    def enabled(self) -> bool:
        """Whether mail actually leaves the process."""


class NullMailSender:
    """Sends nothing; logs that a message would have gone (no content: it may hold links)."""

    enabled = False

    def send(self, mail: OutgoingMail) -> None:
        """Log and drop."""
        log.info("mail not sent (no SMTP configured): subject=%r", mail.subject)


class SmtpMailSender:
    """Delivers through the configured SMTP server."""

    enabled = True

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, mail: OutgoingMail) -> None:
        """Send with STARTTLS and login when configured."""
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password is not None:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"The mail server did not accept the message: {exc}") from exc


def mail_sender_for(settings: Settings) -> MailSender:
    """The sender this configuration calls for."""
    if settings.demo or not settings.smtp_host:
        return NullMailSender()
    return SmtpMailSender(settings)
