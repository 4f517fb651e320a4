"""The permission matrix, compartments and break-glass, through `records.access` only."""

from __future__ import annotations

import pytest

from carewall.audit import recent_entries
from carewall.core.context import Caller
from carewall.core.errors import CarewallError, NotFoundError, PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import (
    MATRIX,
    SUPPORTED_TYPES,
    Action,
    BreakGlassRequiredError,
    Purpose,
)
from carewall.records.access import get_record_for, history_for, search_for, vread_for
from carewall.records.access.break_glass import start_break_glass, stop_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource, delete_resource, update_resource
from tests.support.clock import FrozenClock
from tests.support.factories import fhir_resource

SYSTEM = Caller.cli("test")
P = Purpose.TREATMENT


def _actor(role: Role, patient_id: str | None = None) -> Caller:
    return Caller(ref=f"u-{role}", role=role, patient_id=patient_id, session_id=str(role))


def _seed(runtime: Runtime, patient_id: str) -> dict[str, str]:
    ids = {}
    for resource_type in sorted(SUPPORTED_TYPES):
        resource = fhir_resource(resource_type, patient_id)
        create_resource(runtime, SYSTEM, resource)
        ids[resource_type] = resource["id"]
    return ids


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.PATIENT])
def test_staff_role_reaches_exactly_what_the_matrix_says(runtime: Runtime, role: Role) -> None:
    ids = _seed(runtime, "p-m")
    actor = _actor(role)
    for resource_type, logical_id in ids.items():
        _check_type(runtime, actor, resource_type, logical_id)
    with runtime.db.sessions() as session:
        entries = recent_entries(session, 2000)
    denied = [e for e in entries if e.action == "records:access:denied"]
    assert denied or role in {Role.CLINICIAN, Role.INTEGRATION}  # the roles refused nothing here


def _check_type(runtime: Runtime, actor: Caller, resource_type: str, logical_id: str) -> None:
    may_read = resource_type in MATRIX[actor.role][Action.READ]
    may_write = resource_type in MATRIX[actor.role][Action.WRITE]
    _expect(may_read, lambda: get_record_for(runtime, actor, resource_type, logical_id, P))
    _expect(may_read, lambda: search_for(runtime, actor, resource_type, {}, P))
    _expect(may_read, lambda: history_for(runtime, actor, resource_type, logical_id, P))
    resource = fhir_resource(resource_type, "p-m", id=logical_id, language="en")
    _expect(may_write, lambda: update_resource(runtime, actor, resource))
    _expect(may_write, lambda: delete_resource(runtime, actor, resource_type, logical_id))


def _expect(allowed: bool, call: object) -> None:
    assert callable(call)
    if allowed:
        call()
    else:
        with pytest.raises(PermissionDeniedError):
            call()


def test_patient_reads_own_compartment_and_never_another(runtime: Runtime) -> None:
    mine, theirs = _seed(runtime, "p-a"), _seed(runtime, "p-b")
    alice = _actor(Role.PATIENT, "p-a")
    for resource_type in SUPPORTED_TYPES - {"Practitioner", "Organization"}:
        assert get_record_for(runtime, alice, resource_type, mine[resource_type], P)
        with pytest.raises(NotFoundError):  # guessing an id reveals nothing
            get_record_for(runtime, alice, resource_type, theirs[resource_type], P)
        with pytest.raises(NotFoundError):
            history_for(runtime, alice, resource_type, theirs[resource_type], P)
        with pytest.raises(NotFoundError):
            vread_for(runtime, alice, resource_type, theirs[resource_type], 1, P)
        found = search_for(runtime, alice, resource_type, {}, P)
        assert [r["id"] for r in found] == [mine[resource_type]]
        assert search_for(runtime, alice, resource_type, {"patient": ["p-b"]}, P) == []
        assert search_for(runtime, alice, resource_type, {"_id": [theirs[resource_type]]}, P) == []
        with pytest.raises(CarewallError):
            update_resource(
                runtime, alice, fhir_resource(resource_type, "p-a", id=mine[resource_type])
            )


def test_patient_without_a_linked_record_sees_nothing(runtime: Runtime) -> None:
    ids = _seed(runtime, "p-a")
    nobody = _actor(Role.PATIENT, None)
    with pytest.raises(NotFoundError):
        get_record_for(runtime, nobody, "Patient", ids["Patient"], P)
    assert search_for(runtime, nobody, "Observation", {}, P) == []


def test_restricted_record_needs_break_glass(runtime: Runtime, clock: FrozenClock) -> None:
    ids = _seed(runtime, "p-vip")
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    doctor, desk = _actor(Role.CLINICIAN), _actor(Role.FRONT_DESK)
    with pytest.raises(BreakGlassRequiredError):
        get_record_for(runtime, doctor, "Observation", ids["Observation"], P)
    with pytest.raises(PermissionDeniedError):
        get_record_for(runtime, desk, "Patient", ids["Patient"], P)
    assert search_for(runtime, doctor, "Patient", {"_id": ["p-vip"]}, P) == []
    with pytest.raises(PermissionDeniedError):
        start_break_glass(runtime, desk, "p-vip", "emergency", "unconscious")

    grant = start_break_glass(runtime, doctor, "p-vip", "emergency", "unconscious in ED", 60)
    assert get_record_for(runtime, doctor, "Observation", ids["Observation"], Purpose.EMERGENCY)
    assert len(search_for(runtime, doctor, "Patient", {"_id": ["p-vip"]}, P)) == 1
    clock.advance(minutes=61)
    with pytest.raises(BreakGlassRequiredError):
        get_record_for(runtime, doctor, "Observation", ids["Observation"], P)

    grant = start_break_glass(runtime, doctor, "p-vip", "emergency", "again", 30)
    stop_break_glass(runtime, doctor, grant, "p-vip")
    with pytest.raises(BreakGlassRequiredError):
        get_record_for(runtime, doctor, "Observation", ids["Observation"], P)
    with runtime.db.sessions() as session:
        actions = [e.action for e in recent_entries(session, 500)]
    assert actions.count("records:emergency:started") == 2
    assert "records:emergency:stopped" in actions
    assert get_record_for(runtime, _actor(Role.PATIENT, "p-vip"), "Patient", "p-vip", P)


def test_deleting_someone_elses_deleted_record_does_not_reveal_it(runtime: Runtime) -> None:
    """Permission comes before "already deleted": a 410 would confirm the record exists."""
    theirs = _seed(runtime, "p-b")
    delete_resource(runtime, SYSTEM, "Observation", theirs["Observation"])
    alice = _actor(Role.PATIENT, "p-a")
    with pytest.raises((NotFoundError, PermissionDeniedError)):
        delete_resource(runtime, alice, "Observation", theirs["Observation"])


def test_a_restricted_patient_still_sees_their_own_record(runtime: Runtime) -> None:
    ids = _seed(runtime, "p-own")
    restrict_compartment(runtime, SYSTEM, "p-own", "vip")
    patient = _actor(Role.PATIENT, patient_id="p-own")
    found = search_for(runtime, patient, "Observation", {}, Purpose.PATIENT_REQUEST)
    assert [r["id"] for r in found] == [ids["Observation"]]
    assert get_record_for(runtime, patient, "Patient", "p-own", Purpose.PATIENT_REQUEST)["id"]
    clinician = _actor(Role.CLINICIAN)  # staff still need break-glass
    assert search_for(runtime, clinician, "Observation", {}, P) == []
    with pytest.raises(BreakGlassRequiredError):
        get_record_for(runtime, clinician, "Patient", "p-own", P)
