"""A new session id at every privilege change, and the old one stops working at once.

The attack: someone who copied the session cookie before the change (a shared
computer, a proxy log, a fixated id) keeps using it afterwards. At sign-in,
second-factor completion, enrolment, step-up (code or passkey) and password
change the id changes, and the copied one is dead.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.web.auth import SESSION_COOKIE
from tests.functional.test_passkeys_service import WEB_ORIGIN, SoftKey
from tests.support.clock import FrozenClock
from tests.support.factories import PASSWORD, Person, make_admin, make_user
from tests.support.signin import csrf, enrol_totp, login, post, signed_in, totp_code


def cookie_of(client: TestClient) -> str:
    return str(client.cookies[SESSION_COOKIE])


def works(app: FastAPI, cookie: str) -> bool:
    """Whether a copied session cookie still opens the account page in another client."""
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as thief:
        return thief.get("/account/security", follow_redirects=False).status_code == 200


def test_step_up_with_a_code_changes_the_session_id(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = signed_in(client, runtime, make_admin(runtime))
    copied = cookie_of(client)
    clock.advance(minutes=6)
    done = post(client, "/account/reauth", {"code": totp_code(admin.secret), "next": "/"})
    assert done.status_code == 200
    assert cookie_of(client) != copied
    assert not works(app, copied), "the id from before the step-up is dead"
    assert works(app, cookie_of(client))
    again = post(client, "/account/recovery-codes")
    assert "Save your recovery codes" in again.text, "the new id carries the fresh step-up"


def test_step_up_with_a_passkey_changes_the_session_id(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    key = SoftKey()
    headers = {"X-CSRF-Token": csrf(client), "Origin": WEB_ORIGIN}
    options = client.post("/webauthn/register/options", headers=headers).json()
    registered = client.post(
        "/webauthn/register/verify",
        headers=headers,
        json={"credential": key.create(options), "name": "Soft"},
    )
    assert registered.status_code == 200, registered.text
    copied = cookie_of(client)
    clock.advance(minutes=6)
    headers = {"X-CSRF-Token": csrf(client), "Origin": WEB_ORIGIN}
    options = client.post("/webauthn/stepup/options", headers=headers).json()
    verified = client.post(
        "/webauthn/stepup/verify",
        headers=headers,
        json={"credential": key.get(options), "next": "/account/security"},
    )
    assert verified.status_code == 200, verified.text
    assert cookie_of(client) != copied
    assert not works(app, copied)
    assert works(app, cookie_of(client))


def test_password_change_changes_the_session_id(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    copied = cookie_of(client)
    new = "quiet meadow orbit 5521"
    changed = post(client, "/account/password", {"current": PASSWORD, "new": new, "confirm": new})
    assert "password is changed" in changed.text
    assert cookie_of(client) != copied
    assert not works(app, copied)
    assert client.get("/account/security", follow_redirects=False).status_code == 200


def test_second_factor_and_enrolment_change_the_session_id(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = make_admin(runtime)
    assert login(client, admin.email, admin.password).headers["location"] == "/account/enroll"
    at_enrolment = cookie_of(client)
    signed_in_admin = _enrol(client, runtime, admin)
    assert cookie_of(client) != at_enrolment
    assert not works(app, at_enrolment)
    post(client, "/logout")
    clock.advance(seconds=30)
    assert login(client, admin.email, admin.password).headers["location"] == "/login/mfa"
    at_second_factor = cookie_of(client)
    post(client, "/login/mfa", {"code": totp_code(signed_in_admin.secret)})
    assert cookie_of(client) != at_second_factor
    assert not works(app, at_second_factor)
    assert works(app, cookie_of(client))


def _enrol(client: TestClient, runtime: Runtime, person: Person) -> Person:

    person.secret, person.recovery_codes = enrol_totp(client)
    return person


def test_signing_in_again_in_the_same_browser_ends_the_previous_session(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    first = cookie_of(client)
    billing = make_user(runtime, "billing@clinic.example", "billing")
    assert login(client, billing.email, billing.password).status_code == 303
    assert cookie_of(client) != first
    assert not works(app, first), "the earlier person's session ended with the new sign-in"


def test_a_failed_sign_in_leaves_the_current_session_alone(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    current = cookie_of(client)
    assert login(client, "nobody@clinic.example", "not the password").status_code == 401
    assert works(app, current)
