"""Sign-in pages: password, second factor, first-factor enrolment, invitations, sign-out."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import urlsplit

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.identity import ActiveSession, Stage, accounts, enrolment, factors, signin, totp
from carewall.identity.accounts import PasswordRejectedError
from carewall.identity.errors import AuthenticationError, FactorError, InviteError, ThrottledError
from carewall.web.admission import SignInBusyError, SignInGate
from carewall.web.auth import (
    ALL,
    SESSION_COOKIE,
    RuntimeDep,
    StepUpRedirectError,
    clear_session_cookie,
    current_session,
    end_replaced_session,
    origin_of,
    require_stage,
    runtime_of,
    set_session_cookie,
)
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """Only same-site paths may be redirect targets (no open redirects)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", expired: int = 0) -> Response:
    """The sign-in form (already signed-in users go on, except after automatic logoff:
    the page never counts as activity, so it cannot keep an idle session alive)."""
    active = current_session(request, touch=False)
    if active is not None and active.stage is Stage.FULL and not expired:
        return _redirect(safe_next(next))
    notice = "You were signed out after a period of inactivity." if expired else ""
    return render(request, "signin/login.html", {"next": safe_next(next), "notice": notice})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, runtime: RuntimeDep, email: FormStr, password: FormStr, next: FormStr = "/"
) -> Response:
    """Check the password; continue to the second factor or enrolment.

    Async on purpose: the attempt waits for a sign-in slot (`web.admission`) in
    the event loop, holding no worker thread, and is shed with 503 when too many
    are waiting. The work itself runs in the sign-in pool. A sign-in that succeeds
    ends the session this browser had before (`end_replaced_session`).
    """
    gate: SignInGate = request.app.state.signin_gate
    previous = None
    if request.cookies.get(SESSION_COOKIE):  # a flood without cookies costs no query here
        previous = await run_in_threadpool(current_session, request)
    attempt = partial(signin.sign_in_with_password, runtime, email, password, origin_of(request))
    try:
        result = await gate.run(attempt)
    except (AuthenticationError, ThrottledError) as exc:
        return await _login_again(request, next, email, exc.message, 401)
    except SignInBusyError as exc:
        response = await _login_again(request, next, email, exc.message, 503)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    await run_in_threadpool(end_replaced_session, request, previous)
    targets = {Stage.MFA: "/login/mfa", Stage.ENROLL: "/account/enroll"}
    response = _redirect(targets.get(result.stage, safe_next(next)))
    set_session_cookie(request, response, result.token)
    return response


async def _login_again(
    request: Request, next: str, email: str, message: str, status: int
) -> Response:
    """The sign-in form again with `message` (rendered in a worker thread: it may read the
    session of the browser)."""
    context = {"next": safe_next(next), "error": message, "email": email[:254]}
    return await run_in_threadpool(render, request, "signin/login.html", context, status)


@router.get("/login/mfa", response_class=HTMLResponse)
def mfa_page(
    request: Request, active: Annotated[ActiveSession, Depends(require_stage(Stage.MFA))]
) -> Response:
    """Ask for a TOTP or recovery code (or a passkey)."""
    return render(request, "signin/mfa.html", {"email": active.user.email})


@router.post("/login/mfa", response_class=HTMLResponse)
def mfa(
    request: Request,
    runtime: RuntimeDep,
    active: Annotated[ActiveSession, Depends(require_stage(Stage.MFA))],
    code: FormStr,
) -> Response:
    """Complete sign-in with the second factor."""
    try:
        result = signin.verify_second_factor(runtime, active, code, origin_of(request))
    except (AuthenticationError, ThrottledError) as exc:
        context = {"email": active.user.email, "error": exc.message}
        return render(request, "signin/mfa.html", context, status=401)
    response = _redirect("/")
    set_session_cookie(request, response, result.token)
    for warning in result.warnings:
        flash(request, response, warning, "warning")
    return response


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep, reason: FormStr = "") -> Response:
    """Sign out (works at any stage; harmless when not signed in). The page's idle timer
    posts `reason=idle` (automatic logoff, audited as such)."""
    active = current_session(request, touch=False)
    if active is not None:
        why = "idle" if reason == "idle" else ""
        signin.sign_out(runtime, active, origin_of(request), why)
    response = _redirect("/login")
    clear_session_cookie(response)
    flash(request, response, "You are signed out.", "success")
    return response


def _totp_page(
    request: Request, active: ActiveSession, pending: enrolment.PendingTotp, error: str = ""
) -> Response:
    settings = runtime_of(request).settings
    uri = totp.provisioning_uri(pending.secret, active.user.email, settings.practice_name)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, title="QR code for your authenticator")
    context = {
        "device_id": pending.device_id,
        "uri": uri,
        "qr_svg": qr_svg,
        "secret": totp.display_secret(pending.secret),
        "enrolling_first": active.stage is Stage.ENROLL,
        "error": error,
    }
    return render(request, "signin/enroll_totp.html", context, status=400 if error else 200)


