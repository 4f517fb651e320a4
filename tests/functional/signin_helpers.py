"""Driving the real sign-in pages from tests, as a browser would (forms, cookies, CSRF)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from fastapi.testclient import TestClient

from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.identity import accounts

PASSWORD = "violet harbour lantern 1987"  # passes the policy, not on the breached list
CLI = Origin(ip="", user_agent="cli")


@dataclass
class Person:
    """A test user: credentials and, once enrolled, the TOTP secret."""

    email: str
    password: str
    secret: str = ""
    recovery_codes: list[str] | None = None


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
    """POST a form with this browser's CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client)}, **kwargs)  # type: ignore[arg-type]


def login(client: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    """Submit the password step; returns the response without following redirects."""
    return post(client, "/login", {"email": email, "password": password}, follow_redirects=False)


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


def make_admin(runtime: Runtime, email: str = "admin@clinic.example") -> Person:
    """The first administrator, created as `carewall init` does."""
    accounts.create_admin(runtime, email, PASSWORD, CLI)
    return Person(email, PASSWORD)


def make_user(runtime: Runtime, email: str, role: str, patient_id: str | None = None) -> Person:
    """An invited user who accepted the invitation (no factor yet)."""
    link = accounts.invite_user(runtime, Caller.cli(), email, role, patient_id=patient_id)
    token = link.url.rsplit("/", 1)[1]
    accounts.accept_invite(runtime, token, PASSWORD, CLI)
    return Person(email, PASSWORD)


def signed_in(client: TestClient, runtime: Runtime, person: Person) -> Person:
    """Sign `person` in fully, enrolling a TOTP device the first time."""
    response = login(client, person.email, person.password)
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    if target == "/account/enroll":
        person.secret, person.recovery_codes = enrol_totp(client)
    elif target == "/login/mfa":
        code = totp_code(person.secret)
        done = post(client, "/login/mfa", {"code": code}, follow_redirects=False)
        assert done.status_code == 303, done.text
    return person
