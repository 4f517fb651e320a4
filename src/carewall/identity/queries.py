"""Read side of identity: user lists, sign-in history and evidence for the risk module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.audit import entries_about
from carewall.identity.events import user_ref
from carewall.identity.models import RecoveryCode, TotpDevice, User, WebAuthnCredential
from carewall.identity.requests import describe_user_agent
from carewall.identity.roles import Role
from carewall.identity.signin import normalise_email
from carewall.identity.tags import IdentityTag as Tag


@dataclass(frozen=True)
class UserOverview:
    """A row of the administrator's user list."""

    id: str
    email: str
    display_name: str
    role: Role
    status: str
    locked: bool
    totp: int
    passkeys: int
    recovery_left: int
    last_login_at: datetime | None

    @property
    def has_mfa(self) -> bool:
        """At least one second factor."""
        return self.totp + self.passkeys > 0


def _counts(session: Session, model: type, *conditions: object) -> dict[str, int]:
    query = select(model.user_id, func.count()).group_by(model.user_id)  # type: ignore[attr-defined]
    for condition in conditions:
        query = query.where(condition)  # type: ignore[arg-type]
    return {user_id: int(count) for user_id, count in session.execute(query)}


def users_overview(session: Session) -> list[UserOverview]:
    """Every user with MFA status and last sign-in, staff first then by email."""
    totp = _counts(session, TotpDevice, TotpDevice.confirmed.is_(True))
    passkeys = _counts(session, WebAuthnCredential)
    codes = _counts(session, RecoveryCode, RecoveryCode.used_at.is_(None))
    users = session.scalars(select(User).order_by(User.role == Role.PATIENT, User.email))
    return [
        UserOverview(
            id=u.id,
            email=u.email,
            display_name=u.display_name,
            role=Role(u.role),
            status=u.status,
            locked=u.locked,
            totp=totp.get(u.id, 0),
            passkeys=passkeys.get(u.id, 0),
            recovery_left=codes.get(u.id, 0),
            last_login_at=u.last_login_at,
        )
        for u in users
    ]


@dataclass(frozen=True)
class RoleCoverage:
    """MFA coverage of one role's active accounts."""

    role: Role
    active: int
    with_mfa: int
    with_passkey: int

    @property
    def share(self) -> float:
        """Share of active accounts with a second factor (1.0 when there are none)."""
        return self.with_mfa / self.active if self.active else 1.0


@dataclass(frozen=True)
class MfaCoverage:
    """Evidence for the risk module: who is protected by a second factor."""

    by_role: dict[Role, RoleCoverage]
    staff_share: float
    patient_share: float
    phishing_resistant_staff_share: float
    accounts_without_mfa: int


def mfa_coverage(session: Session) -> MfaCoverage:
    """MFA and passkey coverage of active accounts, by role."""
    rows = [u for u in users_overview(session) if u.status == "active"]
    by_role = {
        role: RoleCoverage(
            role,
            active=sum(1 for u in rows if u.role is role),
            with_mfa=sum(1 for u in rows if u.role is role and u.has_mfa),
            with_passkey=sum(1 for u in rows if u.role is role and u.passkeys > 0),
        )
        for role in Role
    }
    staff = [u for u in rows if u.role.is_staff]
    patients = [u for u in rows if not u.role.is_staff]

    def share(group: list[UserOverview], test: str) -> float:
        if not group:
            return 1.0
        hits = sum(1 for u in group if (u.passkeys > 0 if test == "passkey" else u.has_mfa))
        return hits / len(group)

    return MfaCoverage(
        by_role=by_role,
        staff_share=share(staff, "mfa"),
        patient_share=share(patients, "mfa"),
        phishing_resistant_staff_share=share(staff, "passkey"),
        accounts_without_mfa=sum(1 for u in rows if not u.has_mfa),
    )


@dataclass(frozen=True)
class SignInEvent:
    """One line of a user's sign-in history."""

    at: datetime
    ip: str
    device: str
    outcome: str
    what: str


_SIGN_IN_TAGS = {
    Tag.LOGIN_SUCCESS: "Signed in",
    Tag.LOGIN_FAILURE: "Wrong password",
    Tag.LOGIN_THROTTLED: "Sign-in paused (too many attempts)",
    Tag.MFA_FAILURE: "Wrong second-factor code",
    Tag.MFA_THROTTLED: "Second factor paused (too many attempts)",
    Tag.RECOVERY_USED: "Recovery code used",
    Tag.ACCOUNT_LOCKED: "Account locked",
    Tag.LOGOUT: "Signed out",
}


def sign_in_events(session: Session, user_id: str, limit: int = 20) -> list[SignInEvent]:
    """The user's last sign-in events, read from the audit trail."""
    entries = entries_about(session, user_ref(user_id), list(_SIGN_IN_TAGS), limit)
    return [
        SignInEvent(
            at=entry.ts,
            ip=entry.source_ip,
            device=describe_user_agent(entry.user_agent),
            outcome=entry.outcome,
            what=_SIGN_IN_TAGS[Tag(entry.action)],
        )
        for entry in entries
    ]


def user_id_for_email(session: Session, email: str) -> str | None:
    """The id of the account with `email`, compared as sign-in compares it.

    The CLI names people by email while the account services take ids.
    """
    return session.scalar(select(User.id).where(User.email == normalise_email(email)))


def confirmed_totp_devices(session: Session, user_id: str) -> list[TotpDevice]:
    """The authenticator apps a user has finished setting up."""
    query = select(TotpDevice).where(TotpDevice.user_id == user_id, TotpDevice.confirmed)
    return list(session.scalars(query.order_by(TotpDevice.created_at)))


def passkeys_of(session: Session, user_id: str) -> list[WebAuthnCredential]:
    """A user's passkeys and security keys, oldest first."""
    query = select(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id)
    return list(session.scalars(query.order_by(WebAuthnCredential.created_at)))
