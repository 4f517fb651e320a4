"""A search returning several patients is one audit entry, found in each patient's accounting."""

from __future__ import annotations

import json

from alembic import command
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from carewall.audit import AuditEvent, entries_about, entry_count, verify
from carewall.audit.events import parse_body
from carewall.audit.fhir import audit_event
from carewall.audit.models import AuditEntry, AuditEntrySubject
from carewall.core.context import Caller
from carewall.core.db import Database, alembic_config
from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from carewall.records import Purpose, RecordsTag
from carewall.records.access import search_for
from carewall.records.access.audit_patients import patient_subject, reveal_body
from carewall.records.portal.accounting import access_events
from carewall.records.services import create_resource
from carewall.records.store.keys import RecordKeys
from carewall.registry import create_app
from tests.support.audit import append_unkeyed, patient_entries
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import post, signed_in

SYSTEM = Caller.cli("test")
CODE = {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "Glucose"}


def _people(runtime: Runtime, ids: list[str], family: str = "Sharedname") -> None:
    for pid in ids:
        patient = fhir_resource("Patient", pid, name=[{"family": family}], birthDate="1980-05-05")
        create_resource(runtime, SYSTEM, patient)


def _clinician(runtime: Runtime) -> Caller:
    make_user(runtime, "nurse@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, "nurse@clinic.example")
    return Caller.for_user(uid, role=Role.CLINICIAN)


def test_each_patient_in_a_search_result_sees_the_search(runtime: Runtime) -> None:
    _people(runtime, ["pa", "pb", "pc"])
    _people(runtime, ["pd"], family="Elsewhere")
    nurse = _clinician(runtime)
    params = {"family": ["Sharedname"], "birthdate": ["1980-05-05"]}
    found = search_for(runtime, nurse, "Patient", params, Purpose.TREATMENT)
    assert {p["id"] for p in found} == {"pa", "pb", "pc"}
    for pid in ("pa", "pb", "pc"):
        [event] = [e for e in access_events(runtime, pid) if e.action == "records:search:performed"]
        assert event.search_patients == 3
        assert event.categories == ("search",)
        assert event.action_words == "a search that returned 3 patients"
        assert event.note == "Appeared in a search result with 3 patients"
        assert event.purpose_words == "Your care"
    assert not [e for e in access_events(runtime, "pd") if e.action.endswith(":performed")]
    with runtime.db.sessions() as session:
        [entry] = patient_entries(session, runtime, "pb", [RecordsTag.SEARCH_PERFORMED])
    assert entry.details["patient_ids"] == ["pa", "pb", "pc"]
    assert entry.details["params"] == ["birthdate", "family"]
    assert "Sharedname" not in json.dumps(entry.details), "never a search value"


def test_a_search_inside_one_record_stays_filed_under_that_patient(runtime: Runtime) -> None:
    _people(runtime, ["pa", "pb"])
    create_resource(runtime, SYSTEM, fhir_resource("Observation", "pa", code=CODE))
    nurse = _clinician(runtime)
    search_for(runtime, nurse, "Observation", {"patient": ["pa"]}, Purpose.TREATMENT)
    [event] = [e for e in access_events(runtime, "pa") if e.action.endswith(":performed")]
    assert event.search_patients == 0
    assert event.categories == ("clinical",)
    assert event.action_words == "looked up"
    with runtime.db.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(AuditEntrySubject))
    assert rows == 0, "a single-patient search needs no index rows"


