"""Administration pages: users (invite, disable, unlock, reset MFA) and the MFA policy.

Reading is open to administrators; every change needs a recent second factor
(step-up), because a stolen admin session is the shortest path to every
account. A form sent with a stale factor is kept (`web.auth.Resume`) and
submitted again once the administrator has confirmed; an old link to an
action's address leads back to the list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import STAFF_ROLES, Role, accounts, policy, queries, signin
from carewall.web.auth import Caller, Resume, RuntimeDep, active_session, require, runtime_of
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]


def _stepped_up(label: str, *keep: str) -> Any:
    """An administrator with a fresh second factor; the form waits through the step-up."""
    return Depends(require(Role.ADMIN, step_up=Resume(label, frozenset(keep))))


Inviting = Annotated[
    Caller, _stepped_up("Invite the person", "email", "role", "name", "patient_id")
]
Reinviting = Annotated[Caller, _stepped_up("Send a new invitation link")]
Disabling = Annotated[Caller, _stepped_up("Disable the account")]
Enabling = Annotated[Caller, _stepped_up("Enable the account")]
ResettingMfa = Annotated[Caller, _stepped_up("Reset the person's second factors")]
SavingPolicy = Annotated[Caller, _stepped_up("Save the MFA policy", "required")]
USERS = "/admin/users"
POLICY = "/admin/policy"


def _back(request: Request, target: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, level)
    return response


def _users_context(request: Request, caller: Caller) -> dict[str, Any]:
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        rows = queries.users_overview(session)
        coverage = queries.mfa_coverage(session)
    fresh = signin.step_up_fresh(runtime, active_session(request))
    return {
        "users": rows,
        "coverage": coverage,
        "roles": list(Role),
        "me": caller.user_id,
        "step_up_fresh": fresh,
        "form": {"role": Role.CLINICIAN.value},
        "errors": [],
    }


@router.get(USERS, response_class=HTMLResponse)
def users_page(request: Request, caller: Admin) -> Response:
    """Every account with its MFA status, coverage at a glance, and the invite form."""
    return render(request, "admin/users.html", _users_context(request, caller))


@router.post(USERS, response_class=HTMLResponse)
def invite(
    request: Request,
    runtime: RuntimeDep,
    caller: Inviting,
    email: FormStr,
    role: FormStr,
    name: FormStr = "",
    patient_id: FormStr = "",
) -> Response:
    """Invite a person; the one-time link is shown once (and mailed when SMTP is set up)."""
    try:
        link = accounts.invite_user(
            runtime,
            caller,
            email,
            role,
            name=name,
            patient_id=patient_id.strip() or None,
        )
    except ValidationError as exc:
        context = _users_context(request, caller)
        context["form"] = {"email": email, "name": name, "role": role, "patient_id": patient_id}
        context["errors"] = [exc.message]
        return render(request, "admin/users.html", context, status=exc.status)
    return _invited_page(request, runtime, link, role=role)


def _invited_page(
    request: Request, runtime: Runtime, link: accounts.InviteLink, *, role: str
) -> Response:
    context = {"link": link, "role": role, "mail_enabled": runtime.mail.enabled}
    return render(request, "admin/invited.html", context)


@router.post(f"{USERS}/{{user_id}}/reinvite", response_class=HTMLResponse)
def reinvite(request: Request, runtime: RuntimeDep, caller: Reinviting, user_id: str) -> Response:
    """A fresh link for someone who has not accepted yet; older links stop working."""
    try:
        link = accounts.reinvite(runtime, caller, user_id)
    except ValidationError as exc:
        return _back(request, USERS, exc.message, "error")
    return _invited_page(request, runtime, link, role="")


@router.post(f"{USERS}/{{user_id}}/disable")
def disable(request: Request, runtime: RuntimeDep, caller: Disabling, user_id: str) -> Response:
    """Disable an account; its sessions end at once and its API tokens stop working."""
    try:
        accounts.disable_user(runtime, caller, user_id)
    except ValidationError as exc:
        return _back(request, USERS, exc.message, "error")
    return _back(request, USERS, "Account disabled. Its sessions and API tokens no longer work.")


@router.post(f"{USERS}/{{user_id}}/enable")
def enable(request: Request, runtime: RuntimeDep, caller: Enabling, user_id: str) -> Response:
    """Re-enable a disabled account or unlock a locked one."""
    try:
        accounts.enable_user(runtime, caller, user_id)
    except ValidationError as exc:
        return _back(request, USERS, exc.message, "error")
    return _back(request, USERS, "Account enabled. The person can sign in again.")


@router.post(f"{USERS}/{{user_id}}/reset-mfa")
def reset_mfa(
    request: Request, runtime: RuntimeDep, caller: ResettingMfa, user_id: str
) -> Response:
    """Remove every second factor of someone who lost theirs; they re-enrol after the password."""
    try:
        accounts.reset_mfa(runtime, caller, user_id)
    except ValidationError as exc:
        return _back(request, USERS, exc.message, "error")
    return _back(
        request,
        USERS,
        "Second factors removed and the person signed out. They set up a new factor "
        "at their next sign-in; confirm it was really them who asked.",
    )


@router.get(f"{USERS}/{{user_id}}/{{action}}")
def after_step_up(caller: Admin, user_id: str, action: str) -> Response:
    """Where the browser lands after confirming it is you: back to the list to press again."""
    return RedirectResponse(USERS, status_code=303)


@router.get(POLICY, response_class=HTMLResponse)
def policy_page(request: Request, runtime: RuntimeDep, caller: Admin) -> Response:
    """Which roles must use a second factor, with how many accounts each choice affects."""
    with runtime.db.sessions() as session:
        current = policy.policies(session, runtime.settings)
        coverage = queries.mfa_coverage(session)
    context = {
        "policies": current,
        "coverage": coverage,
        "optional_staff": [role for role in STAFF_ROLES if not current[role]],
    }
    return render(request, "admin/policy.html", context)


@router.post(POLICY)
def save_policy(
    request: Request,
    runtime: RuntimeDep,
    caller: SavingPolicy,
    required: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Apply the ticked boxes; only roles whose setting changes are written (and audited)."""
    wanted = set(required or [])
    unknown = wanted - {role.value for role in Role}
    if unknown:
        return _back(request, POLICY, f"Unknown role {sorted(unknown)[0]!r}.", "error")
    with runtime.db.sessions() as session:
        current = policy.policies(session, runtime.settings)
    changes = {role: role.value in wanted for role in Role}
    changes = {role: must for role, must in changes.items() if current[role] != must}
    for role, must in changes.items():
        accounts.set_mfa_policy(runtime, caller, role.value, must)
    return _policy_saved(request, changes)


def _policy_saved(request: Request, changes: dict[Role, bool]) -> Response:
    if not changes:
        return _back(request, POLICY, "Nothing changed.", "info")
    weakened = sorted(role.label for role, must in changes.items() if role.is_staff and not must)
    if weakened:
        return _back(
            request,
            POLICY,
            f"Saved. Warning: {', '.join(weakened)} staff can now sign in with a password "
            "alone. A stolen password is then enough to reach patient data.",
            "warning",
        )
    return _back(request, POLICY, "MFA policy saved.")
