"""Accounts: the first admin, invitations, activation, disabling, MFA reset, passwords.

Administrative actions take the acting user's reference for the audit trail;
the web layer has already checked the actor's role and step-up freshness.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin, user_ref
from carewall.core.db import new_id
from carewall.core.errors import ValidationError
from carewall.core.inputs import storable_text
from carewall.core.mail import MailError, OutgoingMail
from carewall.core.runtime import Runtime
from carewall.identity import factors, links, notices, passwords, sessions
from carewall.identity.errors import AuthenticationError, InviteError
from carewall.identity.events import audit, audit_by
from carewall.identity.models import ApiToken, Invite, MfaPolicy, User, WebSession
from carewall.identity.roles import Role
from carewall.identity.sessions import Stage
from carewall.identity.signin import normalise_email
from carewall.identity.tags import IdentityTag as Tag
from carewall.identity.tokens import digest, new_secret

# A FHIR id: what a Patient record id can be (the column holds 64 characters).
_PATIENT_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class PasswordRejectedError(ValidationError):
    """The new password does not meet the policy; `problems` says why, in plain words."""

    code = "password_rejected"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class InviteLink:
    """An invitation as the administrator sees it once."""

    user_id: str
    email: str
    url: str
    emailed: bool
    expires_at: datetime


def valid_email(email: str) -> str:
    """A normalised email address, or a ValidationError in plain words."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"That email address is not valid: {exc}") from exc
    return normalise_email(checked.normalized)


def valid_role(role: str) -> Role:
    """A known role, or a ValidationError listing the choices."""
    try:
        return Role(role)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise ValidationError(f"Unknown role {role!r}; choose one of {choices}.") from exc


