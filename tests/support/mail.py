"""Mail for tests: a real SMTP server on loopback, and a report mailbox in memory."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from carewall.phishing.imap import FetchedMessage


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


@dataclass
class MemoryMailbox:
    """A `MailboxSource` in memory, for tests that need no IMAP server (size limits, formats).

    ``messages`` maps UID to the raw message.
    """

    messages: dict[str, bytes] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def unseen(self) -> list[FetchedMessage]:
        """Every message not yet marked seen."""
        return [FetchedMessage(u, r) for u, r in self.messages.items() if u not in self.seen]

    def mark_seen(self, uid: str) -> None:
        """Remember the UID."""
        self.seen.add(uid)

    def close(self) -> None:
        """Nothing to release."""
