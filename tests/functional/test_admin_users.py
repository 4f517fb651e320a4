"""The administrator's pages: users, invitations, disabling, MFA reset, MFA policy, step-up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from carewall.audit import entries_about
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role, policy, queries
from carewall.identity.queries import UserOverview
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.clock import clock_moved
from tests.support.factories import ADMIN_EMAIL, PASSWORD, fhir_resource, make_user
from tests.support.mail import Inbox, smtp_inbox
from tests.support.signin import (
    csrf,
    password_step,
    post_form,
    sign_in_admin,
    sign_in_user,
    totp_code,
)
from tests.support.web import NewClient

NURSE = "nurse@example.org"


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    """The administrator's browser (sign in with the `admin_secret` fixture)."""
    return client


@pytest.fixture
def admin_secret(admin: TestClient, runtime: Runtime) -> str:
    return sign_in_admin(admin, runtime)


def _row(page: str, address: str) -> str:
    """The users-table row of one account."""
    match = re.search(rf'<tr data-email="{re.escape(address)}">.*?</tr>', page, re.S)
    assert match, f"{address} is listed"
    return match.group(0)


def _overview(runtime: Runtime, address: str) -> UserOverview:
    with runtime.db.sessions() as session:
        return next(u for u in queries.users_overview(session) if u.email == address)


def _admin_ref(runtime: Runtime) -> str:
    return f"user:{_overview(runtime, ADMIN_EMAIL).id}"


def test_admin_sees_every_user_with_mfa_status(
    admin: TestClient, admin_secret: str, runtime: Runtime
) -> None:
    make_user(runtime, NURSE, "clinician")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    own = _row(page.text, ADMIN_EMAIL)
    assert "Authenticator apps: 1" in own
    assert "10 recovery code(s) left" in own
    assert "No MFA" not in own
    nurse = _row(page.text, NURSE)
    assert "Active" in nurse
    assert "No MFA" in nurse
    assert "never" in nurse
    assert 'id="staff-mfa" min="0" max="1" low="0.8" high="0.99" optimum="1" value="0.500"' in (
        page.text
    )
    assert "1 active account(s) without MFA" in page.text
    assert "Patients with a second factor: <span" in page.text  # no patients yet
    assert '<a href="/admin/users" aria-current="page">Users</a>' in page.text


def test_other_roles_and_visitors_are_refused(runtime: Runtime, new_client: NewClient) -> None:
    nurse = new_client()
    for path in ("/admin/users", "/admin/policy"):
        response = nurse.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    sign_in_user(nurse, runtime, NURSE, "clinician")
    assert nurse.get("/admin/users").status_code == 403
    assert nurse.get("/admin/policy").status_code == 403
    invite = post_form(nurse, "/admin/users", {"email": "x@example.org", "role": "admin"})
    assert invite.status_code == 403
    home = nurse.get("/").text
    assert 'href="/admin/users"' not in home
    assert 'href="/account/security">Account<' in home
    assert _overview(runtime, NURSE).role is Role.CLINICIAN
    with runtime.db.sessions() as session:
        assert queries.user_id_for_email(session, "x@example.org") is None


def test_invite_link_works_once(
    admin: TestClient, admin_secret: str, new_client: NewClient
) -> None:
    response = post_form(
        admin,
        "/admin/users",
        {"email": "New.Nurse@Example.org", "name": "New Nurse", "role": "clinician"},
    )
    assert response.status_code == 200
    assert 'id="invite-not-emailed"' in response.text  # no SMTP configured here
    match = re.search(r'id="invite-link"[^>]*value="([^"]+)"', response.text)
    assert match
    path = urlsplit(match.group(1)).path
    invitee = new_client()
    assert invitee.get(path).status_code == 200
    accepted = invitee.post(
        path,
        data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": csrf(invitee)},
        follow_redirects=False,
    )
    assert accepted.headers["location"] == "/account/enroll"
    assert invitee.get(path).status_code == 400
    assert "Active" in _row(admin.get("/admin/users").text, "new.nurse@example.org")


def test_patient_invite_needs_a_patient_id(
    admin: TestClient, admin_secret: str, runtime: Runtime
) -> None:
    response = post_form(
        admin, "/admin/users", {"email": "pat@example.org", "name": "Pat", "role": "patient"}
    )
    assert response.status_code == 422
    assert "linked to a patient record" in response.text
    assert 'value="pat@example.org"' in response.text  # the form keeps what was typed
    missing = {"email": "pat@example.org", "role": "patient", "patient_id": "P-0001"}
    refused = post_form(admin, "/admin/users", missing)
    assert refused.status_code == 422
    assert "No patient record has that id" in refused.text, "any text is no longer a record"
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "P-0001"))
    response = post_form(
        admin,
        "/admin/users",
        {"email": "pat@example.org", "role": "patient", "patient_id": "P-0001"},
    )
    assert response.status_code == 200
    assert "Invited" in _row(admin.get("/admin/users").text, "pat@example.org")


