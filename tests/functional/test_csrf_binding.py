"""CSRF as an attacker tries it: extra headers, foreign tokens, tokens from before sign-in.

A signed-in browser carries its session cookie on every request; whatever
other headers a forged request adds (an `Authorization` header of any kind, a
JSON or plain-text body, `X-Requested-With`), the form still needs this
session's token. A token is bound to the session it was rendered for: one from
another person's session, or one rendered before sign-in, is refused.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit.models import AuditEntry
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records.services import create_resource
from carewall.web.csrf import COOKIE as CSRF_COOKIE
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import csrf, login, post, signed_in
from tests.support.web import NewClient

NURSE = "nurse@clinic.example"


@pytest.fixture
def admin(runtime: Runtime, client: TestClient) -> TestClient:
    """An administrator's browser, signed in a moment ago (step-up is fresh)."""
    signed_in(client, runtime, make_admin(runtime))
    return client


def plant_cookie(client: TestClient, name: str, value: str) -> None:
    """Replace a cookie the way an attacker on a sibling host would (same name and scope)."""
    client.cookies.set(name, value, domain="testserver.local", path="/")


def _status_of(runtime: Runtime, user_id: str) -> str:
    from carewall.identity.models import User

    with runtime.db.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.status


def _csrf_refusals(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        rows = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("web:csrf%")))
        return len(list(rows))


FORGED_HEADERS = [
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": ""},
    {"Authorization": "Basic YWRtaW46YWRtaW4="},
    {"Authorization": "bearer"},
    {"X-Requested-With": "XMLHttpRequest"},
    {"Content-Type": "application/json"},
    {"Content-Type": "text/plain"},
    {"X-CSRF-Token": ""},
]


@pytest.mark.parametrize("headers", FORGED_HEADERS, ids=lambda h: repr(h))
def test_a_forged_admin_form_is_refused_whatever_headers_it_adds(
    admin: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    nurse_id = make_user(runtime, NURSE, "clinician").id
    before = _csrf_refusals(runtime)
    body = "" if headers.get("Content-Type") else None
    response = admin.post(
        f"/admin/users/{nurse_id}/disable",
        headers=headers,
        content=body,
        follow_redirects=False,
    )
    assert response.status_code == 403, response.text
    assert _status_of(runtime, nurse_id) == "active"
    assert _csrf_refusals(runtime) == before + 1, "the refusal is audited"


@pytest.mark.parametrize("authorization", ["", "Basic eDp5", "Bearer "])
def test_a_session_cannot_write_fhir_behind_an_empty_or_foreign_authorization_header(
    runtime: Runtime, authorization: str, new_client: NewClient
) -> None:
    clinician = make_user(runtime, "clin@clinic.example", "clinician")
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "p1"))
    browser = new_client()
    signed_in(browser, runtime, clinician)
    response = browser.post(
        "/fhir/Observation",
        json=fhir_resource("Observation", "p1"),
        headers={"Authorization": authorization, "Content-Type": "application/fhir+json"},
    )
    assert response.status_code in {401, 403}, response.text
    search = browser.get(
        "/fhir/Observation", params={"patient": "p1"}, headers={"X-CSRF-Token": csrf(browser)}
    )
    assert search.json()["total"] == 0, "nothing was written"


def test_logout_cannot_be_forged_with_an_authorization_header(admin: TestClient) -> None:
    forged = admin.post("/logout", headers={"Authorization": "Basic eDp5"}, follow_redirects=False)
    assert forged.status_code == 403
    assert admin.get("/account/security", follow_redirects=False).status_code == 200


def test_a_token_from_another_session_is_refused(admin: TestClient, runtime: Runtime) -> None:
    """Cookie tossing: the attacker plants their own CSRF cookie and token in the victim's
    browser. The token is bound to the attacker's session, so it fails in the victim's."""
    nurse_id = make_user(runtime, NURSE, "clinician").id
    attacker = make_user(runtime, "mallory@clinic.example", "clinician")
    with TestClient(admin.app) as evil:
        signed_in(evil, runtime, attacker)
        token, secret = csrf(evil), evil.cookies[CSRF_COOKIE]
    plant_cookie(admin, CSRF_COOKIE, secret)
    response = admin.post(
        f"/admin/users/{nurse_id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert _status_of(runtime, nurse_id) == "active"


def test_an_anonymous_token_planted_in_the_browser_is_refused(
    admin: TestClient, runtime: Runtime
) -> None:
    nurse_id = make_user(runtime, NURSE, "clinician").id
    with TestClient(admin.app) as evil:
        token, secret = csrf(evil), evil.cookies[CSRF_COOKIE]
    plant_cookie(admin, CSRF_COOKIE, secret)
    response = admin.post(
        f"/admin/users/{nurse_id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert _status_of(runtime, nurse_id) == "active"


def test_a_token_from_before_sign_in_is_refused_after_it(
    runtime: Runtime, new_client: NewClient
) -> None:
    admin = make_admin(runtime)
    nurse_id = make_user(runtime, NURSE, "clinician").id
    browser = new_client()
    before = csrf(browser)
    signed_in(browser, runtime, admin)
    stale = browser.post(
        f"/admin/users/{nurse_id}/disable", data={"csrf_token": before}, follow_redirects=False
    )
    assert stale.status_code == 403
    assert _status_of(runtime, nurse_id) == "active"
    fresh = post(browser, f"/admin/users/{nurse_id}/disable", follow_redirects=False)
    assert fresh.status_code == 303
    assert _status_of(runtime, nurse_id) == "disabled"


def test_a_token_from_a_signed_out_session_sends_the_browser_to_sign_in(
    runtime: Runtime, new_client: NewClient
) -> None:
    """After sign-out (or automatic logoff) an old page's form leads to sign-in, unaudited
    as an attack, and changes nothing."""
    admin = make_admin(runtime)
    nurse_id = make_user(runtime, NURSE, "clinician").id
    browser = new_client()
    signed_in(browser, runtime, admin)
    token = csrf(browser)
    cookie = browser.cookies["cw_session"]
    assert post(browser, "/logout", follow_redirects=False).status_code == 303
    plant_cookie(browser, "cw_session", cookie)  # the old page, the old cookie
    response = browser.post(
        f"/admin/users/{nurse_id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in {303, 403}
    assert _status_of(runtime, nurse_id) == "active"


def test_the_sign_in_form_still_works_with_its_own_token(
    runtime: Runtime, new_client: NewClient
) -> None:
    admin = make_admin(runtime)
    browser = new_client()
    assert login(browser, admin.email, admin.password).status_code == 303
