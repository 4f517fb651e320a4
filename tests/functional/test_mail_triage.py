"""Reported mail from report to decision: staff report, the officer decides, the reporter sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from carewall.audit import verify
from carewall.audit.models import AuditEntry
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.identity.queries import user_id_for_email
from carewall.phishing import queries, services
from carewall.phishing.simulation import SIMULATION_KEY
from carewall.registry import create_app
from tests.functional.mail_messages import (
    BODY_MARKER,
    PHISH_DEFANGED,
    clean_eml,
    phishing_eml,
    simulation_eml,
)
from tests.support.clock import FrozenClock
from tests.support.factories import CLI, make_admin, make_user
from tests.support.signin import csrf, post, signed_in


def _key(runtime: Runtime) -> bytes:
    """The key that signs this Carewall's simulation markers."""
    return runtime.keys.data_key(SIMULATION_KEY)


def actions(runtime: Runtime) -> list[str]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


@pytest.fixture
def browsers(runtime: Runtime, clock: FrozenClock) -> Iterator[tuple[TestClient, TestClient]]:
    """A signed-in clinician and a signed-in administrator (the security officer)."""
    staff, officer = TestClient(create_app(runtime)), TestClient(create_app(runtime))
    with staff, officer:
        signed_in(staff, runtime, make_user(runtime, "clin@clinic.example", "clinician"))
        signed_in(officer, runtime, make_admin(runtime))
        yield staff, officer


def test_report_reaches_the_officer_whose_decision_the_reporter_sees(
    runtime: Runtime, browsers: tuple[TestClient, TestClient]
) -> None:
    staff, officer = browsers
    verdict_page = staff.post(
        "/mail/analyze",
        data={"csrf_token": csrf(staff)},
        files={"message": ("x.eml", phishing_eml(), "message/rfc822")},
    )
    hidden = re.search(r'name="message_b64" value="([^"]+)"', verdict_page.text)
    assert hidden, "the verdict page offers to report the message"
    reported = post(staff, "/mail/report", {"message_b64": hidden.group(1)})
    assert reported.status_code == 200
    assert "the security officer has your report" in reported.text
    assert "Waiting for the security officer" in reported.text

    queue = officer.get("/admin/mail-reports")
    assert "Urgent: your mailbox password expires today" in queue.text
    assert "verdict-phishing" in queue.text
    assert "links.password_form" in queue.text
    report_id = re.search(r'data-report="([0-9a-f-]{36})"', queue.text)
    assert report_id
    detail = officer.get(f"/admin/mail-reports/{report_id.group(1)}")
    assert PHISH_DEFANGED in detail.text
    assert BODY_MARKER in detail.text
    assert "document.location" not in detail.text

    decided = post(
        officer,
        f"/admin/mail-reports/{report_id.group(1)}",
        {"outcome": "confirmed_phish", "note": "Blocked the sender domain, thanks!"},
    )
    assert decided.status_code == 200
    assert "Decision saved" in decided.text
    assert "Nothing here." in officer.get("/admin/mail-reports?status=new").text
    assert "Urgent" in officer.get("/admin/mail-reports?status=confirmed_phish").text

    mine = staff.get("/mail/reports").text
    assert "Confirmed phishing" in mine
    assert "Blocked the sender domain, thanks!" in mine
    trail = actions(runtime)
    for tag in (
        "phishing:mail:analyzed",
        "phishing:report:received",
        "phishing:report:viewed",
        "phishing:report:decided",
    ):
        assert tag in trail
    assert verify(runtime.db).ok


def test_analyze_and_report_in_one_step(
    runtime: Runtime, browsers: tuple[TestClient, TestClient]
) -> None:
    staff, _ = browsers
    response = staff.post(
        "/mail/analyze",
        data={"csrf_token": csrf(staff), "report": "1"},
        files={"message": ("x.eml", clean_eml(), "message/rfc822")},
    )
    assert response.status_code == 200
    assert "Staff meeting moved to Thursday" in response.text  # now on /mail/reports


