"""Reported mail is encrypted at rest around the message too (issue 9, item 7).

Attack: with a copy of the database and no key, read what staff reported.
Before: the raw message was sealed, but its subject ("Lab results for ..."),
its sender (often a patient's address), the analyzer's evidence (URLs, file
names) and the officer's note sat in clear columns. Now every one of them is
sealed, the queue still sorts and filters, and it decrypts only the page shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from carewall.audit import verify
from carewall.core.context import Caller
from carewall.core.errors import DecryptionError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.phishing import queries, services
from carewall.registry import create_app
from tests.support.clock import FrozenClock
from tests.support.factories import CLI, make_admin
from tests.support.signin import signed_in

SUBJECT = "Lab results for Zelda Quackenbush DOB 1961-04-02"
SENDER = "zelda.quackenbush@patientmail.example"
EVIDENCE_HOST = "quackenbush-results.example"
NOTE = "Zelda's own address was spoofed; told her GP"


def lure(subject: str = SUBJECT) -> bytes:
    """A credential lure whose subject, sender and link carry a patient's details."""
    return f"""From: "Zelda Q" <{SENDER}>
To: nurse@clinic.example
Subject: {subject}
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <z1@patientmail.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>Your results are ready. <a href="https://{EVIDENCE_HOST}/login">Sign in to view</a>
with your email password today.</p>
""".replace("\n", "\r\n").encode()


SECRETS = (SUBJECT, "Quackenbush", SENDER, EVIDENCE_HOST, NOTE, "spoofed")


def _database_bytes(runtime: Runtime) -> bytes:
    """Every stored value of every row of the tables a report touches, as bytes."""
    dump = b""
    with runtime.db.engine.connect() as connection:
        for table in ("mail_reports", "audit_entries"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                dump += b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    return dump


def test_subject_sender_evidence_and_note_are_sealed(runtime: Runtime) -> None:
    filed = services.report_message(runtime, "u-1", lure(), "upload", CLI)
    services.decide(
        runtime, Caller.for_user("officer", Role.ADMIN), filed.id, "confirmed_phish", NOTE
    )
    stored = _database_bytes(runtime)
    for secret in SECRETS:
        assert secret.encode() not in stored, f"{secret!r} is readable in the database"
    if runtime.db.engine.dialect.name == "sqlite":
        path = Path(str(runtime.db.engine.url.database))
        files = [path, path.with_name(path.name + "-wal")]
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} is in the SQLite files"
    # With the key, everything reads back.
    [mine] = queries.reports_of(runtime, "u-1").reports
    assert (mine.subject, mine.sender, mine.note) == (SUBJECT, SENDER, NOTE)
    summary, raw_message = services.open_report(
        runtime, Caller.for_user("officer", Role.ADMIN), filed.id
    )
    assert summary.subject == SUBJECT
    assert any(EVIDENCE_HOST in str(s.get("evidence")) for s in summary.top_signals)
    assert raw_message == lure()
    assert verify(runtime.db).ok


def test_a_sealed_summary_cannot_be_moved_to_another_report(runtime: Runtime) -> None:
    first = services.report_message(runtime, "u-1", lure(), "upload", CLI)
    second = services.report_message(runtime, "u-1", lure("Other"), "upload", CLI)
    with runtime.db.engine.begin() as connection:
        sealed = connection.execute(
            text("SELECT summary_sealed FROM mail_reports WHERE id = :id"), {"id": first.id}
        ).scalar_one()
        connection.execute(
            text("UPDATE mail_reports SET summary_sealed = :s WHERE id = :id"),
            {"s": sealed, "id": second.id},
        )
    with pytest.raises(DecryptionError, match="failed authentication"):
        services.open_report(runtime, Caller.for_user("officer", Role.ADMIN), second.id)


def test_the_queue_pages_and_filters_and_decrypts_only_the_page_shown(
    runtime: Runtime, clock: FrozenClock
) -> None:
    ids = []
    for n in range(7):
        clock.advance(minutes=1)
        ids.append(services.report_message(runtime, "u-1", lure(f"Report {n}"), "upload", CLI).id)
    services.decide(runtime, Caller.for_user("o", Role.ADMIN), ids[1], "safe", "")
    services.decide(runtime, Caller.for_user("o", Role.ADMIN), ids[4], "safe", "")
    # Break the oldest report's seal: only a page that shows it may fail to open.
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE mail_reports SET summary_sealed = :s WHERE id = :id"),
            {"s": b"\x00" * 40, "id": ids[0]},
        )
    first = queries.queue(runtime, page=1, size=3)
    assert [r.subject for r in first.reports] == ["Report 6", "Report 5", "Report 4"]
    assert first.has_next
    second = queries.queue(runtime, page=2, size=3)
    assert [r.subject for r in second.reports] == ["Report 3", "Report 2", "Report 1"]
    safe = queries.queue(runtime, "safe", size=3)
    assert [r.subject for r in safe.reports] == ["Report 4", "Report 1"]
    assert not safe.has_next
    new = queries.queue(runtime, "new", page=2, size=2)
    assert [r.subject for r in new.reports] == ["Report 3", "Report 2"]
    assert new.has_next, "the broken report is on the next page, so nothing tried to open it"
    with pytest.raises(DecryptionError):
        queries.queue(runtime, "new", page=3, size=2)


def test_the_queue_page_links_to_older_reports(runtime: Runtime, clock: FrozenClock) -> None:
    for n in range(queries.PAGE_SIZE + 2):
        clock.advance(seconds=1)
        services.report_message(runtime, "u-1", lure(f"Report {n:02d}"), "upload", CLI)
    with TestClient(create_app(runtime)) as officer:
        signed_in(officer, runtime, make_admin(runtime))
        page = officer.get("/admin/mail-reports?status=new")
        assert page.status_code == 200
        assert f"Report {queries.PAGE_SIZE + 1:02d}" in page.text
        assert "Report 00" not in page.text
        assert 'href="/admin/mail-reports?status=new&amp;page=2"' in page.text
        older = officer.get("/admin/mail-reports?status=new&page=2")
        assert "Report 00" in older.text
        assert "Report 01" in older.text
        assert "Report 02" not in older.text
        assert officer.get("/admin/mail-reports?page=0").status_code == 422
