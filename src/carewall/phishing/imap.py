"""Polling the report mailbox: mail staff forwarded to the security officer becomes reports.

The mailbox sits behind the small ``MailboxSource`` protocol with a real IMAP
implementation (stdlib ``imaplib``) and an in-memory one for tests. A message
is filed first and only then marked seen: if the connection drops in
between, the next poll files it again (a duplicate the officer can close)
rather than losing a report.
"""

from __future__ import annotations

import contextlib
import imaplib
from dataclasses import dataclass
from typing import Protocol

from carewall.audit import Outcome
from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.core.errors import CarewallError, ConfigError
from carewall.core.runtime import Runtime
from carewall.identity.queries import user_id_for_email
from carewall.phishing import services
from carewall.phishing.errors import MAX_MESSAGE_BYTES
from carewall.phishing.events import audit
from carewall.phishing.message import sender_address, unwrap_forwarded
from carewall.phishing.models import MAILBOX_REPORTER
from carewall.phishing.tags import PhishingTag

#: Messages filed per poll; the rest wait for the next one (keeps a poll short).
MAX_PER_POLL = 200
_TIMEOUT_SECONDS = 30.0


class MailboxError(CarewallError):
    """The report mailbox could not be reached or read (details are in the log, not here)."""

    code = "mailbox_unavailable"
    status = 502


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One unseen message: its UID in the folder and its bytes (cut at the size limit + 1)."""

    uid: str
    raw: bytes


class MailboxSource(Protocol):
    """Where reported mail comes from."""

    def unseen(self) -> list[FetchedMessage]:
        """Unseen messages, oldest first, at most MAX_PER_POLL; fetching must not mark them."""
        ...

    def mark_seen(self, uid: str) -> None:
        """Flag a message as handled so the next poll skips it."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class ImapMailbox:
    """The organisation's report mailbox over IMAP (IMAPS unless ``ssl`` is off)."""

    def __init__(
        self, host: str, port: int, user: str, password: str, folder: str, *, ssl: bool
    ) -> None:
        try:
            if ssl:
                self._conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, timeout=_TIMEOUT_SECONDS)
            else:
                self._conn = imaplib.IMAP4(host, port, timeout=_TIMEOUT_SECONDS)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(
                f"Could not reach the report mailbox on {host}:{port} ({type(exc).__name__})."
            ) from exc
        try:
            self._conn.login(user, password)
            status, _ = self._conn.select(_quoted(folder))
        except (imaplib.IMAP4.error, OSError) as exc:
            self._conn.shutdown()
            raise MailboxError(
                f"Could not open the report mailbox on {host}:{port} ({type(exc).__name__})."
            ) from exc
        if status != "OK":
            self.close()
            raise MailboxError(f"The report mailbox has no folder {folder!r}.")

    @classmethod
    def from_settings(cls, settings: Settings) -> ImapMailbox:
        """Connect with the ``CAREWALL_MAIL_REPORT_IMAP_*`` settings."""
        if not settings.mail_report_imap_host:
            raise ConfigError("Set CAREWALL_MAIL_REPORT_IMAP_HOST to poll the report mailbox.")
        password = settings.mail_report_imap_password
        return cls(
            settings.mail_report_imap_host,
            settings.mail_report_imap_port,
            settings.mail_report_imap_user,
            password.get_secret_value() if password else "",
            settings.mail_report_imap_folder,
            ssl=settings.mail_report_imap_ssl,
        )

    def unseen(self) -> list[FetchedMessage]:
        """UID SEARCH UNSEEN, then a peek (which leaves the message unseen) of each."""
        try:
            status, data = self._conn.uid("SEARCH", "UNSEEN")
            uids = data[0].split()[:MAX_PER_POLL] if status == "OK" and data[0] else []
            return [FetchedMessage(uid.decode(), self._fetch(uid.decode())) for uid in uids]
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(
                f"Reading the report mailbox failed ({type(exc).__name__})."
            ) from exc

    def _fetch(self, uid: str) -> bytes:
        status, data = self._conn.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_MESSAGE_BYTES + 1}>)")
        for item in data if status == "OK" else []:
            if isinstance(item, tuple) and len(item) == 2:  # (b'1 (UID 7 BODY[] {n}', bytes)
                return bytes(item[1])
        return b""

    def mark_seen(self, uid: str) -> None:
        """Set \\Seen on the message."""
        try:
            self._conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"Marking a report as read failed ({type(exc).__name__}).") from exc

    def close(self) -> None:
        """Close the folder (when one is open) and log out; errors here change nothing."""
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            if self._conn.state == "SELECTED":
                self._conn.close()
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self._conn.logout()


def _quoted(folder: str) -> str:
    """An IMAP quoted string (imaplib sends arguments as given)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class PollResult:
    """What happened to one message of the mailbox."""

    uid: str
    reporter: str
    report_id: str | None
    verdict: str
    status: str
    problem: str = ""


def poll_report_mailbox(
    runtime: Runtime, source: MailboxSource, origin: Origin
) -> list[PollResult]:
    """File every unseen message as a report, then mark it seen; audit the poll.

    The reporter is the account whose address forwarded the mail; other
    senders are filed as ``mailbox``. The From address of a forward is not
    authenticated, so it only attributes credit, it grants nothing.
    """
    try:
        messages = source.unseen()
    except MailboxError:
        _audit_poll(runtime, origin, Outcome.FAILURE, filed=0, skipped=0)
        raise
    results: list[PollResult] = []
    for message in messages:
        results.append(_file_one(runtime, message, origin))
        source.mark_seen(message.uid)
    filed = sum(1 for r in results if r.report_id)
    _audit_poll(runtime, origin, Outcome.SUCCESS, filed=filed, skipped=len(results) - filed)
    return results


def _file_one(runtime: Runtime, message: FetchedMessage, origin: Origin) -> PollResult:
    forwarder = sender_address(message.raw)
    with runtime.db.sessions() as session:
        user_id = user_id_for_email(session, forwarder) if forwarder else None
    reporter = user_id or MAILBOX_REPORTER
    original = unwrap_forwarded(message.raw) or message.raw
    try:
        filed = services.report_message(runtime, reporter, original, "imap", origin)
    except CarewallError as exc:
        return PollResult(
            message.uid, forwarder or MAILBOX_REPORTER, None, "", "skipped", exc.message
        )
    return PollResult(
        message.uid, forwarder or MAILBOX_REPORTER, filed.id, filed.verdict.verdict, filed.status
    )


def _audit_poll(
    runtime: Runtime, origin: Origin, outcome: Outcome, *, filed: int, skipped: int
) -> None:
    with runtime.db.transaction() as session:
        audit(
            session,
            PhishingTag.MAILBOX_POLLED,
            origin,
            actor="system",
            outcome=outcome,
            filed=filed,
            skipped=skipped,
        )
