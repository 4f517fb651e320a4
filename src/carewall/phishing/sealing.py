"""What of a reported mail is sealed, and how: everything a person wrote or was sent.

Reported mail is often real mail, and real mail at a clinic carries patient
details: in the message itself, but also in its subject ("Lab results for
Jane Doe, DOB ..."), its sender (a patient's address) and the analyzer's
evidence (the URL, header or file name each signal quotes). All of it is
sealed with the ``phishing-reports`` data key (AES-256-GCM):

- the raw message with the report id as associated data (as since 0004);
- subject, sender and signals together as the *summary*, associated data
  ``mail-report/{id}/summary``;
- the officer's note to the reporter, associated data ``mail-report/{id}/note``.

What stays readable, because the queue sorts and filters on it without a key:
who reported (a user id), when, how (upload or mailbox), the message's Date,
its size, the verdict and score, the status and who decided when.

Rows written before revision 0009 hold subject, sender, signals and note in
clear columns until `seal_legacy_reports` (run at start-up) seals them and
empties those columns; readers take the clear columns while a row is unsealed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from carewall.core.crypto import decrypt, encrypt
from carewall.phishing.models import MailReport

REPORT_KEY = "phishing-reports"


@dataclass(frozen=True, slots=True)
class Summary:
    """The sealed part of a report that lists show."""

    subject: str
    sender: str
    signals: list[dict[str, Any]]


def _aad(report_id: str, part: str) -> bytes:
    return f"mail-report/{report_id}/{part}".encode()


def seal_summary(key: bytes, report_id: str, summary: Summary) -> bytes:
    """Encrypt subject, sender and signals for one report."""
    body = {"subject": summary.subject, "sender": summary.sender, "signals": summary.signals}
    plain = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return encrypt(key, plain, _aad(report_id, "summary"))


def open_summary(key: bytes, report: MailReport) -> Summary:
    """The report's summary; a row not yet sealed reads from its legacy clear columns."""
    if report.summary_sealed is None:
        return Summary(report.legacy_subject, report.legacy_sender, list(report.legacy_signals))
    body = json.loads(decrypt(key, report.summary_sealed, _aad(report.id, "summary")))
    return Summary(str(body["subject"]), str(body["sender"]), list(body["signals"]))


def seal_note(key: bytes, report_id: str, note: str) -> bytes | None:
    """Encrypt the officer's note (None when there is none)."""
    return encrypt(key, note.encode(), _aad(report_id, "note")) if note else None


def open_note(key: bytes, report: MailReport) -> str:
    """The officer's note, sealed or (before sealing) from the legacy column."""
    if report.note_sealed is None:
        return report.legacy_note if report.summary_sealed is None else ""
    return decrypt(key, report.note_sealed, _aad(report.id, "note")).decode()


def seal_legacy_row(key: bytes, report: MailReport) -> None:
    """Seal a row written before 0009 and empty its clear columns (in the caller's transaction)."""
    summary = Summary(report.legacy_subject, report.legacy_sender, list(report.legacy_signals))
    report.summary_sealed = seal_summary(key, report.id, summary)
    report.note_sealed = seal_note(key, report.id, report.legacy_note)
    report.legacy_subject = report.legacy_sender = report.legacy_note = ""
    report.legacy_signals = []
