"""Administration pages: users (invite, edit, link, disable, unlock, reset MFA) and the MFA
policy.

Reading is open to administrators; every change needs a recent second factor
(step-up), because a stolen admin session is the shortest path to every
account. A form sent with a stale factor is kept (`web.auth.Resume`) and
submitted again once the administrator has confirmed; an old link to an
action's address leads back to the list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.clock import utcnow
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import (
    PERSON_ROLES,
    STAFF_ROLES,
    Role,
    accounts,
    apitokens,
    links,
    policy,
    queries,
    signin,
)
from carewall.records.access.restriction import check_linkable
from carewall.web.auth import Caller, Resume, RuntimeDep, active_session, require, runtime_of
from carewall.web.flash import flash
from carewall.web.lookup import identity, lookup
from carewall.web.patient_forms import SearchCriteria
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
Revoking = Annotated[Caller, _stepped_up("Revoke the token")]
ResettingMfa = Annotated[Caller, _stepped_up("Reset the person's second factors")]
Editing = Annotated[Caller, _stepped_up("Save the person's name and role", "name", "role")]
Linking = Annotated[Caller, _stepped_up("Link the account to the patient record", "patient_id")]
Filter = Annotated[str, Query(max_length=100)]
SavingPolicy = Annotated[Caller, _stepped_up("Save the MFA policy", "required")]
USERS = "/admin/users"
POLICY = "/admin/policy"


def _back(request: Request, target: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, level)
    return response


def _users_context(
    request: Request, caller: Caller, filters: dict[str, str] | None = None
) -> dict[str, Any]:
    runtime = runtime_of(request)
    wanted = filters or {"q": "", "role": "", "status": ""}
    with runtime.db.sessions() as session:
        rows = queries.users_overview(
            session, text=wanted["q"], role=wanted["role"], status=wanted["status"]
        )
        total = len(rows) if not any(wanted.values()) else len(queries.users_overview(session))
        coverage = queries.mfa_coverage(session)
        integrations = queries.integration_accounts(session)
    fresh = signin.step_up_fresh(runtime, active_session(request))
    return {
        "integrations": integrations,
        "now": utcnow(),
        "users": rows,
        "total": total,
        "filters": wanted,
        "filtered": any(wanted.values()),
        "statuses": queries.USER_STATUSES,
        "coverage": coverage,
        "roles": list(Role),
        "invite_roles": sorted(PERSON_ROLES, key=list(Role).index),
        "me": caller.user_id,
        "step_up_fresh": fresh,
        "form": {"role": Role.CLINICIAN.value},
        "errors": [],
    }


@router.get(USERS, response_class=HTMLResponse)
def users_page(
    request: Request, caller: Admin, q: Filter = "", role: Filter = "", status: Filter = ""
) -> Response:
    """Accounts with their MFA status (narrowed by name or email, role and status), coverage
    at a glance, and the invite form."""
    filters = {"q": q.strip(), "role": role.strip(), "status": status.strip()}
    return render(request, "admin/users.html", _users_context(request, caller, filters))


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
        unknown = role == Role.PATIENT.value and patient_id.strip()
        if unknown and identity(request, caller, patient_id) is None:
            raise ValidationError("No patient record has that id: check it, or look it up.")
        if unknown:
            check_linkable(runtime, patient_id.strip().removeprefix("Patient/"))
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


def _same_kind(role: Role, of: Role) -> bool:
    """Whether an account of role `of` may be given `role`: staff roles among themselves;
    a patient stays a patient and an integration an integration (`accounts.update_user`)."""
    return (role is Role.PATIENT, role.is_person) == (of is Role.PATIENT, of.is_person)


def _user(request: Request, user_id: str) -> queries.UserOverview:
    with runtime_of(request).db.sessions() as session:
        found = [u for u in queries.users_overview(session) if u.id == user_id]
    if not found:
        raise ValidationError("No such user.", status=404)
    return found[0]


def _edit_page(
    request: Request, caller: Caller, user_id: str, status: int = 200, **extra: Any
) -> Response:
    """One person: name and role, and for a patient account the linked record by name."""
    user = _user(request, user_id)
    runtime = runtime_of(request)
    linked = None
    linked_id = links.patient_id_of(runtime, user.id) if user.role is Role.PATIENT else None
    if linked_id:
        linked = identity(request, caller, linked_id)
    context: dict[str, Any] = {
        "user": user,
        "roles": [r for r in Role if _same_kind(r, user.role)],
        "me": caller.user_id,
        "linked": linked,
        "linked_id": linked_id,
        "step_up_fresh": signin.step_up_fresh(runtime, active_session(request)),
        "errors": [],
        "lookup_values": SearchCriteria(),
        "lookup_errors": [],
        "found": None,
        **extra,
    }
    return render(request, "admin/user_edit.html", context, status=status)


@router.get(f"{USERS}/{{user_id}}", response_class=HTMLResponse)
def edit_page(request: Request, caller: Admin, user_id: str) -> Response:
    """Edit a person's name and role; link a patient account to its record."""
    return _edit_page(request, caller, user_id)


