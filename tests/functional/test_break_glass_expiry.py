"""Break-glass grants that run out: closed once, audited as stopped with reason and end time."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from carewall.audit import verify
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role, queries
from carewall.records import BreakGlassRequiredError, Purpose, RecordsTag
from carewall.records import queries as record_queries
from carewall.records.access import get_record_for
from carewall.records.access.break_glass import (
    close_expired_grants,
    start_break_glass,
    stop_break_glass,
)
from carewall.records.access.restriction import restrict_compartment
from carewall.records.models import BreakGlassGrant
from carewall.records.portal.accounting import access_events
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.audit import patient_entries
from tests.support.clock import FrozenClock
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import post, signed_in

SYSTEM = Caller.cli("test")


def _restricted(runtime: Runtime, patient_id: str) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", patient_id))
    restrict_compartment(runtime, SYSTEM, patient_id, "vip")


def _clinician(runtime: Runtime, email: str = "doc@clinic.example") -> Caller:
    make_user(runtime, email, "clinician")
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, email)
    return Caller.for_user(uid, role=Role.CLINICIAN, session_id=uid)


def _stopped(runtime: Runtime, patient_id: str) -> list[dict[str, object]]:
    with runtime.db.sessions() as session:
        entries = patient_entries(session, runtime, patient_id, [RecordsTag.EMERGENCY_STOPPED])
    return [{"actor": e.actor, "ts": e.ts, **e.details} for e in entries]


def _grant(runtime: Runtime, grant_id: str) -> BreakGlassGrant:
    with runtime.db.sessions() as session:
        grant = session.get(BreakGlassGrant, grant_id)
        assert grant is not None
        return grant


def test_an_expired_grant_is_closed_and_audited_exactly_once(
    runtime: Runtime, clock: FrozenClock
) -> None:
    _restricted(runtime, "p-vip")
    doctor = _clinician(runtime)
    grant_id = start_break_glass(runtime, doctor, "p-vip", "emergency", "unconscious", 30)
    expires = _grant(runtime, grant_id).expires_at
    clock.advance(minutes=29)
    assert close_expired_grants(runtime) == 0, "a live grant is left alone"
    clock.advance(minutes=2)
    assert close_expired_grants(runtime) == 1
    assert close_expired_grants(runtime) == 0, "idempotent"
    assert _grant(runtime, grant_id).ended_at == expires, "ended when its time was up"
    [entry] = _stopped(runtime, "p-vip")
    assert entry["actor"] == doctor.ref, "the holder's emergency access ended"
    assert entry["reason"] == "expired"
    assert entry["closed_by"] == "system"
    assert entry["grant"] == grant_id
    assert entry["code"] == "110138"
    assert datetime.fromisoformat(str(entry["ended_at"])) == expires
    assert verify(runtime.db).ok


def test_stopping_by_hand_and_by_expiry_never_both_audit(
    runtime: Runtime, clock: FrozenClock
) -> None:
    _restricted(runtime, "p-vip")
    doctor = _clinician(runtime)
    stopped = start_break_glass(runtime, doctor, "p-vip", "emergency", "first", 30)
    stop_break_glass(runtime, doctor, stopped, "p-vip")
    lapsed = start_break_glass(runtime, doctor, "p-vip", "emergency", "second", 30)
    clock.advance(minutes=31)
    with pytest.raises(NotFoundError):  # too late to stop: its time is up
        stop_break_glass(runtime, doctor, lapsed, "p-vip")
    with pytest.raises(NotFoundError):  # already stopped
        stop_break_glass(runtime, doctor, stopped, "p-vip")
    assert close_expired_grants(runtime) == 1, "only the grant nobody stopped"
    reasons = sorted(str(e["reason"]) for e in _stopped(runtime, "p-vip"))
    assert reasons == ["expired", "stopped"]


def test_stop_refuses_another_users_or_another_patients_grant(runtime: Runtime) -> None:
    _restricted(runtime, "p-vip")
    _restricted(runtime, "p-other")
    doctor, colleague = _clinician(runtime), _clinician(runtime, "other@clinic.example")
    grant_id = start_break_glass(runtime, doctor, "p-vip", "emergency", "x", 30)
    with pytest.raises(NotFoundError):
        stop_break_glass(runtime, colleague, grant_id, "p-vip")
    with pytest.raises(NotFoundError):
        stop_break_glass(runtime, doctor, grant_id, "p-other")
    assert _grant(runtime, grant_id).ended_at is None
    assert _stopped(runtime, "p-other") == []


def test_concurrent_sweeps_audit_each_grant_once(runtime: Runtime, clock: FrozenClock) -> None:
    patients = [f"p-{n}" for n in range(4)]
    doctor = _clinician(runtime)
    for patient in patients:
        _restricted(runtime, patient)
        start_break_glass(runtime, doctor, patient, "emergency", "x", 10)
    clock.advance(minutes=11)
    totals: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def sweep() -> None:
        start.wait()
        try:
            totals.append(close_expired_grants(runtime))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(totals) == len(patients)
    for patient in patients:
        assert len(_stopped(runtime, patient)) == 1
    assert verify(runtime.db).ok


def test_the_server_closes_grants_at_start_and_periodically(
    settings: Settings, clock: FrozenClock
) -> None:
    runtime = open_runtime(settings.model_copy(update={"break_glass_sweep_seconds": 1}))
    try:
        _restricted(runtime, "p-vip")
        doctor = _clinician(runtime)
        start_break_glass(runtime, doctor, "p-vip", "emergency", "while down", 15)
        clock.advance(minutes=16)
        with TestClient(create_app(runtime)):
            assert len(_stopped(runtime, "p-vip")) == 1, "caught up when the server started"
            start_break_glass(runtime, doctor, "p-vip", "emergency", "while up", 15)
            clock.advance(minutes=16)
            deadline = time.monotonic() + 10
            while len(_stopped(runtime, "p-vip")) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(_stopped(runtime, "p-vip")) == 2, "the periodic check closed it"
    finally:
        runtime.close()


def test_accounting_shows_the_real_end_and_why(runtime: Runtime, clock: FrozenClock) -> None:
    _restricted(runtime, "pa")
    doctor = _clinician(runtime)
    grant_id = start_break_glass(runtime, doctor, "pa", "emergency", "unconscious", 30)
    get_record_for(runtime, doctor, "Patient", "pa", Purpose.EMERGENCY)
    expires = _grant(runtime, grant_id).expires_at
    clock.advance(minutes=45)
    with pytest.raises(BreakGlassRequiredError):  # refused after the end: not emergency access
        get_record_for(runtime, doctor, "Patient", "pa", Purpose.TREATMENT)
    assert record_queries.emergency_access(runtime, doctor, "pa") is None, "no banner"
    clock.advance(hours=3)  # the server was down: the end is recorded late
    assert close_expired_grants(runtime) == 1

    events = access_events(runtime, "pa")
    ended = next(e for e in events if e.action == RecordsTag.EMERGENCY_STOPPED)
    assert ended.ts == expires, "shown at the expiry, not when it was recorded"
    assert ended.end_reason == "expired"
    assert "time limit" in ended.action_words
    assert ended.note.startswith(f"Ended by its time limit at {expires:%Y-%m-%d %H:%M:%S} UTC")
    assert "recorded" in ended.note
    denied = next(e for e in events if e.action == RecordsTag.ACCESS_DENIED)
    assert not denied.emergency, "after the grant ran out, nothing counts as emergency access"
    read = next(e for e in events if e.action == RecordsTag.RESOURCE_READ)
    assert read.emergency

    officer = make_admin(runtime)
    patient = make_user(runtime, "pa@example.org", "patient", patient_id="pa")
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, patient)
        page = client.get("/portal/access").text
        staff = page.split('id="staff-h"')[1].split("</section>")[0]
        assert "emergency access ended (time limit reached)" in staff
        assert "Emergency access" in staff
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, officer)
        report = post(client, "/admin/access-report", {"patient_id": "pa"}).text
        assert f"Ended by its time limit at {expires:%Y-%m-%d %H:%M:%S} UTC" in report
        csv = post(client, "/admin/access-report/download.csv", {"patient_id": "pa"}).text
        assert "Ended by its time limit" in csv
