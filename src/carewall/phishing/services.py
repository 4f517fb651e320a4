"""The only code that writes phishing state; each change audits in its own transaction.

Data keys are fetched before a transaction opens: creating one takes its own
write transaction, which under SQLite's single writer would wait on ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import select

from carewall.core.clock import utcnow
from carewall.core.context import Origin
from carewall.core.crypto import decrypt, encrypt
from carewall.core.db import new_id
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.phishing.analyzer import Verdict, analyze_bytes
from carewall.phishing.context import context_from
from carewall.phishing.errors import check_message_size
from carewall.phishing.events import actor_ref, audit, report_ref
from carewall.phishing.message import message_date, sender_address
from carewall.phishing.models import NOTE_CHARS, SENDER_CHARS, SUBJECT_CHARS, MailReport
from carewall.phishing.queries import ReportSummary, summary_of
from carewall.phishing.sealing import (
    REPORT_KEY,
    Summary,
    seal_legacy_row,
    seal_note,
    seal_summary,
)
from carewall.phishing.simulation import marker as simulation_marker
from carewall.phishing.simulation.triage import simulation_reported_in
from carewall.phishing.tags import PhishingTag

#: Where start-up work comes from: no request, no address.
STARTUP = Origin(ip="", user_agent="startup")
ReportSource = Literal["upload", "imap"]
Decision = Literal["confirmed_phish", "safe", "simulation"]
DECISIONS: tuple[str, ...] = get_args(Decision)
Channel = Literal["web", "api", "cli"]


@dataclass(frozen=True, slots=True)
class FiledReport:
    """What filing a report produced, for the page or the poll summary."""

    id: str
    status: str
    verdict: Verdict


def analyze(runtime: Runtime, raw: bytes) -> Verdict:
    """Score a message with the organisation's context (nothing is stored).

    Only a simulation header signed with this Carewall's key marks our own
    simulation; a forged one counts against the message.
    """
    verifier = simulation_marker.verifier(runtime.keys.data_key(simulation_marker.SIMULATION_KEY))
    return analyze_bytes(check_message_size(raw), context_from(runtime.settings, verifier))


def record_analysis(
    runtime: Runtime, actor: str, verdict: Verdict, origin: Origin, channel: Channel
) -> None:
    """Audit that someone analyzed a message: the verdict and score, never its content."""
    with runtime.db.transaction() as session:
        audit(
            session,
            PhishingTag.MAIL_ANALYZED,
            origin,
            actor=actor,
            verdict=verdict.verdict,
            score=verdict.score,
            signals=len(verdict.signals),
            channel=channel,
        )


def report_message(
    runtime: Runtime, reporter_id: str, raw: bytes, source: ReportSource, origin: Origin
) -> FiledReport:
    """Analyze and file a message for the security officer, sealed at rest.

    Mail carrying the simulation header is filed as ``simulation`` at once:
    reporting a drill is the behaviour training asks for, and the officer
    still sees it in the queue.
    """
    verdict = analyze(runtime, raw)
    key = runtime.keys.data_key(REPORT_KEY)
    found = simulation_marker.find_marker(
        raw, runtime.keys.data_key(simulation_marker.SIMULATION_KEY)
    )
    report_id = new_id()
    status = "simulation" if verdict.simulation or found.marker else "new"
    report = MailReport(
        id=report_id,
        reporter_id=reporter_id,
        received_at=utcnow(),
        message_date=message_date(raw),
        source=source,
        summary_sealed=seal_summary(
            key,
            report_id,
            Summary(
                subject=" ".join(verdict.subject.split())[:SUBJECT_CHARS],
                sender=sender_address(raw)[:SENDER_CHARS],
                signals=[s.to_dict() for s in verdict.signals],
            ),
        ),
        raw_sealed=encrypt(key, raw, report_id.encode()),
        raw_size=len(raw),
        verdict=verdict.verdict,
        score=verdict.score,
        status=status,
        note_sealed=None,
    )
    with runtime.db.transaction() as session:
        session.add(report)
        audit(
            session,
            PhishingTag.REPORT_RECEIVED,
            origin,
            actor=actor_ref(reporter_id),
            subject=report_ref(report_id),
            source=source,
            verdict=verdict.verdict,
            score=verdict.score,
            status=status,
        )
        simulation_reported_in(session, runtime, found, origin, report_id)
    return FiledReport(report_id, status, verdict)


def decide(
    runtime: Runtime,
    officer_id: str,
    report_id: str,
    outcome: str,
    note: str,
    origin: Origin,
) -> None:
    """Record the officer's decision; the reporter sees it on their reports page."""
    if outcome not in DECISIONS:
        raise ValidationError(f"Choose one of: {', '.join(DECISIONS)}.")
    note = note.strip()
    if len(note) > NOTE_CHARS:
        raise ValidationError(f"Keep the note under {NOTE_CHARS} characters.")
    key = runtime.keys.data_key(REPORT_KEY)
    with runtime.db.transaction() as session:
        report = session.get(MailReport, report_id)
        if report is None:
            raise NotFoundError("There is no such report.")
        if report.summary_sealed is None:
            seal_legacy_row(key, report)  # never write a sealed note beside a clear subject
        previous = report.status
        report.status = outcome
        report.note_sealed = seal_note(key, report.id, note)
        report.decided_by = actor_ref(officer_id)
        report.decided_at = utcnow()
        audit(
            session,
            PhishingTag.REPORT_DECIDED,
            origin,
            actor=actor_ref(officer_id),
            subject=report_ref(report_id),
            outcome_status=outcome,
            previous_status=previous,
            has_note=bool(note),
        )


def open_report(
    runtime: Runtime, officer_id: str, report_id: str, origin: Origin
) -> tuple[ReportSummary, bytes]:
    """Decrypt a reported message for the officer; every opening is audited."""
    key = runtime.keys.data_key(REPORT_KEY)
    with runtime.db.transaction() as session:
        report = session.get(MailReport, report_id)
        if report is None:
            raise NotFoundError("There is no such report.")
        raw = decrypt(key, report.raw_sealed, report.id.encode())
        summary = summary_of(key, report, top=None)
        audit(
            session,
            PhishingTag.REPORT_VIEWED,
            origin,
            actor=actor_ref(officer_id),
            subject=report_ref(report_id),
        )
    return summary, raw


def seal_legacy_reports(runtime: Runtime, batch: int = 200) -> int:
    """Seal reports filed before revision 0009 (subject, sender, signals, note); returns how many.

    Run at start-up, after migrating: the migration cannot reach the master key.
    Each batch seals its rows and empties their clear columns in one transaction
    with its audit entry, so an interrupted run loses nothing and the next start
    carries on where it stopped.
    """
    key = runtime.keys.data_key(REPORT_KEY)
    pending = (
        select(MailReport)
        .where(MailReport.summary_sealed.is_(None))
        .limit(batch)
        .with_for_update(skip_locked=True)  # PostgreSQL: several workers share the work
    )
    done = 0
    while True:
        with runtime.db.transaction() as session:
            rows = list(session.scalars(pending))
            for report in rows:
                seal_legacy_row(key, report)
            if rows:
                audit(
                    session,
                    PhishingTag.REPORTS_SEALED,
                    STARTUP,
                    actor="system",
                    count=len(rows),
                )
        done += len(rows)
        if len(rows) < batch:
            return done
