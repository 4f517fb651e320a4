"""Step-up keeps the change it protects, as an administrator or clinician lives it.

The repro: the last second factor is older than five minutes; the person saves
the MFA policy (or invites someone, disables an account, opens a restricted
record...), is asked to confirm with a code, confirms, and lands back on the
page. The change must then complete (the browser re-submits the pending form
the server kept, with a fresh CSRF token), never be dropped silently.

The pending form is bound to the session, expires, works once, and never
holds a password or a code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.audit.models import AuditEntry
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, accounts, passwords, policy, queries
from carewall.identity.models import User
from carewall.records import queries as record_queries
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.clock import FrozenClock
from tests.support.factories import PASSWORD, Person, fhir_resource, make_admin, make_user
from tests.support.signin import csrf, enrol_totp, post, signed_in, totp_code

NURSE = "nurse@clinic.example"
_FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*data-resume[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def resume_form(page: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The pending form a landing page offers to finish, as (action, fields)."""
    match = _FORM.search(page)
    if match is None:
        return None
    fields = [(html.unescape(n), html.unescape(v)) for n, v in _HIDDEN.findall(match.group(2))]
    return html.unescape(match.group(1)), fields


def through_step_up(
    client: TestClient, refused: httpx2.Response, person: Person, clock: FrozenClock
) -> httpx2.Response:
    """Confirm with a code as the page asks, then finish whatever the landing page offers
    (what the page's script does by itself; a person without scripts presses Continue)."""
    assert refused.status_code == 303, refused.text
    location = refused.headers["location"]
    assert location.startswith("/account/reauth"), location
    next_path = parse_qs(urlsplit(location).query)["next"][0]
    clock.advance(seconds=30)  # a fresh TOTP step: codes are never accepted twice
    confirmed = post(
        client,
        "/account/reauth",
        {"code": totp_code(person.secret), "next": next_path},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    landing = client.get(confirmed.headers["location"])
    offered = resume_form(landing.text)
    if offered is None:
        return landing
    action, fields = offered
    response: httpx2.Response = client.post(action, data=_multi(fields), follow_redirects=False)
    if response.status_code == 303:
        response = client.get(response.headers["location"])
    return response


def _multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def form_post(client: TestClient, path: str, data: dict[str, str | list[str]]) -> httpx2.Response:
    response: httpx2.Response = client.post(
        path, data={**data, "csrf_token": csrf(client)}, follow_redirects=False
    )
    return response


def _user(runtime: Runtime, email: str) -> User | None:
    with runtime.db.sessions() as session:
        return session.scalar(select(User).where(User.email == email))


def _audited(runtime: Runtime, action: str) -> int:
    with runtime.db.sessions() as session:
        query = select(func.count()).where(AuditEntry.action == action)
        return int(session.scalar(query) or 0)


@dataclass
class Case:
    """One step-up-protected action: who does it, the form, and how to tell it happened."""

    role: str
    path: Callable[[Runtime], str]
    form: dict[str, str | list[str]]
    done: Callable[[Runtime, str], bool]


def _nurse_id(runtime: Runtime) -> str:
    with runtime.db.sessions() as session:
        found = queries.user_id_for_email(session, NURSE)
    assert found is not None
    return found


def _nurse_status(runtime: Runtime) -> str:
    user = _user(runtime, NURSE)
    assert user is not None
    return user.status


def _invited_nurse(runtime: Runtime) -> str:
    return accounts.invite_user(runtime, Caller.cli(), NURSE, "clinician").user_id


CASES = {
    "mfa-policy": Case(
        "admin",
        lambda rt: "/admin/policy",
        {"required": ["admin", "clinician", "front_desk", "billing", "auditor", "patient"]},
        lambda rt, page: _patients_need_mfa(rt) and "MFA policy saved" in page,
    ),
    "invite": Case(
        "admin",
        lambda rt: "/admin/users",
        {"email": NURSE, "role": "clinician", "name": "Nora Nurse"},
        lambda rt, page: _user(rt, NURSE) is not None and "/invite/" in page,
    ),
    "disable": Case(
        "admin",
        lambda rt: f"/admin/users/{_activated_nurse(rt)}/disable",
        {},
        lambda rt, page: _nurse_status(rt) == "disabled",
    ),
    "enable": Case(
        "admin",
        lambda rt: f"/admin/users/{_disabled_nurse(rt)}/enable",
        {},
        lambda rt, page: _nurse_status(rt) == "active",
    ),
    "reset-mfa": Case(
        "admin",
        lambda rt: f"/admin/users/{_activated_nurse(rt)}/reset-mfa",
        {},
        lambda rt, page: _audited(rt, "identity:mfa:reset") == 1,
    ),
    "reinvite": Case(
        "admin",
        lambda rt: f"/admin/users/{_invited_nurse(rt)}/reinvite",
        {},
        lambda rt, page: "/invite/" in page and _audited(rt, "identity:user:invited") == 2,
    ),
    "token": Case(
        "admin",
        lambda rt: "/account/tokens",
        {"name": "Lab feed", "days": "30", "scopes": ["fhir:read"]},
        lambda rt, page: "Lab feed" in page and _audited(rt, "identity:token:created") == 1,
    ),
    "recovery-codes": Case(
        "admin",
        lambda rt: "/account/recovery-codes",
        {},
        lambda rt, page: "Save your recovery codes" in page,
    ),
    "restrict": Case(
        "clinician",
        lambda rt: f"/patients/{_patient(rt)}/restrict",
        {"reason": "vip", "confirm": "yes"},
        lambda rt, page: record_queries.is_restricted(rt, "p1"),
    ),
    "break-glass": Case(
        "clinician",
        lambda rt: f"/patients/{_restricted_patient(rt)}/break-glass",
        {"reason": "other", "details": "Seen in clinic, consent form lost"},
        lambda rt, page: _audited(rt, "records:emergency:started") == 1 and "Zebedee" in page,
    ),
}


def _patients_need_mfa(runtime: Runtime) -> bool:
    with runtime.db.sessions() as session:
        return policy.mfa_required(session, runtime.settings, Role.PATIENT)


def _activated_nurse(runtime: Runtime) -> str:
    make_user(runtime, NURSE, "clinician")
    return _nurse_id(runtime)


def _disabled_nurse(runtime: Runtime) -> str:
    nurse_id = _activated_nurse(runtime)
    accounts.disable_user(runtime, Caller.cli(), nurse_id)
    return nurse_id


def _patient(runtime: Runtime) -> str:
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "p1"))
    return "p1"


