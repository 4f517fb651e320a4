"""Outgoing mail behind one small interface: SMTP for real, a null sender otherwise.

Demo mode and an empty `CAREWALL_SMTP_HOST` use the null sender, so neither
the demo nor the tests can mail anyone outside this machine.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage, Message
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


class MailRefusedError(MailError):
    """The server refused this message for good (5xx): retrying will not help."""

    code = "mail_refused"


class MailBatch(Protocol):
    """One open connection that sends many complete messages (campaigns)."""

    def send(self, message: Message) -> str:
        """Deliver one message; returns the server's reply, or raises MailError/MailRefusedError."""


class MailSender(Protocol):
    """Sends one message or raises MailError."""

    def send(self, mail: OutgoingMail) -> None:
        """Deliver `mail`."""

    def batch(self) -> AbstractContextManager[MailBatch]:
        """A connection for many prepared messages, closed when the block ends."""

    @property
    def enabled(self) -> bool:
        """Whether mail actually leaves the process."""


class NullMailSender:
    """Sends nothing; logs that a message would have gone (no content: it may hold links)."""

    enabled = False

    def send(self, mail: OutgoingMail) -> None:
        """Log and drop."""
        log.info("mail not sent (no SMTP configured): subject=%r", mail.subject)

    @contextmanager
    def batch(self) -> Iterator[MailBatch]:
        """A batch that drops every message (demo mode, no SMTP)."""
        yield _NullBatch()


class _NullBatch:
    def send(self, message: Message) -> str:
        del message
        return "not sent: no SMTP server configured"


class _SmtpBatch:
    """Sends on one connection, telling permanent refusals from trouble worth retrying."""

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self._smtp = smtp

    def send(self, message: Message) -> str:
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _classified(exc.recipients) from exc
        except smtplib.SMTPResponseException as exc:
            text = _reply_text(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise MailRefusedError(f"The mail server refused the message: {text}") from exc
            raise MailError(f"The mail server did not accept the message: {text}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"The mail server could not be reached: {exc}") from exc
        if refused:
            raise _classified(refused)
        return "250 accepted"


def _reply_text(code: int, error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{code} {text}"[:200]


def _classified(recipients: dict[str, tuple[int, bytes]]) -> MailError:
    code, error = next(iter(recipients.values()))
    text = _reply_text(code, error)
    if 500 <= code < 600:
        return MailRefusedError(f"The mail server refused the address: {text}")
    return MailError(f"The mail server deferred the address: {text}")


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

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
        try:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password is not None:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp

    @contextmanager
    def batch(self) -> Iterator[MailBatch]:
        """One SMTP connection for many messages; QUIT when the block ends."""
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"The mail server could not be reached: {exc}") from exc
        try:
            yield _SmtpBatch(smtp)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def mail_sender_for(settings: Settings) -> MailSender:
    """The sender this configuration calls for."""
    if settings.demo or not settings.smtp_host:
        return NullMailSender()
    return SmtpMailSender(settings)