def test_raw_message_is_encrypted_at_rest(runtime: Runtime) -> None:
    filed = services.report_message(runtime, "u-1", phishing_eml(), "upload", CLI)
    with runtime.db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM mail_reports WHERE id = :id"), {"id": filed.id}
        ).one()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert BODY_MARKER.encode() not in stored
    assert b"Zelda" not in stored
    report, raw = services.open_report(runtime, Caller.for_user("officer", Role.ADMIN), filed.id)
    assert raw == phishing_eml()
    assert report.verdict == "phishing"


def test_sealed_message_cannot_be_moved_to_another_report(runtime: Runtime) -> None:
    first = services.report_message(runtime, "u-1", phishing_eml(), "upload", CLI)
    second = services.report_message(runtime, "u-1", clean_eml(), "upload", CLI)
    with runtime.db.engine.begin() as connection:
        sealed = connection.execute(
            text("SELECT raw_sealed FROM mail_reports WHERE id = :id"), {"id": first.id}
        ).scalar_one()
        connection.execute(
            text("UPDATE mail_reports SET raw_sealed = :s WHERE id = :id"),
            {"s": sealed, "id": second.id},
        )
    with pytest.raises(Exception, match="failed authentication"):
        services.open_report(runtime, Caller.for_user("officer", Role.ADMIN), second.id)


def test_simulation_is_filed_as_simulation_and_credited(runtime: Runtime) -> None:
    filed = services.report_message(runtime, "u-1", simulation_eml(_key(runtime)), "upload", CLI)
    assert filed.status == "simulation"
    assert [r.status for r in queries.queue(runtime).reports] == ["simulation"]
    assert queries.reports_of(runtime, "u-1").reports[0].status == "simulation"


def test_decide_refuses_unknown_outcomes_and_reports(runtime: Runtime) -> None:
    filed = services.report_message(runtime, "u-1", clean_eml(), "upload", CLI)
    with pytest.raises(ValidationError):
        services.decide(
            runtime, Caller.for_user("o", Role.ADMIN), filed.id, "delete_everything", ""
        )
    with pytest.raises(NotFoundError):
        services.decide(runtime, Caller.for_user("o", Role.ADMIN), "missing", "safe", "")


def test_reporting_evidence_counts_and_median_time_to_report(
    runtime: Runtime, clock: FrozenClock
) -> None:
    with runtime.db.sessions() as session:
        empty = queries.reporting_evidence(session)
    assert empty.reports == 0
    assert empty.median_time_to_report is None
    sent = clock.now
    for minutes in (10, 30, 600):
        clock.now = sent + timedelta(minutes=minutes)
        date = sent.strftime("%a, %d %b %Y %H:%M:%S +0000")
        filed = services.report_message(runtime, "u-1", phishing_eml(date=date), "upload", CLI)
    services.decide(runtime, Caller.for_user("o", Role.ADMIN), filed.id, "confirmed_phish", "")
    services.report_message(runtime, "u-2", simulation_eml(_key(runtime)), "upload", CLI)  # old
    services.report_message(runtime, "u-2", b"Subject: no date\r\n\r\nhello", "upload", CLI)
    with runtime.db.sessions() as session:
        evidence = queries.reporting_evidence(session)
    assert evidence.reports == 5
    assert evidence.confirmed_phish == 1
    assert evidence.simulations == 1
    # Median over the dated reports: 10 min, 30 min, 600 min and the simulation (days).
    assert evidence.median_time_to_report == timedelta(minutes=315)


def test_reporter_name_resolves_for_the_queue_only_by_id(runtime: Runtime) -> None:
    make_user(runtime, "fd@clinic.example", "front_desk")
    with runtime.db.sessions() as session:
        user_id = user_id_for_email(session, "fd@clinic.example")
    assert user_id
    services.report_message(runtime, user_id, clean_eml(), "upload", CLI)
    assert len(queries.reports_of(runtime, user_id).reports) == 1
    assert queries.reports_of(runtime, "someone-else").reports == []
