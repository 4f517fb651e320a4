"""Passkey pages and the JSON endpoints behind `navigator.credentials` (static/passkeys.js).

Each ceremony is `/webauthn/<kind>/options` then `/webauthn/<kind>/verify`.
The challenge id travels in a short-lived HttpOnly cookie scoped to
`/webauthn`, so the ceremony finishes in the browser that started it and page
scripts never handle it. Every POST needs the CSRF header like any other.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from carewall.identity import ActiveSession, Stage, passkeys, queries, signin
from carewall.web.auth import (
    ALL,
    RuntimeDep,
    StepUpRedirectError,
    current_session,
    end_replaced_session,
    origin_of,
    require_stage,
    runtime_of,
    set_session_cookie,
)
from carewall.web.flash import flash
from carewall.web.routes.signin import safe_next
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)

CHALLENGE_COOKIE = "cw_webauthn"
_COOKIE_PATH = "/webauthn"
PAGE = "/account/passkeys"

# The passwordless ceremony runs before anyone is signed in (the route inventory whitelists it).
PUBLIC_ROUTES = {("POST", "/webauthn/login/options"), ("POST", "/webauthn/login/verify")}

_require_enroll_or_full = require_stage(Stage.ENROLL, Stage.FULL)


def _registering(
    request: Request, active: Annotated[ActiveSession, Depends(_require_enroll_or_full)]
) -> ActiveSession:
    """Adding a passkey: open to a first-factor (enrol) session, and to full sessions after
    step-up, exactly like adding an authenticator app."""
    if active.stage is Stage.FULL and not signin.step_up_fresh(runtime_of(request), active):
        raise StepUpRedirectError(PAGE)
    return active


_registering.carewall_roles = ALL  # type: ignore[attr-defined]
_registering.carewall_stages = frozenset({Stage.ENROLL, Stage.FULL})  # type: ignore[attr-defined]

Registering = Annotated[ActiveSession, Depends(_registering)]
AtMfaStage = Annotated[ActiveSession, Depends(require_stage(Stage.MFA))]
SignedIn = Annotated[ActiveSession, Depends(require_stage(Stage.FULL))]


class RegistrationAnswer(BaseModel):
    """What `navigator.credentials.create()` produced, and the name the user chose."""

    credential: dict[str, Any]
    name: str = Field(default="", max_length=60)


class AssertionAnswer(BaseModel):
    """What `navigator.credentials.get()` produced, and where to go afterwards."""

    credential: dict[str, Any]
    next: str = Field(default="/", max_length=500)


def _client_origin(request: Request) -> str | None:
    return request.headers.get("origin")


def _options(request: Request, ceremony: passkeys.Ceremony) -> JSONResponse:
    """Send the options and remember the challenge in the browser for five minutes."""
    response = JSONResponse(ceremony.options)
    response.set_cookie(
        CHALLENGE_COOKIE,
        ceremony.challenge_id,
        max_age=int(passkeys.CHALLENGE_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.behind_tls,
        path=_COOKIE_PATH,
    )
    return response


def _challenge_id(request: Request) -> str:
    return request.cookies.get(CHALLENGE_COOKIE, "")[:36]


def _done(request: Request, body: dict[str, Any], token: str | None = None) -> JSONResponse:
    """The verify answer: forget the spent challenge, send the new session id if there is one."""
    response = JSONResponse(body)
    response.delete_cookie(CHALLENGE_COOKIE, path=_COOKIE_PATH)
    if token:
        set_session_cookie(request, response, token)
    return response


@router.get(PAGE, response_class=HTMLResponse)
def passkeys_page(request: Request, runtime: RuntimeDep, active: Registering) -> Response:
    """Name and register a passkey or security key."""
    with runtime.db.sessions() as session:
        existing = queries.passkeys_of(session, active.user.id)
    context = {"passkeys": existing, "enrolling_first": active.stage is Stage.ENROLL}
    return render(request, "account/passkeys.html", context)


@router.post("/webauthn/register/options")
def register_options(request: Request, runtime: RuntimeDep, active: Registering) -> Response:
    """Start registering a passkey."""
    ceremony = passkeys.begin_registration(runtime, active, _client_origin(request))
    return _options(request, ceremony)


@router.post("/webauthn/register/verify")
def register_verify(
    request: Request, runtime: RuntimeDep, active: Registering, answer: RegistrationAnswer
) -> Response:
    """Store the new passkey; a first factor also completes sign-in and shows recovery codes."""
    done = passkeys.finish_registration(
        runtime,
        active,
        _challenge_id(request),
        answer.credential,
        answer.name,
        origin_of(request),
        _client_origin(request),
    )
    body: dict[str, Any] = {"redirect": "/account/security", "recovery_codes": done.recovery_codes}
    if done.recovery_codes:
        body["redirect"] = "/"
    response = _done(request, body, done.new_session_token)
    if not done.recovery_codes:
        flash(request, response, "Your passkey is ready to use.", "success")
    return response


@router.post("/webauthn/mfa/options")
def mfa_options(request: Request, runtime: RuntimeDep, active: AtMfaStage) -> Response:
    """Start using a passkey as the second sign-in step."""
    ceremony = passkeys.begin_second_factor(runtime, active, _client_origin(request))
    return _options(request, ceremony)


@router.post("/webauthn/mfa/verify")
def mfa_verify(
    request: Request, runtime: RuntimeDep, active: AtMfaStage, answer: AssertionAnswer
) -> Response:
    """Complete sign-in with the passkey."""
    result = passkeys.finish_second_factor(
        runtime,
        active,
        _challenge_id(request),
        answer.credential,
        origin_of(request),
        _client_origin(request),
    )
    return _done(request, {"redirect": safe_next(answer.next)}, result.token)


@router.post("/webauthn/stepup/options")
def stepup_options(request: Request, runtime: RuntimeDep, active: SignedIn) -> Response:
    """Start confirming it is you before a sensitive action."""
    ceremony = passkeys.begin_step_up(runtime, active, _client_origin(request))
    return _options(request, ceremony)


@router.post("/webauthn/stepup/verify")
def stepup_verify(
    request: Request, runtime: RuntimeDep, active: SignedIn, answer: AssertionAnswer
) -> Response:
    """Record the fresh second factor (under a new session id) and go back to the
    sensitive action."""
    token = passkeys.finish_step_up(
        runtime,
        active,
        _challenge_id(request),
        answer.credential,
        origin_of(request),
        _client_origin(request),
    )
    return _done(request, {"redirect": safe_next(answer.next)}, token)


@router.post("/webauthn/login/options")
def login_options(request: Request, runtime: RuntimeDep) -> Response:
    """Start a passwordless sign-in (public: nobody is signed in yet)."""
    return _options(request, passkeys.begin_login(runtime, _client_origin(request)))


@router.post("/webauthn/login/verify")
def login_verify(request: Request, runtime: RuntimeDep, answer: AssertionAnswer) -> Response:
    """Sign in with a discoverable passkey; the session is full at once (and any earlier
    session of this browser ends)."""
    previous = current_session(request)
    result = passkeys.finish_login(
        runtime,
        _challenge_id(request),
        answer.credential,
        origin_of(request),
        _client_origin(request),
    )
    end_replaced_session(request, previous)
    return _done(request, {"redirect": safe_next(answer.next)}, result.token)
