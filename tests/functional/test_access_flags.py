"""The security officer's screen for flagged accesses: list, detail (audited), decision."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from carewall.audit import entries_with_action
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, notices, queries
from carewall.records import Purpose, RecordsTag
from carewall.records.access import get_record_for, search_for
from carewall.records.access.break_glass import start_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.portal.accounting import flag_access
from carewall.records.portal.flags import FlagConflictError, list_flags, resolve_flag
from carewall.records.services import create_resource
from carewall.records.tags import PortalTag
from carewall.registry import create_app
from tests.support.audit import patient_entries
from tests.support.factories import Person, fhir_resource, make_admin, make_user
from tests.support.signin import post, signed_in

SYSTEM = Caller.cli("test")
COMMENT = "I was abroad that week; nobody should have opened my diabetes notes"
NOTE = "Dr Nurse checked your insulin dose before your repeat prescription."


@dataclass
class Scene:
    runtime: Runtime
    officer: Person
    patient: Person
    nurse: Caller
    me: Caller


def _user_actor(runtime: Runtime, email: str, role: Role, patient_id: str | None = None) -> Caller:
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, email)
    return Caller.for_user(uid, role=role, patient_id=patient_id, session_id=uid)


@pytest.fixture
def scene(runtime: Runtime) -> Scene:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "pa"))
    create_resource(runtime, SYSTEM, fhir_resource("Observation", "pa"))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "pb"))
    officer = make_admin(runtime)
    patient = make_user(runtime, "pat@example.org", "patient", patient_id="pa")
    make_user(runtime, "nurse@clinic.example", "clinician")
    nurse = _user_actor(runtime, "nurse@clinic.example", Role.CLINICIAN)
    me = _user_actor(runtime, "pat@example.org", Role.PATIENT, "pa")
    return Scene(runtime, officer, patient, nurse, me)


@pytest.fixture
def officer_client(scene: Scene) -> Iterator[TestClient]:
    with TestClient(create_app(scene.runtime)) as client:
        signed_in(client, scene.runtime, scene.officer)
        yield client


def _read(scene: Scene, patient_id: str = "pa") -> int:
    get_record_for(scene.runtime, scene.nurse, "Patient", patient_id, Purpose.TREATMENT)
    with scene.runtime.db.sessions() as session:
        entries = patient_entries(session, scene.runtime, patient_id, [RecordsTag.RESOURCE_READ])
    return entries[0].seq


def _flag(scene: Scene, seq: int, comment: str = COMMENT) -> int:
    flag_access(scene.runtime, scene.me, seq, comment)
    with scene.runtime.db.sessions() as session:
        return entries_with_action(session, [PortalTag.ACCESS_FLAGGED], limit=1)[0].seq


def _title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    assert match
    return match.group(1)


def test_officer_reads_the_flag_and_resolves_it_and_the_patient_sees_it(
    scene: Scene, officer_client: TestClient
) -> None:
    first = _read(scene)
    search_for(scene.runtime, scene.nurse, "Observation", {"patient": ["pa"]}, Purpose.TREATMENT)
    flag = _flag(scene, first)

    listing = officer_client.get("/admin/access-flags")
    assert listing.status_code == 200
    assert f'href="/admin/access-flags/{flag}"' in listing.text
    assert "Open (1)" in listing.text
    assert COMMENT not in listing.text, "the comment only on the audited detail page"

    detail = officer_client.get(f"/admin/access-flags/{flag}")
    assert detail.status_code == 200
    page = detail.text
    assert COMMENT in page
    assert "nurse@clinic.example" in page
    assert "clinician" in page
    assert "demographics" in page
    assert "Your care" in page
    assert "pat@example.org" in page, "the officer can reach the patient"
    assert f"(audit entry #{first})" in page
    assert "Zebedee, Quill, born 1970-01-02" in page, "the patient named (identity lookup)"
    assert "8867-4" not in page, "no clinical record values"
    assert _title(page).startswith("Access flag ·"), "a generic title: no patient in history"
    assert 'name="csrf_token"' in page
    assert 'for="note"' in page
    assert 'id="note"' in page
    with scene.runtime.db.sessions() as session:
        viewed = patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_VIEWED])
    assert len(viewed) == 1
    assert viewed[0].details["flag_seq"] == flag
    assert viewed[0].details["comment_opened"] is True
    assert viewed[0].actor.startswith("user:")

    done = post(
        officer_client,
        f"/admin/access-flags/{flag}",
        {"outcome": "legitimate", "note": NOTE},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/access-flags"
    assert "Open (0)" in officer_client.get("/admin/access-flags").text
    resolved = officer_client.get("/admin/access-flags?status=resolved").text
    assert f"Flag #{flag}" in resolved
    assert "Legitimate — explained to the patient" in resolved

    with scene.runtime.db.sessions() as session:
        [decision] = patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_RESOLVED])
        me = queries.user_id_for_email(session, "pat@example.org")
        assert me is not None
        told = [n.message for n in notices.unread(session, me)]
    assert decision.details["flag_seq"] == flag
    assert decision.details["decision"] == "legitimate"
    assert decision.details["note"] is True
    assert decision.details["revised"] is False
    assert any("looked into the access" in m for m in told)
    _assert_sealed(scene.runtime, [NOTE, COMMENT])

    with TestClient(create_app(scene.runtime)) as client:
        signed_in(client, scene.runtime, scene.patient)
        portal = client.get("/portal/access").text
    staff = portal.split('id="staff-h"')[1].split("</section>")[0]
    assert "it was legitimate" in staff
    assert NOTE in staff
    reports = portal.split('id="flags-h"')[1].split("</section>")[0]
    assert 'data-status="resolved"' in reports
    assert NOTE in reports


def _assert_sealed(runtime: Runtime, secrets: list[str]) -> None:
    """Neither the comment nor the note is readable in any stored column."""
    with runtime.db.engine.connect() as connection:
        for table in ("audit_entries", "access_flag_resolutions", "notices"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                stored = " ".join(
                    bytes(v).decode("utf-8", "replace")
                    if isinstance(v, bytes | memoryview)
                    else str(v)
                    for v in row
                )
                for secret in secrets:
                    assert secret not in stored, f"plain text in {table}"


def test_open_flags_block_a_second_report_and_a_decision_can_be_revised(
    scene: Scene, officer_client: TestClient
) -> None:
    seq = _read(scene)
    flag = _flag(scene, seq, "")
    with TestClient(create_app(scene.runtime)) as client:
        signed_in(client, scene.runtime, scene.patient)
        page = client.get("/portal/access").text
        assert "the security officer is looking into it" in page
        assert f'action="/portal/access/{seq}/flag"' not in page, "no second report while open"
        again = post(client, f"/portal/access/{seq}/flag", {"comment": ""})
        assert "already reported this access" in again.text
    resolve_flag(scene.runtime, _officer(scene), flag, "inappropriate", "")
    resolve_flag(scene.runtime, _officer(scene), flag, "legitimate", "Checked again.")
    with scene.runtime.db.sessions() as session:
        decisions = patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_RESOLVED])
    assert [d.details["revised"] for d in decisions] == [True, False]
    [shown] = list_flags(scene.runtime, _officer(scene), "resolved")
    assert shown.resolution is not None
    assert shown.resolution.outcome.code == "legitimate"
    second = _flag(scene, seq, "still worried")  # after a decision, the patient may ask again
    assert second != flag
    statuses = {f.seq: f.status for f in list_flags(scene.runtime, _officer(scene))}
    assert statuses == {flag: "resolved", second: "open"}
    listing = officer_client.get("/admin/access-flags?status=").text
    assert listing.index(f"Flag #{second}") < listing.index(f"Flag #{flag}"), "newest first"


def _officer(scene: Scene) -> Caller:
    return _user_actor(scene.runtime, "admin@clinic.example", Role.ADMIN)


def test_break_glass_and_search_accesses_show_as_such(
    scene: Scene, officer_client: TestClient
) -> None:
    restrict_compartment(scene.runtime, SYSTEM, "pa", "vip")
    start_break_glass(scene.runtime, scene.nurse, "pa", "emergency", "collapsed", 30)
    seq = _read(scene)
    flag = _flag(scene, seq)
    page = officer_client.get(f"/admin/access-flags/{flag}").text
    assert "Yes: emergency access" in page
    assert "Everything in the row the patient flagged" in page  # break-glass start + read

    create_resource(
        scene.runtime, SYSTEM, fhir_resource("Patient", "pc", name=[{"family": "Quill"}])
    )
    create_resource(
        scene.runtime, SYSTEM, fhir_resource("Patient", "pd", name=[{"family": "Quill"}])
    )
    make_user(scene.runtime, "pc@example.org", "patient", patient_id="pc")
    searched = search_for(
        scene.runtime, scene.nurse, "Patient", {"family": ["Quill"]}, Purpose.TREATMENT
    )
    assert len(searched) == 2
    with scene.runtime.db.sessions() as session:
        search_seq = patient_entries(session, scene.runtime, "pc", [RecordsTag.SEARCH_PERFORMED])[
            0
        ].seq
    pc = _user_actor(scene.runtime, "pc@example.org", Role.PATIENT, "pc")
    flag_access(scene.runtime, pc, search_seq, "")
    newest = list_flags(scene.runtime, _officer(scene))[0]
    page = officer_client.get(f"/admin/access-flags/{newest.seq}").text
    assert "search" in page
    assert "a search that returned 2 patients" in page
    assert "No comment." in page


def test_bad_decisions_and_unknown_flags(scene: Scene, officer_client: TestClient) -> None:
    seq = _read(scene)
    flag = _flag(scene, seq)
    bad = post(officer_client, f"/admin/access-flags/{flag}", {"outcome": "shrug"})
    assert bad.status_code == 200
    assert "Choose an outcome from the list." in bad.text
    too_long = post(
        officer_client, f"/admin/access-flags/{flag}", {"outcome": "legitimate", "note": "x" * 1001}
    )
    assert "Keep the note under 1000 characters." in too_long.text
    assert list_flags(scene.runtime, _officer(scene), "open")
    assert officer_client.get("/admin/access-flags/999999").status_code == 404
    assert officer_client.get(f"/admin/access-flags/{seq}").status_code == 404, "not a flag"
    missing = post(officer_client, "/admin/access-flags/999999", {"outcome": "legitimate"})
    assert missing.status_code == 404


@pytest.mark.parametrize("role", ["auditor", "clinician", "patient"])
def test_only_the_security_officer_works_flags(scene: Scene, role: str) -> None:
    flag = _flag(scene, _read(scene))
    person = make_user(
        scene.runtime, f"{role}2@c.example", role, patient_id="pa" if role == "patient" else None
    )
    with TestClient(create_app(scene.runtime)) as client:
        signed_in(client, scene.runtime, person)
        assert client.get("/admin/access-flags").status_code == 403
        assert client.get(f"/admin/access-flags/{flag}").status_code == 403
        refused = post(client, f"/admin/access-flags/{flag}", {"outcome": "legitimate"})
        assert refused.status_code == 403
        assert "Access flags" not in client.get("/").text
    with scene.runtime.db.sessions() as session:
        assert not patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_VIEWED])
        assert not patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_RESOLVED])


def test_a_comment_in_any_script_is_stored_or_refused_cleanly(scene: Scene) -> None:
    seq = _read(scene)
    with TestClient(create_app(scene.runtime)) as client:
        signed_in(client, scene.runtime, scene.patient)
        refused = post(client, f"/portal/access/{seq}/flag", {"comment": "é" * 250})
        assert "too long to store" in refused.text
        accepted = post(client, f"/portal/access/{seq}/flag", {"comment": "Zugriff unklar: ÄÖÜ"})
        assert "security officer has been alerted" in accepted.text


def test_two_officers_deciding_at_once_leave_one_consistent_decision(scene: Scene) -> None:
    flag = _flag(scene, _read(scene))
    officer = _officer(scene)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def decide(choice: str) -> None:
        barrier.wait()
        try:
            resolve_flag(scene.runtime, officer, flag, choice, "")
            outcomes.append(choice)
        except FlagConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(c,)) for c in ("legitimate", "inappropriate")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 2
    with scene.runtime.db.sessions() as session:
        decisions = patient_entries(session, scene.runtime, "pa", [PortalTag.FLAG_RESOLVED])
    assert len(decisions) == len([o for o in outcomes if o != "conflict"])
    [shown] = list_flags(scene.runtime, officer, "resolved")
    assert shown.resolution is not None
    assert shown.resolution.outcome.code == decisions[0].details["decision"], "latest wins"
