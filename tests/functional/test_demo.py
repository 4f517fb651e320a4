"""The demo practice: seeded once, logins that work, idempotent on restart."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.runtime import Runtime
from carewall.demo.identity_seed import STAFF
from carewall.identity.models import User
from carewall.registry import seed_demo
from tests.support.signin import login


def user_count(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_demo_seed_is_idempotent_and_prints_every_staff_login(runtime: Runtime) -> None:
    first = seed_demo(runtime)
    count = user_count(runtime)
    second = seed_demo(runtime)
    assert count == len(first.logins)  # one account per printed login (staff and portal)
    assert user_count(runtime) == count
    assert second.ran == []
    assert second.skipped == first.ran
    assert {login.role for login in second.logins} >= {"admin", "clinician", "auditor"}


def test_demo_logins_work(runtime: Runtime, client: TestClient) -> None:
    seed_demo(runtime)
    admin = STAFF[0]
    response = login(client, admin.email, admin.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/enroll"
