"""No sign-in or step-up sends the browser to another site, whatever `next` says.

The attack: a link to `/login?next=/\\evil.example` (or a crafted passkey answer)
whose target looks like a path to a naive check. Chromium reads a backslash as a
slash and drops tabs and newlines, so `/\\evil.example` and `/\\t/evil.example`
both land on http://evil.example/. Every target that is not a plain same-origin
path falls back to `/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.registry import create_app
from tests.functional.test_passkeys_service import WEB_ORIGIN, SoftKey
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin
from tests.support.signin import csrf, post, signed_in, totp_code

HOSTILE = [
    "/\\evil.example",
    "/\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "//evil.example",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "https://evil.example/",
    "evil.example",
    "/%09/evil.example\\",
]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client


def test_the_sign_in_form_never_carries_a_foreign_target(client: TestClient) -> None:
    for target in HOSTILE:
        page = client.get("/login", params={"next": target})
        if page.status_code == 400:  # a NUL in the query is refused before any page
            continue
        assert page.status_code == 200
        carried = re.search(r'name="next" value="([^"]*)"', page.text)
        assert carried, "the form carries its target"
        assert carried.group(1) == "/", target


def test_a_passkey_step_up_never_redirects_off_site(
    client: TestClient, runtime: Runtime, clock: FrozenClock
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
    for target in HOSTILE:
        clock.advance(minutes=6)
        headers = {"X-CSRF-Token": csrf(client), "Origin": WEB_ORIGIN}
        options = client.post("/webauthn/stepup/options", headers=headers).json()
        verified = client.post(
            "/webauthn/stepup/verify",
            headers=headers,
            json={"credential": key.get(options), "next": target},
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["redirect"] == "/", target


def test_a_code_step_up_never_redirects_off_site(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = signed_in(client, runtime, make_admin(runtime))
    for target in HOSTILE:
        clock.advance(minutes=6)
        done = post(
            client,
            "/account/reauth",
            {"code": totp_code(admin.secret), "next": target},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/", target


def test_ordinary_targets_still_work(client: TestClient) -> None:
    for target in ("/patients", "/admin/users?page=2", "/fhir/Patient/a-b.c", "/x#y"):
        page = client.get("/login", params={"next": target})
        carried = re.search(r'name="next" value="([^"]*)"', page.text)
        assert carried
        assert carried.group(1).replace("&amp;", "&") == target