@router.post(f"{USERS}/{{user_id}}", response_class=HTMLResponse)
def save_user(
    request: Request, caller: Editing, user_id: str, name: FormStr = "", role: FormStr = ""
) -> Response:
    """Save the name and role (audited); the last administrator keeps their role."""
    try:
        changed = accounts.update_user(runtime_of(request), caller, user_id, name=name, role=role)
    except ValidationError as exc:
        return _edit_page(request, caller, user_id, status=exc.status, errors=[exc.message])
    target = f"{USERS}/{user_id}"
    return _back(
        request,
        target,
        "Saved." if changed else "Nothing changed.",
        "success" if changed else "info",
    )


@router.post(f"{USERS}/{{user_id}}/patient/find", response_class=HTMLResponse)
def find_patient_record(
    request: Request,
    caller: Admin,
    user_id: str,
    family: FormStr = "",
    given: FormStr = "",
    birthdate: FormStr = "",
    identifier: FormStr = "",
) -> Response:
    """Look up the record to link (identity only, audited)."""
    criteria = SearchCriteria.of(family, given, birthdate, identifier)
    found, errors = lookup(request, caller, criteria)
    extra = {"lookup_values": criteria, "lookup_errors": errors, "found": found}
    return _edit_page(request, caller, user_id, status=422 if errors else 200, **extra)


@router.post(f"{USERS}/{{user_id}}/patient")
def link_patient(
    request: Request, caller: Linking, user_id: str, patient_id: FormStr = ""
) -> Response:
    """Link (or relink) a patient account to a record chosen through the lookup."""
    target = f"{USERS}/{user_id}"
    if identity(request, caller, patient_id) is None:
        return _back(request, target, "No patient record has that id; look it up again.", "error")
    try:
        check_linkable(runtime_of(request), patient_id.strip().removeprefix("Patient/"))
        accounts.link_patient(runtime_of(request), caller, user_id, patient_id)
    except ValidationError as exc:
        return _back(request, target, exc.message, "error")
    return _back(request, target, "Account linked to the patient record.")


@router.post(f"{USERS}/{{user_id}}/tokens/{{token_id}}/revoke")
def revoke_token(
    request: Request, runtime: RuntimeDep, caller: Revoking, user_id: str, token_id: str
) -> Response:
    """Revoke one API token of an account (an integration feed's, typically); audited."""
    try:
        apitokens.revoke_token(runtime, caller, user_id, token_id)
    except ValidationError as exc:
        return _back(request, USERS, exc.message, "error")
    return _back(request, USERS, "Token revoked: it no longer works.")


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
    unknown = wanted - {role.value for role in PERSON_ROLES}
    if unknown:
        return _back(request, POLICY, f"Unknown role {sorted(unknown)[0]!r}.", "error")
    with runtime.db.sessions() as session:
        current = policy.policies(session, runtime.settings)
    changes = {role: role.value in wanted for role in PERSON_ROLES}
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