def _restricted_patient(runtime: Runtime) -> str:
    patient_id = _patient(runtime)
    restrict_compartment(runtime, Caller.cli("test"), patient_id, "vip")
    return patient_id


def _person(client: TestClient, runtime: Runtime, role: str) -> Person:
    if role == "admin":
        return signed_in(client, runtime, make_admin(runtime))
    return signed_in(client, runtime, make_user(runtime, "doc@clinic.example", role))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_protected_change_completes_after_the_step_up(
    client: TestClient, runtime: Runtime, clock: FrozenClock, name: str
) -> None:
    case = CASES[name]
    person = _person(client, runtime, case.role)
    path = case.path(runtime)
    clock.advance(minutes=6)  # the last second factor is older than the step-up window
    refused = form_post(client, path, case.form)
    assert not case.done(runtime, ""), "nothing happens before the confirmation"
    landed = through_step_up(client, refused, person, clock)
    assert landed.status_code < 500, landed.text
    assert case.done(runtime, landed.text), f"{name}: the change was dropped"


def test_a_password_change_is_never_kept_and_the_page_says_so(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    person = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    new = "quiet meadow orbit 5521"
    refused = form_post(
        client, "/account/password", {"current": PASSWORD, "new": new, "confirm": new}
    )
    assert _pending_rows(runtime) == 0, "no pending form holds a password"
    asked = client.get(refused.headers["location"])  # the confirmation page says so up front
    assert "nothing was changed" in asked.text.lower()
    assert "change your password again" in asked.text.lower()
    landed = through_step_up(client, refused, person, clock)
    assert resume_form(landed.text) is None
    assert "Change password" in landed.text, "back on the account page, at the form"
    user = _user(runtime, person.email)
    assert user is not None
    assert user.password_hash is not None
    assert passwords.verify_password(user.password_hash, PASSWORD).ok, "unchanged"


def _pending_rows(runtime: Runtime) -> int:
    from carewall.identity.models import PendingStepUp

    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PendingStepUp)) or 0)


