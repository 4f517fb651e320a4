"""The home page per role: what needs doing, from the domains' own figures, with empty states."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from carewall.audit import entries_with_action
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.access.break_glass import start_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.records.tags import RecordsTag
from carewall.registry import create_app
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import sign_in_user, signed_in

SYSTEM = Caller.cli("test")


def test_the_officer_sees_what_needs_doing_and_empty_states_say_what_would_appear(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    with TestClient(app) as admin:
        signed_in(admin, runtime, make_admin(runtime))
        home = admin.get("/").text
    for heading in ("Access flags to review", "Emergency access", "Reported email", "Accounts"):
        assert heading in home
    assert "No open flags." in home
    assert "Nobody used emergency access in the last two weeks" in home
    assert "Nothing reported yet." in home
    assert 'id="backup-panel"' in home  # the backup domain's own panel
    assert "Strong sign-in" not in home  # no brochure


def test_a_clinician_sees_the_charts_they_opened_and_no_officer_panels(runtime: Runtime) -> None:
    pid = str(uuid.uuid4())
    name = [{"use": "official", "family": "Quenneville", "given": ["Harriet"]}]
    create_resource(
        runtime, SYSTEM, fhir_resource("Patient", pid, name=name, birthDate="1961-07-14")
    )
    app = create_app(runtime)
    with TestClient(app) as clinician:
        sign_in_user(clinician, runtime, "doc@clinic.example", "clinician")
        before = clinician.get("/").text
        assert "No charts opened in the last 30 days" in before
        assert "Access flags to review" not in before
        assert clinician.get(f"/patients/{pid}").status_code == 200
        after = clinician.get("/").text
    assert f'href="/patients/{pid}"' in after
    assert "Quenneville, Harriet" in after
    assert "You have no emergency access open" in after


def test_front_desk_home_searches_and_patients_and_auditors_get_their_links(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    with TestClient(app) as desk:
        sign_in_user(desk, runtime, "desk@clinic.example", "front_desk")
        page = desk.get("/").text
        assert 'action="/patients/search"' in page
        assert "Your emergency access" not in page
    with TestClient(app) as auditor:
        sign_in_user(auditor, runtime, "audit@clinic.example", "auditor")
        page = auditor.get("/").text
        assert 'href="/admin/audit"' in page
        assert 'href="/admin/access-report"' in page


def test_recent_patients_leave_out_a_record_the_clinician_can_no_longer_open(
    runtime: Runtime,
) -> None:
    from carewall.records.access.restriction import restrict_compartment
    from carewall.records.overview import recent_patients_for

    pid = str(uuid.uuid4())
    create_resource(runtime, SYSTEM, fhir_resource("Patient", pid, birthDate="1970-01-01"))
    clinician = Caller.for_user("c1", Role.CLINICIAN)
    get_record_for(runtime, clinician, "Patient", pid, Purpose.TREATMENT)
    assert [p["id"] for p in recent_patients_for(runtime, clinician)] == [pid]
    restrict_compartment(runtime, SYSTEM, pid, "vip")
    assert recent_patients_for(runtime, clinician) == []


def test_the_officer_sees_whose_restricted_record_was_opened_and_the_look_is_audited(
    runtime: Runtime,
) -> None:
    name = [{"use": "official", "family": "Vantongeren", "given": ["Odile"]}]
    create_resource(
        runtime, SYSTEM, fhir_resource("Patient", "p-vip", name=name, birthDate="1958-03-09")
    )
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    doctor = make_user(runtime, "er@clinic.example", Role.CLINICIAN)
    clinician = Caller.for_user(doctor.id, Role.CLINICIAN, session_id="s-er")
    start_break_glass(runtime, clinician, "p-vip", "emergency", "unconscious in ER")
    admin = make_admin(runtime)
    with TestClient(create_app(runtime)) as officer:
        signed_in(officer, runtime, admin)
        home = officer.get("/").text
    assert "the restricted record of <strong>Vantongeren, Odile</strong>" in home
    assert "(born 1958-03-09)" in home
    with runtime.db.sessions() as session:
        looked = entries_with_action(session, [RecordsTag.PATIENT_LOOKED_UP], limit=5)
    assert [e.actor for e in looked] == [f"user:{admin.id}"]
