"""What the database says about patients without the key (issue 9, item 8).

Attack: with a copy of the database file and no key, find out whose record is
whose and what is special about it. Before, the users table linked a portal
account's email to its Patient id in clear, a restriction said in clear why a
record is restricted (joinable to the patient), and every records audit entry
named the patient and the resource in clear, so the trail tied a person's
email (the actor of their own portal reads) to every staff access, break-glass
and restriction. Now the link, the reason and the ids are sealed; the audit
trail carries keyed references; the portal, the access report, the access
flags and `carewall audit export --format fhir` still name the patient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from carewall.audit import AuditEvent, record, verify
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime
from carewall.identity import Role, links, queries
from carewall.records import Purpose, RecordsTag
from carewall.records.access import export_compartment, get_record_for, search_for
from carewall.records.access.break_glass import start_break_glass, stop_break_glass
from carewall.records.access.restriction import restrict_compartment, restriction_reason
from carewall.records.portal.accounting import access_events, access_report, flag_access
from carewall.records.portal.flags import list_flags
from carewall.records.services import create_resource
from tests.support.cli import carewall
from tests.support.factories import fhir_resource, make_user

SYSTEM = Caller.cli("test")
PATIENT = "pt-5e1d7c2a"
OTHER = "pt-0b94e6f1"
OBSERVATION = "obs-93b1f04d"
REASON = "behavioural-health"
EMAIL = "zelda@example.org"


@dataclass
class Story:
    nurse: Caller
    me: Caller
    grant: str


def _actor(runtime: Runtime, email: str, role: Role, patient_id: str | None = None) -> Caller:
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, email)
    return Caller.for_user(uid, role=role, patient_id=patient_id, session_id=uid)


def _story(runtime: Runtime) -> Story:
    """Everything that writes a records entry naming a patient, once."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", PATIENT, name=[{"family": "Shared"}]))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", OTHER, name=[{"family": "Shared"}]))
    create_resource(runtime, SYSTEM, {**fhir_resource("Observation", PATIENT), "id": OBSERVATION})
    make_user(runtime, EMAIL, "patient", patient_id=PATIENT)
    make_user(runtime, "nurse@clinic.example", "clinician")
    nurse = _actor(runtime, "nurse@clinic.example", Role.CLINICIAN)
    me = _actor(runtime, EMAIL, Role.PATIENT, PATIENT)
    get_record_for(runtime, nurse, "Observation", OBSERVATION, Purpose.TREATMENT)
    search_for(runtime, nurse, "Observation", {"patient": [PATIENT]}, Purpose.TREATMENT)
    search_for(runtime, nurse, "Patient", {"family": ["Shared"]}, Purpose.TREATMENT)
    get_record_for(runtime, me, "Patient", PATIENT, Purpose.PATIENT_REQUEST)
    export_compartment(runtime, me, PATIENT)
    with pytest.raises(NotFoundError):
        get_record_for(runtime, me, "Patient", OTHER, Purpose.PATIENT_REQUEST)
    restrict_compartment(runtime, SYSTEM, PATIENT, REASON)
    grant = start_break_glass(runtime, nurse, PATIENT, "emergency", "unconscious in ED")
    get_record_for(runtime, nurse, "Patient", PATIENT, Purpose.EMERGENCY)
    stop_break_glass(runtime, nurse, grant, PATIENT)
    officer = Caller.for_user("officer", Role.ADMIN)
    access_report(runtime, officer, PATIENT)
    read = next(e for e in access_events(runtime, PATIENT) if e.actor == nurse.ref)
    flag_access(runtime, me, read.seq, "")
    return Story(nurse, me, grant)


def _rows(runtime: Runtime, table: str) -> str:
    with runtime.db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()
    return "\n".join(
        " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
        for row in rows
    )


def test_the_database_alone_names_no_patient(runtime: Runtime) -> None:
    story = _story(runtime)
    users = _rows(runtime, "users")
    assert EMAIL in users
    assert PATIENT not in users, "the account is not linked to its record in clear"
    assert REASON not in _rows(runtime, "restricted_compartments")
    trail = _rows(runtime, "audit_entries") + _rows(runtime, "audit_entry_subjects")
    for secret in (PATIENT, OTHER, OBSERVATION, story.grant, REASON):
        assert secret not in trail, f"{secret} is readable in the audit trail"
    assert "Patient/" not in trail
    assert verify(runtime.db).ok


def test_with_the_key_every_feature_still_names_the_patient(runtime: Runtime) -> None:
    story = _story(runtime)
    assert links.patient_id_of(runtime, story.me.user_id) == PATIENT
    assert restriction_reason(runtime, PATIENT) == REASON
    events = access_events(runtime, PATIENT)
    actions = {e.action for e in events}
    for tag in (
        RecordsTag.RESOURCE_READ,
        RecordsTag.SEARCH_PERFORMED,
        RecordsTag.EXPORT_COMPLETED,
        RecordsTag.EMERGENCY_STARTED,
        RecordsTag.EMERGENCY_STOPPED,
    ):
        assert tag in actions, tag
    assert any(e.search_patients == 2 for e in events), "the two-patient search is listed"
    assert any(e.emergency and e.action == RecordsTag.RESOURCE_READ for e in events)
    assert [e.end_reason for e in events if e.action == RecordsTag.EMERGENCY_STOPPED] == ["stopped"]
    assert not [
        e
        for e in access_events(runtime, OTHER)
        if e.actor == story.me.ref and e.action == RecordsTag.RESOURCE_READ
    ]
    [flag] = list_flags(runtime, Caller.cli("officer"))
    assert flag.patient_id == PATIENT


def test_audit_export_names_the_patient_with_the_key(
    runtime: Runtime, cli_env: dict[str, str]
) -> None:
    _story(runtime)
    result = carewall(cli_env, "audit", "export", "--format", "fhir")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    named = {
        entity["what"]["reference"]
        for event in events
        for entity in event["entity"]
        if "reference" in entity.get("what", {})
    }
    assert {f"Patient/{PATIENT}", f"Patient/{OTHER}", f"Observation/{OBSERVATION}"} <= named
    started = [e for e in events if e["outcomeDesc"].startswith("records:emergency:started")]
    assert [e["entity"][0]["what"]["reference"] for e in started] == [f"Patient/{PATIENT}"]


def test_entries_written_before_the_upgrade_are_still_found(runtime: Runtime) -> None:
    """Old entries keep the patient in clear (their bodies are hashed): found and verified."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", PATIENT))
    make_user(runtime, "nurse@clinic.example", "clinician")
    nurse = _actor(runtime, "nurse@clinic.example", Role.CLINICIAN)
    old = AuditEvent(
        action=RecordsTag.RESOURCE_READ,
        actor=nurse.ref,
        subject=f"Patient/{PATIENT}",
        details={"resource_type": "Patient", "id": PATIENT, "patient": PATIENT, "purpose": "TREAT"},
    )
    with runtime.db.transaction() as session:
        record(session, old)
    get_record_for(runtime, nurse, "Patient", PATIENT, Purpose.TREATMENT)
    reads = [e for e in access_events(runtime, PATIENT) if e.action == RecordsTag.RESOURCE_READ]
    assert len(reads) == 2
    assert {e.purpose_words for e in reads} == {"Your care"}
    assert verify(runtime.db).ok
