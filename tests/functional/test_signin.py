"""Sign-in as a user experiences it: pages, cookies, second factors, throttling, sessions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit.models import AuditEntry
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, accounts
from carewall.identity.errors import GENERIC_LOGIN_FAILURE
from carewall.identity.models import User
from carewall.registry import create_app
from tests.support.clock import FrozenClock
from tests.support.factories import CLI, PASSWORD, Person, make_admin, make_user
from tests.support.signin import csrf, login, post, signed_in, totp_code


def actions(runtime: Runtime) -> list[str]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_protected_page_redirects_anonymous_to_login(client: TestClient) -> None:
    response = client.get("/account/security", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/security"


def test_api_without_credentials_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_password_gets_the_generic_message(client: TestClient, runtime: Runtime) -> None:
    admin = make_admin(runtime)
    response = login(client, admin.email, "not the password at all")
    assert response.status_code == 401
    assert GENERIC_LOGIN_FAILURE in response.text
    unknown = login(client, "nobody@clinic.example", "not the password at all")
    assert unknown.status_code == 401
    assert GENERIC_LOGIN_FAILURE in unknown.text
    assert actions(runtime).count("identity:login:failure") == 2


def test_staff_without_a_factor_must_enrol_before_anything_else(
    client: TestClient, runtime: Runtime
) -> None:
    admin = make_admin(runtime)
    assert login(client, admin.email, admin.password).headers["location"] == "/account/enroll"
    blocked = client.get("/account/security", follow_redirects=False)
    assert blocked.headers["location"] == "/account/enroll"
    assert client.get("/api/v1/me").status_code == 401


def test_full_flow_totp_replay_and_recovery_code(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = signed_in(client, runtime, make_admin(runtime))
    assert admin.recovery_codes is not None
    assert len(admin.recovery_codes) == 10
    assert client.get("/account/security").status_code == 200
    post(client, "/logout")

    clock.advance(seconds=30)
    assert login(client, admin.email, admin.password).headers["location"] == "/login/mfa"
    code = totp_code(admin.secret)
    ok = post(client, "/login/mfa", {"code": code}, follow_redirects=False)
    assert ok.status_code == 303
    post(client, "/logout")

    # The same code again, in the same 30-second step: refused.
    login(client, admin.email, admin.password)
    replay = post(client, "/login/mfa", {"code": code})
    assert replay.status_code == 401

    # A recovery code works once.
    recovery = admin.recovery_codes[0]
    assert post(client, "/login/mfa", {"code": recovery}, follow_redirects=False).status_code == 303
    assert "9" in client.get("/account/security").text.split('id="recovery-left">')[1][:3]
    post(client, "/logout")
    login(client, admin.email, admin.password)
    assert post(client, "/login/mfa", {"code": recovery}).status_code == 401
    assert "identity:recovery:used" in actions(runtime)


def test_eleventh_password_is_refused_even_when_right_then_recovers(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = make_admin(runtime)
    for _ in range(10):
        assert login(client, admin.email, "wrong password number x").status_code == 401
    throttled = login(client, admin.email, admin.password)
    assert throttled.status_code == 401
    assert GENERIC_LOGIN_FAILURE in throttled.text  # same words as a wrong password
    assert "identity:login:throttled" in actions(runtime)

    clock.advance(minutes=5, seconds=1)
    assert login(client, admin.email, admin.password).status_code == 303


def test_throttled_api_caller_gets_429_with_retry_after(runtime: Runtime) -> None:
    from carewall.identity import signin
    from carewall.identity.errors import ThrottledError

    admin = make_admin(runtime)
    for _ in range(10):
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal
            signin.sign_in_with_password(runtime, admin.email, "wrong wrong wrong", CLI)
    with pytest.raises(ThrottledError) as caught:
        signin.sign_in_with_password(runtime, admin.email, admin.password, CLI)
    assert caught.value.status == 429
    assert 1 <= caught.value.retry_after <= 300


def test_many_accounts_failing_from_one_ip_throttles_the_ip(
    client: TestClient, runtime: Runtime
) -> None:
    admin = make_admin(runtime)
    for n in range(5):
        login(client, f"victim{n}@clinic.example", "Summer2024!")
    # Even the right password from this address is refused now.
    assert login(client, admin.email, admin.password).status_code == 401
    assert "identity:ip:throttled" in actions(runtime)


def test_session_idle_and_absolute_expiry(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=14)
    assert client.get("/account/security").status_code == 200  # activity resets idle time
    clock.advance(minutes=14)
    assert client.get("/account/security").status_code == 200
    clock.advance(minutes=15, seconds=1)
    gone = client.get("/account/security", follow_redirects=False)
    assert gone.headers["location"].startswith("/login")


def test_absolute_timeout_ends_an_active_session(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    for _ in range(12 * 5):  # active every 12 minutes for 12 hours
        clock.advance(minutes=12)
        response = client.get("/account/security", follow_redirects=False)
        if response.status_code != 200:
            break
    assert response.headers["location"].startswith("/login")


def test_disabled_users_open_session_stops_at_once(runtime: Runtime) -> None:
    admin = make_admin(runtime)
    clinician = make_user(runtime, "clin@clinic.example", "clinician")
    with TestClient(create_app(runtime)) as browser:
        signed_in(browser, runtime, clinician)
        assert browser.get("/account/security").status_code == 200
        with runtime.db.sessions() as session:
            user_id = session.scalar(select(User.id).where(User.email == clinician.email))
            admin_id = session.scalar(select(User.id).where(User.email == admin.email))
        assert user_id
        assert admin_id
        accounts.disable_user(runtime, Caller.for_user(admin_id, Role.ADMIN), user_id)
        after = browser.get("/account/security", follow_redirects=False)
        assert after.status_code == 303
        assert login(browser, clinician.email, PASSWORD).status_code == 401


def test_password_change_needs_current_password_and_ends_other_sessions(
    runtime: Runtime, clock: FrozenClock
) -> None:
    admin = make_admin(runtime)
    with TestClient(create_app(runtime)) as one, TestClient(create_app(runtime)) as two:
        signed_in(one, runtime, admin)
        clock.advance(seconds=30)
        signed_in(two, runtime, admin)
        wrong = post(
            one,
            "/account/password",
            {
                "current": "not it at all",
                "new": "quiet meadow orbit 5521",
                "confirm": "quiet meadow orbit 5521",
            },
        )
        assert "not correct" in wrong.text
        changed = post(
            one,
            "/account/password",
            {
                "current": PASSWORD,
                "new": "quiet meadow orbit 5521",
                "confirm": "quiet meadow orbit 5521",
            },
        )
        assert "password is changed" in changed.text
        assert one.get("/account/security").status_code == 200
        assert two.get("/account/security", follow_redirects=False).status_code == 303


def test_step_up_is_required_after_five_minutes(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    response = post(client, "/account/recovery-codes", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/reauth")
    clock.advance(seconds=30)
    done = post(
        client,
        "/account/reauth",
        {"code": totp_code(admin.secret), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    again = post(client, "/account/recovery-codes")
    assert again.status_code == 200
    assert "Save your recovery codes" in again.text


def test_last_factor_cannot_be_removed_while_mfa_is_required(
    client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    page = client.get("/account/security").text
    device = page.split('action="/account/factors/totp/')[1].split("/delete")[0]
    response = post(client, f"/account/factors/totp/{device}/delete")
    assert "last second factor" in response.text


def test_api_token_acts_with_its_owner_role_and_scopes(
    client: TestClient, runtime: Runtime
) -> None:
    from carewall.identity import apitokens

    person = make_user(runtime, "billing@clinic.example", "billing")
    with runtime.db.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.email == person.email))
    assert user_id
    secret, token = apitokens.create_token(runtime, Caller.cli(), user_id, "script", ["api:read"])
    headers = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "billing"
    assert me.json()["scopes"] == ["api:read"]
    apitokens.revoke_token(runtime, Caller.cli(), user_id, token.id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert "identity:token:rejected" in actions(runtime)


def test_patient_without_factor_signs_in_with_password_when_policy_allows(
    client: TestClient, runtime: Runtime
) -> None:
    patient = make_user(runtime, "pat@example.org", "patient", patient_id="Patient/123")
    response = login(client, patient.email, patient.password)
    assert response.headers["location"] == "/"
    assert client.get("/api/v1/me").json()["role"] == "patient"


def test_invite_link_works_once(client: TestClient, runtime: Runtime) -> None:
    link = accounts.invite_user(runtime, Caller.cli(), "new@clinic.example", "front_desk")
    path = link.url.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200
    weak = post(client, f"/{path}", {"password": "password123", "confirm": "password123"})
    assert weak.status_code == 400
    assert "common" in weak.text or "12 characters" in weak.text
    done = post(
        client, f"/{path}", {"password": PASSWORD, "confirm": PASSWORD}, follow_redirects=False
    )
    assert done.headers["location"] == "/account/enroll"
    assert client.get(f"/{path}").status_code == 400


def test_password_feedback_is_live_and_needs_csrf(client: TestClient) -> None:

    token = csrf(client)
    weak = client.post(
        "/api/v1/password/feedback", json={"password": "iloveyou"}, headers={"X-CSRF-Token": token}
    )
    assert weak.json()["acceptable"] is False
    strong = client.post(
        "/api/v1/password/feedback", json={"password": PASSWORD}, headers={"X-CSRF-Token": token}
    )
    assert strong.json()["acceptable"] is True
    assert client.post("/api/v1/password/feedback", json={"password": "x"}).status_code == 403


def test_sign_in_events_show_on_the_account_page(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = make_admin(runtime)
    login(client, admin.email, "wrong password once more")
    person = Person(admin.email, admin.password)
    signed_in(client, runtime, person)
    page = client.get("/account/security").text
    assert "Wrong password" in page
    assert "Signed in" in page