def test_fifty_patients_cost_one_chain_entry(runtime: Runtime) -> None:
    ids = [f"p{n:02d}" for n in range(50)]
    for pid in ids:
        create_resource(runtime, SYSTEM, fhir_resource("Observation", pid, code=CODE))
    nurse = _clinician(runtime)
    with runtime.db.sessions() as session:
        before = entry_count(session)
    found = search_for(runtime, nurse, "Observation", {"code": ["2345-7"]}, Purpose.TREATMENT)
    assert len(found) == 50
    with runtime.db.sessions() as session:
        assert entry_count(session) == before + 1
        subjects = set(session.scalars(select(AuditEntrySubject.subject)))
        newest = session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    keys = RecordKeys.from_keystore(runtime.keys)
    assert subjects == {patient_subject(keys, pid) for pid in ids}
    assert newest is not None
    assert newest.subject == "Observation"
    assert b'"p25"' not in newest.body, "patient ids are sealed in the body"
    for pid in (ids[0], ids[25], ids[49]):
        [event] = [e for e in access_events(runtime, pid) if e.action.endswith(":performed")]
        assert event.search_patients == 50
    exported = audit_event(reveal_body(keys, parse_body(newest.body)), newest.entry_hash)
    patients = {e["what"]["reference"] for e in exported["entity"] if "reference" in e["what"]}
    assert patients == {f"Patient/{pid}" for pid in ids}, "the AuditEvent names each patient"
    assert verify(runtime.db).ok


def test_portal_and_access_report_show_the_search_without_values(runtime: Runtime) -> None:
    _people(runtime, ["pa", "pb"])
    nurse = _clinician(runtime)
    params = {"family": ["Sharedname"], "birthdate": ["1980-05-05"]}
    search_for(runtime, nurse, "Patient", params, Purpose.TREATMENT)
    officer = make_admin(runtime)
    person = make_user(runtime, "pb@example.org", "patient", patient_id="pb")
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, person)
        page = client.get("/portal/access").text
        staff = page.split('id="staff-h"')[1].split("</section>")[0]
        assert "Appeared in a search result" in staff
        assert "a search that returned 2 patients" in staff
        assert "nurse@clinic.example" in staff
        assert "Sharedname" not in page
        assert "1980-05-05" not in page
        search_seq = _search_seq(runtime, "pb")
        assert f'action="/portal/access/{search_seq}/flag"' in staff
        flagged = post(client, f"/portal/access/{search_seq}/flag", {"comment": ""})
        assert flagged.status_code == 200
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, officer)
        report = post(client, "/admin/access-report", {"patient_id": "pa"}).text
        assert "Appeared in a search result with 2 patients" in report
        assert "to the record of Sharedname" in report, "the heading names the patient (lookup)"
        rows = report.split("<table", 1)[1]
        assert "Sharedname" not in rows, "the rows carry no searched values"


def _search_seq(runtime: Runtime, pid: str) -> int:
    with runtime.db.sessions() as session:
        return patient_entries(session, runtime, pid, [RecordsTag.SEARCH_PERFORMED])[0].seq


def test_the_migration_indexes_searches_recorded_before_it(database_url: str) -> None:
    db = Database.connect(database_url)
    try:
        with db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            # SQLite starts empty; PostgreSQL tests copy a database migrated to the head.
            if MigrationContext.configure(connection).get_current_revision() is None:
                command.upgrade(config, "0005")
            else:
                command.downgrade(config, "0005")
        old_entries = [
            ("Patient", {"patients": 2, "patient_ids": ["pa", "pb"]}),  # several patients
            ("Patient/pa", {"patients": 1, "patient_ids": ["pa"], "patient": "pa"}),
        ]
        append_unkeyed(
            db,
            [
                AuditEvent(
                    action=RecordsTag.SEARCH_PERFORMED,
                    actor="user:x",
                    subject=subject,
                    details={"resource_type": "Patient", **details},
                )
                for subject, details in old_entries
            ],
        )
        db.migrate()
        with db.sessions() as session:
            about_a = entries_about(session, "Patient/pa", [RecordsTag.SEARCH_PERFORMED])
            about_b = entries_about(session, "Patient/pb", [RecordsTag.SEARCH_PERFORMED])
            rows = session.execute(
                text("SELECT subject, seq FROM audit_entry_subjects ORDER BY subject")
            ).all()
        assert [e.seq for e in about_a] == [2, 1]
        assert [e.seq for e in about_b] == [1]
        assert [tuple(r) for r in rows] == [("Patient/pa", 1), ("Patient/pb", 1)]
    finally:
        db.dispose()