def _new_user(
    session: Session,
    email: str,
    role: Role,
    now: datetime,
    *,
    name: str,
    patient_link: tuple[bytes, str] | None,
) -> User:
    """A new account; `patient_link` is (link key, Patient id), sealed into the row."""
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationError("A user with that email address already exists.")
    if role is Role.PATIENT and not (patient_link and patient_link[1]):
        raise ValidationError("A patient account must be linked to a patient record.")
    if role is Role.PATIENT and patient_link is not None:
        patient_id = patient_link[1].strip().removeprefix("Patient/")
        if not _PATIENT_ID.fullmatch(patient_id):
            raise ValidationError(
                "That is not a patient record id (1 to 64 letters, digits, '-' or '.')."
            )
        patient_link = (patient_link[0], patient_id)
    user_id = new_id()
    sealed = None
    if role is Role.PATIENT and patient_link is not None:
        sealed = links.seal_patient_id(patient_link[0], user_id, patient_link[1])
    user = User(
        id=user_id,
        email=email,
        role=role,
        display_name=storable_text(name.strip())[:120],
        status="invited",
        patient_id_sealed=sealed,
        consecutive_failures=0,
        locked=False,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent creation of the same email
        raise ValidationError("A user with that email address already exists.") from exc
    return user


def _check_new_password(runtime: Runtime, password: str, email: str) -> str:
    problems = passwords.check_password(
        password,
        email=email,
        practice_name=runtime.settings.practice_name,
        min_length=runtime.settings.password_min_length,
    )
    if problems:
        raise PasswordRejectedError([problem.message for problem in problems])
    return passwords.hash_password(password)


def create_admin(runtime: Runtime, email: str, password: str, origin: Origin) -> User:
    """The first administrator, active at once; MFA enrolment follows at first sign-in."""
    email = valid_email(email)
    password_hash = _check_new_password(runtime, password, email)
    now = utcnow()
    with runtime.db.transaction() as session:
        user = _new_user(session, email, Role.ADMIN, now, name="Administrator", patient_link=None)
        user.password_hash = password_hash
        user.password_changed_at = now
        user.status = "active"
        audit(
            session,
            Tag.USER_CREATED,
            origin,
            actor="cli",
            subject=user_ref(user.id),
            role=str(Role.ADMIN),
        )
    return user


def invite_user(
    runtime: Runtime,
    caller: Caller,
    email: str,
    role: str,
    *,
    name: str = "",
    patient_id: str | None = None,
) -> InviteLink:
    """Create an invited user and a one-time link; mail it when SMTP is configured."""
    email, checked_role, now = valid_email(email), valid_role(role), utcnow()
    if not checked_role.is_person:
        raise ValidationError(
            "An integration account is not a person and is never invited: create it with "
            "`carewall user add EMAIL --role integration`, then give it a token."
        )
    patient_link = None
    if patient_id is not None:
        patient_link = (runtime.keys.data_key(links.PATIENT_LINK_KEY), patient_id)
    with runtime.db.transaction() as session:
        user = _new_user(session, email, checked_role, now, name=name, patient_link=patient_link)
        link = _issue_invite(runtime, session, user, caller, now)
    return _mail_invite(runtime, link)


def create_integration(runtime: Runtime, caller: Caller, email: str, *, name: str = "") -> User:
    """A token-only account for a system feed (interface engine, nightly load), active at once.

    It has no password, no second factor and no invitation: nobody signs in as
    it (`signin` refuses it by role as well), and it acts only through the API
    tokens the operator issues to it with `carewall user token`. Audited as
    `identity:user:created` with the role, like the first administrator.
    """
    email, now = valid_email(email), utcnow()
    with runtime.db.transaction() as session:
        user = _new_user(
            session, email, Role.INTEGRATION, now, name=name or "Integration", patient_link=None
        )
        user.status = "active"
        audit_by(
            session, Tag.USER_CREATED, caller, subject=user_ref(user.id), role=str(Role.INTEGRATION)
        )
    return user


def reinvite(runtime: Runtime, caller: Caller, user_id: str) -> InviteLink:
    """A fresh link for a user who has not accepted yet (older links stop working)."""
    now = utcnow()
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        if user.status != "invited":
            raise ValidationError("This user has already set a password.")
        for old in session.scalars(select(Invite).where(Invite.user_id == user.id)):
            session.delete(old)
        link = _issue_invite(runtime, session, user, caller, now)
    return _mail_invite(runtime, link)


def _issue_invite(
    runtime: Runtime, session: Session, user: User, caller: Caller, now: datetime
) -> InviteLink:
    token = new_secret()
    expires = now + timedelta(days=runtime.settings.invite_days)
    session.add(
        Invite(
            user_id=user.id,
            token_hash=digest(token),
            created_by=caller.ref,
            created_at=now,
            expires_at=expires,
        )
    )
    audit_by(session, Tag.USER_INVITED, caller, subject=user_ref(user.id), role=user.role)
    url = runtime.settings.public_link(f"/invite/{token}")
    return InviteLink(user.id, user.email, url, False, expires)


def _mail_invite(runtime: Runtime, link: InviteLink) -> InviteLink:
    if not runtime.mail.enabled:
        return link
    body = (
        f"You have been invited to {runtime.settings.practice_name} on Carewall.\n\n"
        f"Open this link to set your password and a second factor:\n{link.url}\n\n"
        f"The link works once and expires on {link.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this message, ignore it and tell your practice."
    )
    try:
        runtime.mail.send(OutgoingMail(link.email, "Your Carewall invitation", body))
    except MailError:
        return link  # the administrator still sees the link and can pass it on
    return InviteLink(link.user_id, link.email, link.url, True, link.expires_at)


def invite_for(runtime: Runtime, token: str) -> User:
    """The invited user behind a link, or InviteError."""
    with runtime.db.sessions() as session:
        return _valid_invite(session, token, utcnow())[1]


def _valid_invite(session: Session, token: str, now: datetime) -> tuple[Invite, User]:
    invite = session.scalar(select(Invite).where(Invite.token_hash == digest(token)))
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise InviteError(
            "This invitation link is not valid any more. Ask your administrator for a new one."
        )
    user = session.get(User, invite.user_id)
    if user is None or user.status != "invited":
        raise InviteError("This invitation has already been used.")
    return invite, user


def accept_invite(runtime: Runtime, token: str, password: str, origin: Origin) -> User:
    """Set the invitee's password and activate the account (MFA enrolment comes next)."""
    now = utcnow()
    with runtime.db.sessions() as session:
        _, user = _valid_invite(session, token, now)
    password_hash = _check_new_password(runtime, password, user.email)
    with runtime.db.transaction() as session:
        invite, user = _valid_invite(session, token, now)  # again, inside the transaction
        invite.used_at = now
        user.password_hash = password_hash
        user.password_changed_at = now
        user.status = "active"
        ref = user_ref(user.id)
        audit(session, Tag.USER_ACTIVATED, origin, actor=ref, subject=ref)
    return user


def _get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ValidationError("No such user.", status=404)
    return user


def disable_user(runtime: Runtime, caller: Caller, user_id: str) -> None:
    """Disable an account: every session ends at once and its tokens stop working."""
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        if caller.ref == user_ref(user.id):
            raise ValidationError("You cannot disable your own account.")
        user.status = "disabled"
        ended = sessions.end_all(session, user.id)
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            token.revoked_at = token.revoked_at or utcnow()
        audit_by(session, Tag.USER_DISABLED, caller, subject=user_ref(user.id), sessions=ended)


def enable_user(runtime: Runtime, caller: Caller, user_id: str) -> None:
    """Re-enable a disabled or locked account (counters reset)."""
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        if user.password_hash is None and Role(user.role).is_person:
            raise ValidationError("This user has not accepted the invitation yet.")
        user.status = "active"
        user.locked = False
        user.consecutive_failures = 0
        audit_by(session, Tag.USER_ACTIVATED, caller, subject=user_ref(user.id), by="admin")


def reset_mfa(runtime: Runtime, caller: Caller, user_id: str) -> None:
    """Remove every factor of a user who lost theirs; they re-enrol after their password."""
    now = utcnow()
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        factors.reset_all(session, user.id)
        ended = sessions.end_all(session, user.id)
        notices.notify(
            session,
            user.id,
            "An administrator reset your second factors. You set up a new one at your last "
            "sign-in. If you did not ask for this, tell your security officer now.",
            now,
            level="warning",
        )
        audit_by(session, Tag.MFA_RESET, caller, subject=user_ref(user.id), sessions=ended)
    if runtime.mail.enabled:
        body = (
            "An administrator reset the second factors of your Carewall account. You will be "
            "asked to set up a new one after your password at your next sign-in.\n"
            "If you did not ask for this, contact your security officer immediately."
        )
        # The in-app notice is the record; the mail is a courtesy.
        with contextlib.suppress(MailError):
            runtime.mail.send(OutgoingMail(user.email, "Your Carewall sign-in was reset", body))


def change_password(
    runtime: Runtime, user_id: str, session_id: str, current: str, new: str, origin: Origin
) -> str:
    """Change a password after checking the current one; other sessions end and this
    one gets a new id (returned), so an id copied before the change dies with it."""
    with runtime.db.sessions() as session:
        user = _get_user(session, user_id)
    if user.password_hash is None or not passwords.verify_password(user.password_hash, current).ok:
        raise AuthenticationError("Your current password is not correct.")
    password_hash = _check_new_password(runtime, new, user.email)
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        user.password_hash = password_hash
        user.password_changed_at = utcnow()
        ended = sessions.end_all(session, user.id, except_id=session_id)
        current_row = session.get(WebSession, session_id)
        if current_row is None:
            raise AuthenticationError("Your session has ended. Sign in again.")
        token = sessions.rotate(session, current_row, Stage(current_row.stage), utcnow())
        ref = user_ref(user.id)
        audit(session, Tag.PASSWORD_CHANGED, origin, actor=ref, subject=ref, other_sessions=ended)
    return token


def set_mfa_policy(runtime: Runtime, caller: Caller, role: str, required: bool) -> None:
    """Make a second factor required or optional for a role (the page warns for staff)."""
    checked = valid_role(role)
    with runtime.db.transaction() as session:
        row = session.get(MfaPolicy, checked.value)
        if row is None:
            row = MfaPolicy(role=checked.value, required=required)
            session.add(row)
        row.required, row.updated_at, row.updated_by = required, utcnow(), caller.ref
        audit_by(session, Tag.POLICY_CHANGED, caller, subject=f"role:{checked}", required=required)


def update_user(
    runtime: Runtime,
    caller: Caller,
    user_id: str,
    *,
    name: str,
    role: str,
) -> bool:
    """Change a person's display name and role; whether anything changed.

    Staff roles change among themselves; a patient account stays a patient's
    (its link to a record is what it is for) and staff never become patients.
    The last active administrator cannot be demoted, so the practice is never
    locked out of its own administration. A role change ends the person's
    sessions, so the new role applies from their next sign-in on every device.
    Audited as `identity:user:updated` with the fields changed (names are not
    repeated in the trail: the users table holds them).
    """
    new_role, new_name = valid_role(role), storable_text(name.strip())[:120]
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        old_role = Role(user.role)
        if (old_role is Role.INTEGRATION) != (new_role is Role.INTEGRATION):
            raise ValidationError(
                "An integration account stays one, and a person never becomes one: "
                "create a separate integration account instead."
            )
        if (old_role is Role.PATIENT) != (new_role is Role.PATIENT):
            raise ValidationError(
                "A patient account stays a patient account, and staff cannot become patients: "
                "invite a new account instead."
            )
        if old_role is Role.ADMIN and new_role is not Role.ADMIN and _last_admin(session, user):
            raise ValidationError("This is the last active administrator: promote someone first.")
        changed = [
            f
            for f, same in (("name", new_name == user.display_name), ("role", new_role is old_role))
            if not same
        ]
        if not changed:
            return False
        user.display_name, user.role = new_name, new_role
        ended = sessions.end_all(session, user.id) if "role" in changed else 0
        audit_by(
            session,
            Tag.USER_UPDATED,
            caller,
            subject=user_ref(user.id),
            changed=changed,
            role=str(new_role),
            previous_role=str(old_role),
            sessions=ended,
        )
    return True


def _last_admin(session: Session, user: User) -> bool:
    """Whether `user` is the only active administrator."""
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.status == "active", User.id != user.id)
    )
    return not others


