"""Driving the real sign-in pages from tests, as a browser would (forms, cookies, CSRF).

Nothing here reaches into the session tables: the helpers post the same forms
a browser would (CSRF token, password, authenticator code), so a test that uses
them also proves the sign-in path still works. Users themselves come from
`tests.support.factories` (`make_admin`, `make_user`).
"""

from __future__ import annotations

import re

import httpx2
import pyotp
from fastapi.testclient import TestClient

from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from tests.support.factories import ADMIN_EMAIL, PASSWORD, Person, make_admin, make_user


def totp_code(secret: str) -> str:
    """The code an authenticator shows now, by Carewall's clock (tests may freeze it)."""
    return pyotp.TOTP(secret).at(utcnow())


def csrf(client: TestClient) -> str:
    """The CSRF token of this browser (any page carries it in a meta tag)."""
    page = client.get("/login").text
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page)
    assert match, "every page carries the CSRF token"
    return match.group(1)


def post(client: TestClient, path: str, data: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    """POST a form with this browser's CSRF token (redirects followed, as a browser does)."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client)}, **kwargs)  # type: ignore[arg-type]


def post_form(client: TestClient, path: str, data: dict[str, str] | None = None) -> httpx2.Response:
    """POST a form with this browser's CSRF token and stop at the answer (no redirects)."""
    response: httpx2.Response = post(client, path, data, follow_redirects=False)
    return response


def login(client: TestClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Submit the password step; returns the response without following redirects."""
    return post(client, "/login", {"email": email, "password": password}, follow_redirects=False)


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Submit the password step, which must succeed; returns where Carewall sends the browser."""
    response = login(client, email, password)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def enrol_totp(client: TestClient, name: str = "Phone") -> tuple[str, list[str]]:
    """Enrol an authenticator through the pages; returns its secret and any recovery codes."""
    page = client.get("/account/enroll")
    assert page.status_code == 200, page.text
    secret = re.search(r'id="totp-secret">([A-Z0-9 ]+)<', page.text)
    device = re.search(r'name="device_id" value="([^"]+)"', page.text)
    assert secret, "the enrolment page shows the key"
    assert device, "the form names the pending device"
    key = secret.group(1).replace(" ", "")
    done = post(
        client,
        "/account/enroll",
        {"device_id": device.group(1), "code": totp_code(key), "name": name},
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", done.text)
    return key, codes


def finish_mfa(client: TestClient, secret: str) -> None:
    """Complete the second-factor step with a fresh code."""
    response = post_form(client, "/login/mfa", {"code": totp_code(secret)})
    assert response.status_code == 303, response.text


def signed_in(client: TestClient, runtime: Runtime, person: Person) -> Person:
    """Sign `person` in fully, enrolling a TOTP device the first time."""
    del runtime  # kept so every sign-in helper reads (client, runtime, ...)
    target = password_step(client, person.email, person.password)
    if target == "/account/enroll":
        person.secret, person.recovery_codes = enrol_totp(client)
    elif target == "/login/mfa":
        finish_mfa(client, person.secret)
    return person


def sign_in_admin(client: TestClient, runtime: Runtime, email: str = ADMIN_EMAIL) -> str:
    """A new administrator signed in with a fresh authenticator; returns the TOTP secret."""
    return signed_in(client, runtime, make_admin(runtime, email)).secret


def sign_in_user(client: TestClient, runtime: Runtime, email: str, role: str) -> str:
    """A new staff member signed in with a fresh authenticator; returns the TOTP secret."""
    return signed_in(client, runtime, make_user(runtime, email, role)).secret
