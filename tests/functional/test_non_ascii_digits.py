"""Digits from other scripts are not digits: a code or a number in them is refused cleanly.

The attack: `str.isdigit()` is true for "²²²²²²" (and for Arabic-Indic or
full-width digits), so such a "code" passed the TOTP format check and then
`hmac.compare_digest` raised on the non-ASCII string: a 500, and the attempt was
neither throttled nor audited, so it cost an attacker nothing. Every such
attempt is now an ordinary wrong code: refused, counted and audited.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.audit.models import AuditEntry
from carewall.core.runtime import Runtime
from carewall.identity.tags import IdentityTag
from carewall.registry import create_app
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin
from tests.support.signin import login, post, signed_in

FOREIGN_DIGITS = [  # superscript two, Arabic-Indic, full-width, mathematical bold
    "\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2",
    "\u0661\u0662\u0663\u0664\u0665\u0666",
    "\uff11\uff12\uff13\uff14\uff15\uff16",
    "\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4",
]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client


def _count(runtime: Runtime, tag: str) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.action == tag)) or 0)


def test_a_code_in_foreign_digits_is_a_counted_failure_at_sign_in(
    client: TestClient, runtime: Runtime
) -> None:
    admin = signed_in(client, runtime, make_admin(runtime))
    post(client, "/logout")
    assert login(client, admin.email, admin.password).headers["location"] == "/login/mfa"
    for code in FOREIGN_DIGITS:
        answer = post(client, "/login/mfa", {"code": code})
        assert answer.status_code == 401, answer.text
    assert _count(runtime, IdentityTag.MFA_FAILURE) == len(FOREIGN_DIGITS)


def test_a_code_in_foreign_digits_is_a_counted_failure_at_step_up(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    for code in FOREIGN_DIGITS:
        answer = post(client, "/account/reauth", {"code": code, "next": "/"})
        assert answer.status_code in (400, 401), answer.text
    assert _count(runtime, IdentityTag.MFA_FAILURE) == len(FOREIGN_DIGITS)


def test_a_code_in_foreign_digits_does_not_enrol_a_device(
    client: TestClient, runtime: Runtime
) -> None:
    import re

    admin = make_admin(runtime)
    assert login(client, admin.email, admin.password).headers["location"] == "/account/enroll"
    page = client.get("/account/enroll")
    device = re.search(r'name="device_id" value="([^"]+)"', page.text)
    assert device
    for code in FOREIGN_DIGITS:
        answer = post(
            client, "/account/enroll", {"device_id": device.group(1), "code": code, "name": "x"}
        )
        assert 400 <= answer.status_code < 500, answer.text
        assert "Save your recovery codes" not in answer.text


def test_a_csrf_token_or_flash_cookie_in_foreign_characters_is_refused_not_a_crash(
    client: TestClient, runtime: Runtime
) -> None:
    """The same `compare_digest` trap in the CSRF check and the flash cookie."""
    signed_in(client, runtime, make_admin(runtime))
    form = client.post("/logout", data={"csrf_token": "\u00b2" * 64})
    assert form.status_code == 403, form.text
    header = client.post("/logout", headers={"X-CSRF-Token": b"\xb2" * 64})
    assert header.status_code == 403, header.text
    jar = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    foreign = "\u00b2" * 32
    cookie = f"{jar}; cw_flash=e30.{foreign}".encode("latin-1")
    page = client.get("/account/security", headers={"Cookie": cookie})  # type: ignore[dict-item]
    assert page.status_code == 200, page.text