def _enrolling(request: Request) -> ActiveSession:
    """Enrolment is open to a first-factor session, and to full sessions after step-up."""
    active = require_stage(Stage.ENROLL, Stage.FULL)(request)
    if active.stage is Stage.FULL and not signin.step_up_fresh(runtime_of(request), active):
        notice = "Nothing was changed: after confirming, add the authenticator again."
        raise StepUpRedirectError("/account/enroll", notice if request.method == "POST" else "")
    return active


_enrolling.carewall_roles = ALL  # type: ignore[attr-defined]


@router.get("/account/enroll", response_class=HTMLResponse)
def enroll_page(
    request: Request, runtime: RuntimeDep, active: Annotated[ActiveSession, Depends(_enrolling)]
) -> Response:
    """Start adding an authenticator app: a new secret, its QR code and its URI."""
    return _totp_page(request, active, enrolment.begin_totp(runtime, active))


@router.post("/account/enroll", response_class=HTMLResponse)
def enroll(
    request: Request,
    runtime: RuntimeDep,
    active: Annotated[ActiveSession, Depends(_enrolling)],
    device_id: FormStr,
    code: FormStr,
    name: FormStr = "Authenticator app",
) -> Response:
    """Confirm the authenticator with a code from it."""
    try:
        done = enrolment.finish_totp(runtime, active, device_id, name, code, origin_of(request))
    except FactorError as exc:
        pending = enrolment.pending_secret(runtime, active, device_id)
        return _totp_page(request, active, pending, exc.message)
    response: Response
    if done.recovery_codes:
        response = render(request, "signin/recovery_codes.html", {"codes": done.recovery_codes})
    else:
        response = _redirect("/account/security")
        flash(request, response, "Your new authenticator is active.", "success")
    if done.new_session_token:
        set_session_cookie(request, response, done.new_session_token)
    return response


@router.get("/account/reauth", response_class=HTMLResponse)
def reauth_page(
    request: Request,
    active: Annotated[ActiveSession, Depends(require_stage(Stage.FULL))],
    next: str = "/account/security",
) -> Response:
    """Confirm it is you before a sensitive action."""
    has_factor = _has_second_factor(request, active)
    return render(
        request, "signin/reauth.html", {"next": safe_next(next), "has_factor": has_factor}
    )


@router.post("/account/reauth", response_class=HTMLResponse)
def reauth(
    request: Request,
    runtime: RuntimeDep,
    active: Annotated[ActiveSession, Depends(require_stage(Stage.FULL))],
    code: FormStr,
    next: FormStr = "/account/security",
) -> Response:
    """Check a fresh second factor (or the password for users without one)."""
    try:
        token = signin.step_up(runtime, active, code, origin_of(request))
    except (AuthenticationError, ThrottledError) as exc:
        context = {
            "next": safe_next(next),
            "error": exc.message,
            "has_factor": _has_second_factor(request, active),
        }
        return render(request, "signin/reauth.html", context, status=401)
    response = _redirect(safe_next(next))
    set_session_cookie(request, response, token)  # a privilege change: a new session id
    return response


def _has_second_factor(request: Request, active: ActiveSession) -> bool:
    with runtime_of(request).db.sessions() as session:
        return factors.summary(session, active.user.id).any_second_factor


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, runtime: RuntimeDep, token: str) -> Response:
    """Set a password from an invitation link."""
    try:
        user = accounts.invite_for(runtime, token)
    except InviteError as exc:
        return render(request, "signin/invite_invalid.html", {"message": exc.message}, status=400)
    return render(request, "signin/invite.html", {"token": token, "email": user.email})


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept_invite(
    request: Request, runtime: RuntimeDep, token: str, password: FormStr, confirm: FormStr
) -> Response:
    """Activate the account, then sign in straight away (enrolment comes next)."""
    previous = current_session(request)
    try:
        user = accounts.invite_for(runtime, token)
    except InviteError as exc:
        return render(request, "signin/invite_invalid.html", {"message": exc.message}, status=400)
    context: dict[str, object] = {"token": token, "email": user.email}
    if password != confirm:
        context["errors"] = ["The two passwords are not the same."]
        return render(request, "signin/invite.html", context, status=400)
    try:
        accounts.accept_invite(runtime, token, password, origin_of(request))
    except PasswordRejectedError as exc:
        context["errors"] = exc.problems
        return render(request, "signin/invite.html", context, status=400)
    result = signin.sign_in_with_password(runtime, user.email, password, origin_of(request))
    end_replaced_session(request, previous)
    response = _redirect("/account/enroll" if result.stage is Stage.ENROLL else "/")
    set_session_cookie(request, response, result.token)
    return response