def _defer_invite(client: TestClient, extra: dict[str, str] | None = None) -> str:
    """POST an invitation with a stale step-up; returns the pending form's landing path."""
    data: dict[str, str | list[str]] = {"email": NURSE, "role": "clinician", **(extra or {})}
    refused = form_post(client, "/admin/users", data)
    assert refused.status_code == 303
    next_path = parse_qs(urlsplit(refused.headers["location"]).query)["next"][0]
    assert next_path.startswith("/account/resume/")
    return next_path


def _confirm(client: TestClient, person: Person, clock: FrozenClock) -> None:
    clock.advance(seconds=30)
    confirmed = post(
        client, "/account/reauth", {"code": totp_code(person.secret)}, follow_redirects=False
    )
    assert confirmed.status_code == 303


def test_the_pending_form_never_holds_codes_passwords_or_extra_fields(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    person = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    injected = {"password": "hunter2 hunter2", "code": "123456", "next": "//evil.example/"}
    resume = _defer_invite(client, injected)
    from carewall.identity.models import PendingStepUp

    with runtime.db.sessions() as session:
        sealed = b"".join(session.scalars(select(PendingStepUp.fields_sealed)))
    assert NURSE.encode() not in sealed, "the pending form is encrypted at rest"
    _confirm(client, person, clock)
    offered = resume_form(client.get(resume).text)
    assert offered is not None
    action, fields = offered
    assert action == "/admin/users"
    names = {name for name, _ in fields}
    assert names <= {"email", "role", "name", "patient_id", "csrf_token"}
    assert "hunter2 hunter2" not in str(fields)


def test_the_pending_form_is_bound_to_its_session(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    person = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    resume = _defer_invite(client)
    with TestClient(app) as other:  # the same administrator, another browser, fresh factor
        clock.advance(seconds=30)
        signed_in(other, runtime, person)
        foreign = other.get(resume)
        assert resume_form(foreign.text) is None
        assert _user(runtime, NURSE) is None
    _confirm(client, person, clock)
    assert resume_form(client.get(resume).text) is not None, "its own session still finds it"


def test_the_pending_form_works_once(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    person = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    resume = _defer_invite(client)
    _confirm(client, person, clock)
    assert resume_form(client.get(resume).text) is not None
    again = client.get(resume)
    assert resume_form(again.text) is None
    assert "already" in again.text.lower()


def test_the_pending_form_expires(client: TestClient, runtime: Runtime, clock: FrozenClock) -> None:
    person = signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    resume = _defer_invite(client)
    clock.advance(minutes=11)
    _confirm(client, person, clock)
    late = client.get(resume)
    assert resume_form(late.text) is None
    assert "nothing was changed" in late.text.lower()
    assert _pending_rows(runtime) == 0


def test_signing_out_drops_pending_forms(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    clock.advance(minutes=6)
    _defer_invite(client)
    assert _pending_rows(runtime) == 1
    post(client, "/logout")
    assert _pending_rows(runtime) == 0


def test_removing_a_factor_completes_after_the_step_up(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:

    person = signed_in(client, runtime, make_admin(runtime))
    enrol_totp(client, name="Backup phone")  # a second device, so one may go
    page = client.get("/account/security").text
    backup = re.search(
        r'action="/account/factors/totp/([^/"]+)/delete"[^<]*<input[^>]*>\s*'
        r'<button[^>]*aria-label="Remove authenticator Backup phone"',
        page,
    )
    assert backup, "the backup device is listed with its remove button"
    clock.advance(minutes=6)
    refused = form_post(client, f"/account/factors/totp/{backup.group(1)}/delete", {})
    landed = through_step_up(client, refused, person, clock)
    assert "Removed “Backup phone”" in landed.text
    assert _audited(runtime, "identity:factor:removed") == 1


def test_every_step_up_form_declares_what_survives_the_step_up(runtime: Runtime) -> None:
    """The class, not the instances: a new step-up-protected form must say how it resumes."""
    app = create_app(runtime)
    missing = []
    for route in app.routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None or "POST" not in getattr(route, "methods", set()):
            continue
        for dependency in dependant.dependencies:
            call = dependency.call
            if getattr(call, "carewall_step_up", False) and not getattr(
                call, "carewall_resume", None
            ):
                missing.append(route.path)  # type: ignore[attr-defined]
    assert not missing, f"step-up forms that would drop their change: {missing}"
