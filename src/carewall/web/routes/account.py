"""The account security page: factors, recovery codes, sessions, password, tokens, history."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.clock import utcnow
from carewall.core.context import describe_user_agent
from carewall.core.errors import ValidationError
from carewall.identity import (
    accounts,
    apitokens,
    enrolment,
    factors,
    notices,
    queries,
    sessions,
    signin,
)
from carewall.identity.accounts import PasswordRejectedError
from carewall.identity.errors import AuthenticationError, FactorError
from carewall.web.auth import (
    ALL,
    Caller,
    Resume,
    RuntimeDep,
    active_session,
    require,
    set_session_cookie,
)
from carewall.web.flash import flash
from carewall.web.home_panels import notice_link
from carewall.web.routes.signin import safe_next
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
SignedIn = Annotated[Caller, Depends(require(ALL))]


def _stepped_up(label: str, *keep: str, again_at: str | None = None) -> Any:
    """A signed-in user with a fresh second factor; the form waits through the step-up."""
    return Depends(require(ALL, step_up=Resume(label, frozenset(keep), again_at)))


RemovingFactor = Annotated[Caller, _stepped_up("Remove the second factor")]
RenewingCodes = Annotated[Caller, _stepped_up("Make new recovery codes")]
# Every field of this form is a secret: nothing is kept, the person types it again.
ChangingPassword = Annotated[
    Caller, _stepped_up("Change your password", again_at="/account/security")
]
CreatingToken = Annotated[Caller, _stepped_up("Create the API token", "name", "days", "scopes")]


def _back(request: Request, message: str, level: str = "success") -> Response:
    response = RedirectResponse("/account/security", status_code=303)
    flash(request, response, message, level)
    return response


@router.get("/account/security", response_class=HTMLResponse)
def security_page(request: Request, runtime: RuntimeDep, caller: SignedIn) -> Response:
    """Everything about how this person signs in, on one page."""
    active = active_session(request)
    with runtime.db.sessions() as session:
        user_id = caller.user_id
        context = {
            "totp_devices": queries.confirmed_totp_devices(session, user_id),
            "passkeys": queries.passkeys_of(session, user_id),
            "summary": factors.summary(session, user_id),
            "sessions": sessions.for_user(session, runtime.settings, active.user, utcnow()),
            "events": queries.sign_in_events(session, user_id),
            "notices": notices.unread(session, user_id),
        }
    context["notice_link"] = lambda message: notice_link(message, caller.role)
    context.update(
        current_session_id=caller.session_id or "",
        tokens=apitokens.tokens_of(runtime, caller.user_id),
        scopes=apitokens.SCOPES,
        describe=describe_user_agent,
        now=utcnow(),
        new_token=None,
    )
    return render(request, "account/security.html", context)


@router.post("/account/factors/{kind}/{factor_id}/delete")
def remove_factor(
    request: Request, runtime: RuntimeDep, caller: RemovingFactor, kind: str, factor_id: str
) -> Response:
    """Remove an authenticator or passkey (never the last one while MFA is required)."""
    try:
        name = enrolment.remove_factor(
            runtime, active_session(request), kind, factor_id, caller.origin
        )
    except FactorError as exc:
        return _back(request, exc.message, "error")
    return _back(request, f"Removed “{name}”.")


@router.post("/account/recovery-codes", response_class=HTMLResponse)
def regenerate_codes(request: Request, runtime: RuntimeDep, caller: RenewingCodes) -> Response:
    """New recovery codes; the old ones stop working."""
    codes = enrolment.regenerate_recovery_codes(runtime, active_session(request), caller.origin)
    return render(request, "signin/recovery_codes.html", {"codes": codes})


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request, runtime: RuntimeDep, caller: SignedIn, session_id: str
) -> Response:
    """Sign out one of your other devices."""
    if signin.revoke_session(runtime, caller.user_id, session_id, caller.origin):
        return _back(request, "That device is signed out.")
    return _back(request, "That session has already ended.", "info")


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(request: Request, runtime: RuntimeDep, caller: SignedIn) -> Response:
    """Sign out everywhere else."""
    active = active_session(request)
    ended = signin.revoke_other_sessions(runtime, active, caller.origin)
    return _back(request, f"Signed out {ended} other session(s).")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    runtime: RuntimeDep,
    caller: ChangingPassword,
    current: FormStr,
    new: FormStr,
    confirm: FormStr,
) -> Response:
    """Change the password; every other session ends."""
    if new != confirm:
        return _back(request, "The two new passwords are not the same.", "error")
    try:
        token = accounts.change_password(
            runtime,
            caller.user_id,
            caller.session_id or "",
            current,
            new,
            caller.origin,
        )
    except (AuthenticationError, PasswordRejectedError) as exc:
        return _back(request, exc.message, "error")
    response = _back(request, "Your password is changed. Your other sessions were signed out.")
    set_session_cookie(request, response, token)
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    runtime: RuntimeDep,
    caller: CreatingToken,
    name: FormStr,
    days: Annotated[int, Form(ge=1, le=365)] = 90,
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Issue a personal API token; the secret is shown once."""
    try:
        secret, _ = apitokens.create_token(
            runtime, caller, caller.user_id, name, scopes or [], days=days
        )
    except ValidationError as exc:
        return _back(request, exc.message, "error")
    return render(request, "account/token_created.html", {"secret": secret, "name": name})


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, runtime: RuntimeDep, caller: SignedIn, token_id: str
) -> Response:
    """Revoke a token at once."""
    try:
        apitokens.revoke_token(runtime, caller, caller.user_id, token_id)
    except ValidationError as exc:
        return _back(request, exc.message, "error")
    return _back(request, "Token revoked.")


@router.post("/account/notices/{notice_id}/dismiss")
def dismiss_notice(
    request: Request, runtime: RuntimeDep, caller: SignedIn, notice_id: str
) -> Response:
    """Hide a notice."""
    with runtime.db.transaction() as session:
        notices.dismiss(session, caller.user_id, notice_id, utcnow())
    # Back to the page the form was on: its path only, never a host from a request header.
    back = urlsplit(request.headers.get("referer", "")).path
    return RedirectResponse(safe_next(back), status_code=303)
