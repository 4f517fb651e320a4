"""A report mailbox in memory, for tests that need no IMAP server (size limits, formats)."""

from __future__ import annotations

from dataclasses import dataclass, field

from carewall.phishing.imap import FetchedMessage


@dataclass
class MemoryMailbox:
    """A `MailboxSource` in memory, for the size-limit test: ``messages`` maps UID to bytes."""

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
