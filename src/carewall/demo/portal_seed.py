"""Demo seeder for the patient portal: a patient account and a few staff reads to show.

It runs after the first record seeder, so the portal patient is the packaged
one (Angelic Mueller) when the bundles are there; otherwise it creates a small patient of its own.
The staff reads go through the vault like any other, so "Who has looked at my
record" is filled from the real audit trail.
"""

from __future__ import annotations

from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.demo.framework import DemoLogin, Seeder
from carewall.demo.records_seed import PORTAL_FAMILY, patients_named
from carewall.identity import Role, accounts, queries
from carewall.records import Purpose
from carewall.records.access import get_record_for, search_for
from carewall.records.services import create_resource

_DEMO = Origin(user_agent="demo-seed")
PATIENT_LOGIN = DemoLogin(Role.PATIENT, "patient@clinic.example", "juniper sailboat violin 64")
_SYSTEM = Caller.cli("demo", user_agent=_DEMO.user_agent)


def _demo_patient(runtime: Runtime) -> str:
    """The packaged portal patient, else the first stored Patient, else a new small one."""
    named = patients_named(runtime, PORTAL_FAMILY)
    if named:
        return named[0]
    found = search_for(runtime, _SYSTEM, "Patient", {}, Purpose.SYSTEM)
    if found:
        return str(sorted(found, key=lambda p: str(p["id"]))[0]["id"])
    patient = create_resource(
        runtime,
        _SYSTEM,
        {
            "resourceType": "Patient",
            "name": [{"family": "Rivera", "given": ["Dana"]}],
            "birthDate": "1984-05-17",
        },
    )
    pid = str(patient["id"])
    subject = {"reference": f"Patient/{pid}"}
    create_resource(
        runtime,
        _SYSTEM,
        {
            "resourceType": "Condition",
            "code": {"text": "Seasonal allergic rhinitis"},
            "subject": subject,
            "recordedDate": "2024-04-02",
        },
    )
    create_resource(
        runtime,
        _SYSTEM,
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "8867-4"}],
                "text": "Heart rate",
            },
            "subject": subject,
            "effectiveDateTime": "2024-04-02",
            "valueQuantity": {"value": 68, "unit": "/min"},
        },
    )
    return pid


def _staff_actor(runtime: Runtime, email: str, role: Role) -> Caller | None:
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    return Caller.for_user(user_id, role) if user_id else None


def _portal_patient(runtime: Runtime) -> None:
    """A portal account linked to a patient, and two staff reads of that patient."""
    patient_id = _demo_patient(runtime)
    link = accounts.invite_user(
        runtime,
        _SYSTEM,
        PATIENT_LOGIN.email,
        Role.PATIENT,
        name="Dana Rivera",
        patient_id=patient_id,
    )
    accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PATIENT_LOGIN.password, _DEMO)
    clinician = _staff_actor(runtime, "clinician@clinic.example", Role.CLINICIAN)
    if clinician is not None:
        get_record_for(runtime, clinician, "Patient", patient_id, Purpose.TREATMENT)
        search_for(runtime, clinician, "Observation", {"patient": [patient_id]}, Purpose.TREATMENT)
    front_desk = _staff_actor(runtime, "frontdesk@clinic.example", Role.FRONT_DESK)
    if front_desk is not None:
        get_record_for(runtime, front_desk, "Patient", patient_id, Purpose.OPERATIONS)


PORTAL_SEEDER = Seeder("records-portal-patient", _portal_patient, logins=(PATIENT_LOGIN,))