def test_disable_ends_the_users_session_at_once(
    admin: TestClient, admin_secret: str, runtime: Runtime, new_client: NewClient
) -> None:
    nurse = new_client()
    sign_in_user(nurse, runtime, NURSE, "clinician")
    assert nurse.get("/account/security").status_code == 200
    user_id = _overview(runtime, NURSE).id
    response = post_form(admin, f"/admin/users/{user_id}/disable")
    assert response.headers["location"] == "/admin/users"
    after = nurse.get("/account/security", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    row = _row(admin.get("/admin/users").text, NURSE)
    assert "Disabled" in row
    assert "Enable and unlock nurse@example.org" in row
    own_id = _overview(runtime, ADMIN_EMAIL).id
    refused = post_form(admin, f"/admin/users/{own_id}/disable")
    assert "cannot disable your own account" in admin.get(refused.headers["location"]).text


def test_reset_mfa_sends_the_user_back_to_enrolment(
    admin: TestClient, admin_secret: str, runtime: Runtime, new_client: NewClient
) -> None:
    nurse = new_client()
    sign_in_user(nurse, runtime, NURSE, "clinician")
    assert _overview(runtime, NURSE).has_mfa
    user_id = _overview(runtime, NURSE).id
    assert post_form(admin, f"/admin/users/{user_id}/reset-mfa").status_code == 303
    assert nurse.get("/account/security", follow_redirects=False).status_code == 303
    assert password_step(nurse, NURSE) == "/account/enroll"
    after = _overview(runtime, NURSE)
    assert (after.totp, after.passkeys, after.recovery_left) == (0, 0, 0)
    with runtime.db.sessions() as session:
        [entry] = entries_about(session, f"user:{user_id}", ["identity:mfa:reset"])
    assert entry.actor == _admin_ref(runtime)


def test_new_invite_link_replaces_the_old_one(
    admin: TestClient, admin_secret: str, new_client: NewClient
) -> None:
    first = post_form(admin, "/admin/users", {"email": "late@example.org", "role": "billing"})
    old = re.search(r'id="invite-link"[^>]*value="([^"]+)"', first.text)
    assert old
    row = _row(admin.get("/admin/users").text, "late@example.org")
    action = re.search(r'action="(/admin/users/[^"]+/reinvite)"', row)
    assert action
    second = post_form(admin, action.group(1))
    new = re.search(r'id="invite-link"[^>]*value="([^"]+)"', second.text)
    assert new
    assert new.group(1) != old.group(1)
    invitee = new_client()
    assert invitee.get(urlsplit(old.group(1)).path).status_code == 400
    assert invitee.get(urlsplit(new.group(1)).path).status_code == 200


def test_policy_change_is_audited_and_warns(
    admin: TestClient, admin_secret: str, runtime: Runtime
) -> None:
    page = admin.get("/admin/policy").text
    assert 'id="required-clinician" name="required" value="clinician" checked' in page
    assert 'id="policy-warning"' not in page
    keep = ["admin", "front_desk", "billing", "auditor"]  # clinician unticked, patient unchanged
    response = admin.post(
        "/admin/policy",
        data={"required": keep, "csrf_token": csrf(admin)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin/policy"
    page = admin.get("/admin/policy").text
    assert "Warning: Clinician staff can now sign in with a password alone" in page
    assert 'id="policy-warning"' in page
    with runtime.db.sessions() as session:
        assert policy.policies(session, runtime.settings)[Role.CLINICIAN] is False
        [entry] = entries_about(session, "role:clinician", ["identity:policy:changed"])
        assert entries_about(session, "role:admin", ["identity:policy:changed"]) == []
    assert entry.actor == _admin_ref(runtime)
    assert entry.details == {"required": False}


def test_changes_need_a_recent_second_factor(
    admin: TestClient, admin_secret: str, runtime: Runtime
) -> None:
    user_id = make_user(runtime, NURSE, "clinician").id
    with clock_moved(minutes=6):
        assert admin.get("/admin/users").status_code == 200  # reading needs no step-up
        refused = post_form(admin, f"/admin/users/{user_id}/disable")
        assert refused.headers["location"].startswith("/account/reauth?next=/account/resume/")
        assert post_form(admin, "/admin/policy").headers["location"].startswith("/account/reauth")
        assert _overview(runtime, NURSE).status == "active"
        resume = refused.headers["location"].split("next=", 1)[1]
        confirmed = post_form(
            admin, "/account/reauth", {"code": totp_code(admin_secret), "next": resume}
        )
        assert confirmed.headers["location"] == resume
        page = admin.get(resume).text  # the kept form, submitted again by the page's script
        assert f'action="/admin/users/{user_id}/disable"' in page
        assert _overview(runtime, NURSE).status == "active", "not before it is submitted"
        done = post_form(admin, f"/admin/users/{user_id}/disable")
        assert done.headers["location"] == "/admin/users"
        old_link = admin.get(f"/admin/users/{user_id}/disable", follow_redirects=False)
        assert old_link.headers["location"] == "/admin/users", "an old link leads to the list"
    assert _overview(runtime, NURSE).status == "disabled"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as server:
        yield server


def test_invite_is_emailed_through_smtp(settings: Settings, inbox: Inbox) -> None:
    mailing = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_starttls": False}
    )
    runtime = open_runtime(mailing)
    try:
        with TestClient(create_app(runtime)) as client:
            sign_in_admin(client, runtime)
            response = post_form(
                client, "/admin/users", {"email": "mailed@example.org", "role": "front_desk"}
            )
    finally:
        runtime.close()
    assert 'id="invite-emailed"' in response.text
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', response.text)
    assert link
    [message] = inbox.messages
    assert message["To"] == "mailed@example.org"
    assert message["Subject"] == "Your Carewall invitation"
    assert link.group(1) in inbox.body()