def link_patient(runtime: Runtime, caller: Caller, user_id: str, patient_id: str) -> None:
    """Link (or relink) a patient account to a Patient record id, sealed as at invitation.

    The caller has checked that the record exists (identity sits below the
    vault); the id must have the form of one. Audited as `identity:user:linked`
    (whether it was a relink; the id itself is sealed in the users table, never
    written to the trail).
    """
    patient_id = patient_id.strip().removeprefix("Patient/")
    if not _PATIENT_ID.fullmatch(patient_id):
        raise ValidationError(
            "That is not a patient record id (1 to 64 letters, digits, '-' or '.')."
        )
    key = runtime.keys.data_key(links.PATIENT_LINK_KEY)
    with runtime.db.transaction() as session:
        user = _get_user(session, user_id)
        if Role(user.role) is not Role.PATIENT:
            raise ValidationError("Only a patient account is linked to a patient record.")
        relink = user.patient_id_sealed is not None or user.legacy_patient_id is not None
        user.patient_id_sealed = links.seal_patient_id(key, user.id, patient_id)
        user.legacy_patient_id = None
        ended = sessions.end_all(session, user.id) if relink else 0
        audit_by(
            session,
            Tag.PATIENT_LINKED,
            caller,
            subject=user_ref(user.id),
            relink=relink,
            sessions=ended,
        )
