"""The passkey JSON endpoints refuse the wrong callers, and ceremonies are single-use."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.audit.models import AuditEntry
from carewall.core.runtime import Runtime
from carewall.identity.tags import IdentityTag
from carewall.web.routes.passkeys import PUBLIC_ROUTES
from tests.support.factories import PASSWORD, make_admin

EMAIL = "officer@clinic.example"
JSON = {"Accept": "application/json"}
SESSION_BOUND = [
    "/webauthn/register/options",
    "/webauthn/register/verify",
    "/webauthn/mfa/options",
    "/webauthn/mfa/verify",
    "/webauthn/stepup/options",
    "/webauthn/stepup/verify",
]
ALL_ENDPOINTS = [*SESSION_BOUND, "/webauthn/login/options", "/webauthn/login/verify"]
ANSWER = {"credential": {"id": "AAAA", "rawId": "AAAA"}, "name": "x", "next": "/"}


@pytest.fixture
def client(client: TestClient, runtime: Runtime) -> TestClient:
    """A browser on an app with one administrator, who has no factor yet."""
    make_admin(runtime, EMAIL)
    return client


def _csrf(client: TestClient) -> dict[str, str]:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/login").text)
    assert match
    return {**JSON, "X-CSRF-Token": match.group(1)}


def _password_step(client: TestClient) -> dict[str, str]:
    headers = _csrf(client)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": headers["X-CSRF-Token"]}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.headers["location"] == "/account/enroll"  # an admin must enrol first
    return _csrf(client)  # the next page's token: one from before sign-in no longer works


def _audited(runtime: Runtime, tag: IdentityTag) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.action == tag)) or 0)


def test_only_the_passwordless_endpoints_are_public() -> None:
    assert {
        ("POST", "/webauthn/login/options"),
        ("POST", "/webauthn/login/verify"),
    } == PUBLIC_ROUTES


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_missing_csrf_token_is_refused(client: TestClient, path: str) -> None:
    _csrf(client)  # the browser has its CSRF cookie, but the header is missing
    response = client.post(path, json=ANSWER, headers=JSON)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("path", SESSION_BOUND)
def test_anonymous_calls_are_refused(client: TestClient, path: str) -> None:
    response = client.post(path, json=ANSWER, headers=_csrf(client))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"
    assert "cw_webauthn" not in response.cookies


@pytest.mark.parametrize(
    "path", ["/webauthn/mfa/options", "/webauthn/mfa/verify", "/webauthn/stepup/options"]
)
def test_enrolment_stage_cannot_use_sign_in_ceremonies(client: TestClient, path: str) -> None:
    headers = _password_step(client)
    response = client.post(path, json=ANSWER, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"


def test_passkeys_page_needs_a_session(client: TestClient) -> None:
    response = client.get("/account/passkeys", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_enrolment_stage_may_register_a_passkey(client: TestClient) -> None:
    headers = _password_step(client)
    assert "Register" in client.get("/account/passkeys").text

    response = client.post("/webauthn/register/options", headers=headers)

    assert response.status_code == 200
    options = response.json()
    assert options["rp"] == {"id": "localhost", "name": "Carewall Practice"}
    assert options["user"]["name"] == EMAIL
    assert options["excludeCredentials"] == []
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    cookie = response.headers["set-cookie"]
    assert "cw_webauthn=" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/webauthn" in cookie


def test_passwordless_options_require_user_verification(client: TestClient) -> None:
    response = client.post("/webauthn/login/options", headers=_csrf(client))
    assert response.status_code == 200
    options = response.json()
    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []


def test_wrong_host_is_told_where_passkeys_work(client: TestClient) -> None:
    headers = {**_csrf(client), "Origin": "http://127.0.0.1:8000"}
    response = client.post("/webauthn/login/options", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "passkeys_unavailable"
    assert "http://localhost:8000" in response.json()["error"]["message"]


def test_verify_without_a_ceremony_is_refused(client: TestClient) -> None:
    response = client.post("/webauthn/login/verify", json=ANSWER, headers=_csrf(client))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "passkey_ceremony_invalid"


def test_bad_assertion_is_audited_and_the_challenge_is_spent(
    client: TestClient, runtime: Runtime
) -> None:
    headers = _csrf(client)
    assert client.post("/webauthn/login/options", headers=headers).status_code == 200

    first = client.post("/webauthn/login/verify", json=ANSWER, headers=headers)
    assert client.cookies.get("cw_webauthn")  # the browser still sends the old challenge id
    again = client.post("/webauthn/login/verify", json=ANSWER, headers=headers)

    assert first.status_code == 401
    assert first.json()["error"]["code"] == "authentication_failed"
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "passkey_ceremony_invalid"
    assert _audited(runtime, IdentityTag.LOGIN_FAILURE) == 1
