"""The demo practice: seeded once, logins that work, idempotent on restart, and populated."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo import Phase
from carewall.demo import seed_demo as run_seeders
from carewall.demo.identity_seed import STAFF
from carewall.identity import Role
from carewall.identity.models import User
from carewall.phishing.queries import status_counts
from carewall.records import Purpose
from carewall.records.access import search_for
from carewall.records.portal.flags import list_flags
from carewall.records.queries import is_restricted
from carewall.registry import install, seed_demo, seeders
from tests.support.signin import login


def user_count(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_demo_seed_is_idempotent_and_populates_the_practice(runtime: Runtime) -> None:
    first = seed_demo(runtime)
    count = user_count(runtime)
    second = seed_demo(runtime)
    assert count == len(first.logins)  # one account per printed login (staff and portal)
    assert user_count(runtime) == count
    assert second.ran == []
    assert second.skipped == first.ran
    assert {login.role for login in second.logins} >= {"admin", "clinician", "auditor"}
    assert any("Breitenberg" in note for note in second.notes)

    # The packaged patients, without ../shared: the clinician sees at least 20 of them.
    with runtime.db.sessions() as session:
        clinician_id = session.scalar(select(User.id).where(User.email == STAFF[1].email))
    clinician = Caller.for_user(clinician_id, Role.CLINICIAN)
    visible = search_for(runtime, clinician, "Patient", {}, Purpose.TREATMENT)
    everyone = search_for(runtime, Caller.cli("t"), "Patient", {}, Purpose.SYSTEM)
    assert len(visible) >= 20
    restricted = [str(p["id"]) for p in everyone if is_restricted(runtime, str(p["id"]))]
    assert len(restricted) == 1
    assert restricted[0] not in {str(p["id"]) for p in visible}
    officer = Caller.for_user("officer", Role.ADMIN)
    assert [flag.status for flag in list_flags(runtime, officer)] == ["open"]
    with runtime.db.sessions() as session:
        counts = status_counts(session)
    assert counts.get("new") == 2
    assert counts.get("confirmed_phish") == 1


def test_the_first_phase_alone_gives_working_logins(runtime: Runtime, client: TestClient) -> None:
    report = run_seeders(install(runtime), seeders(), Phase.FIRST)
    assert "records-synthea-more" in report.pending  # the slow part waits for the server
    assert "identity-staff" in report.ran
    admin = STAFF[0]
    response = login(client, admin.email, admin.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/enroll"
