"""Read side of identity: user lists, sign-in history and evidence for the risk module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carewall.audit import entries_about
from carewall.core.config import Settings
from carewall.core.context import describe_user_agent, user_ref
from carewall.identity.models import (
    ApiToken,
    Invite,
    RecoveryCode,
    TotpDevice,
    User,
    WebAuthnCredential,
)
from carewall.identity.passwords import MIN_ZXCVBN_SCORE
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


USER_STATUSES = ("active", "invited", "disabled", "locked")


def users_overview(
    session: Session, *, text: str = "", role: str = "", status: str = ""
) -> list[UserOverview]:
    """Users with MFA status and last sign-in, staff first then by email; narrowed to those
    whose email or name contains `text` (any case), of `role`, and of `status` (`locked`:
    locked out, whatever the status)."""
    totp = _counts(session, TotpDevice, TotpDevice.confirmed.is_(True))
    passkeys = _counts(session, WebAuthnCredential)
    codes = _counts(session, RecoveryCode, RecoveryCode.used_at.is_(None))
    query = select(User).order_by(User.role == Role.PATIENT, User.email)
    if text.strip():
        needle = text.strip().lower()
        query = query.where(
            or_(
                func.lower(User.email).contains(needle, autoescape=True),
                func.lower(User.display_name).contains(needle, autoescape=True),
            )
        )
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if status == "locked":
        query = query.where(User.locked.is_(True))
    elif status in USER_STATUSES:
        query = query.where(User.status == status)
    users = session.scalars(query)
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
        if role.is_person
    }
    staff = [u for u in rows if u.role.is_staff]
    patients = [u for u in rows if u.role is Role.PATIENT]

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
        accounts_without_mfa=sum(1 for u in rows if u.role.is_person and not u.has_mfa),
    )


@dataclass(frozen=True)
class MfaEvidence:
    """The `mfa` section of `carewall risk evidence --json`, measured at `as_of`.

    `staff_active` counts active accounts of every role but patient and
    integration (administrators included), signed in yet or not; `*_with_mfa`
    those with at least one second factor (a confirmed authenticator app or a
    passkey; recovery codes alone do not count); `*_with_passkey` those with a
    passkey or security key; `pending_invitations` unaccepted, unexpired
    invitations of accounts still waiting to be activated.
    """

    as_of: datetime
    staff_active: int
    staff_with_mfa: int
    staff_with_passkey: int
    admins_active: int
    admins_with_mfa: int
    admins_with_passkey: int
    patients_active: int
    patients_with_mfa: int
    patients_with_passkey: int
    pending_invitations: int

    @property
    def passkey_share(self) -> float:
        """Share of active staff with a passkey (phishing-resistant), 0 when there are none."""
        return self.staff_with_passkey / self.staff_active if self.staff_active else 0.0

    def as_json(self) -> dict[str, object]:
        """The evidence section, with `as_of` as ISO-8601 UTC text."""
        body: dict[str, object] = {"as_of": self.as_of.isoformat()}
        body.update({k: v for k, v in vars(self).items() if k != "as_of"})
        body["passkey_share"] = round(self.passkey_share, 4)
        return body


def mfa_evidence(session: Session, now: datetime) -> MfaEvidence:
    """Count active accounts with and without second factors, by kind of account."""
    totp = set(session.scalars(select(TotpDevice.user_id).where(TotpDevice.confirmed.is_(True))))
    passkeys = set(session.scalars(select(WebAuthnCredential.user_id)))
    active = session.execute(select(User.id, User.role).where(User.status == "active")).all()
    staff = [uid for uid, role in active if Role(role).is_staff]
    admins = [uid for uid, role in active if role == Role.ADMIN.value]
    patients = [uid for uid, role in active if role == Role.PATIENT.value]
    second = totp | passkeys
    pending = session.scalar(
        select(func.count())
        .select_from(Invite)
        .join(User, User.id == Invite.user_id)
        .where(Invite.used_at.is_(None), Invite.expires_at > now, User.status == "invited")
    )
    return MfaEvidence(
        as_of=now,
        staff_active=len(staff),
        staff_with_mfa=sum(1 for uid in staff if uid in second),
        staff_with_passkey=sum(1 for uid in staff if uid in passkeys),
        admins_active=len(admins),
        admins_with_mfa=sum(1 for uid in admins if uid in second),
        admins_with_passkey=sum(1 for uid in admins if uid in passkeys),
        patients_active=len(patients),
        patients_with_mfa=sum(1 for uid in patients if uid in second),
        patients_with_passkey=sum(1 for uid in patients if uid in passkeys),
        pending_invitations=int(pending or 0),
    )


def password_policy_evidence(settings: Settings, now: datetime) -> dict[str, object]:
    """The `password_policy` evidence section: what every new password must pass, and throttling.

    Read from the effective settings and the policy's constants: the figures
    are true for every password chosen since they were set.
    """
    return {
        "as_of": now.isoformat(),
        "min_length": settings.password_min_length,
        "breached_screening": True,
        "strength_meter_min_score": MIN_ZXCVBN_SCORE,
        "forced_rotation": False,
        "composition_rules": False,
        "hashing": "Argon2id",
        "login_max_failures": settings.login_max_failures,
        "login_window_minutes": settings.login_window_minutes,
        "mfa_max_failures": settings.mfa_max_failures,
    }


def session_policy_evidence(settings: Settings, now: datetime) -> dict[str, object]:
    """The `sessions` evidence section: automatic logoff and how sessions travel."""
    return {
        "as_of": now.isoformat(),
        "idle_minutes_staff": settings.session_idle_minutes_staff,
        "idle_minutes_patient": settings.session_idle_minutes_patient,
        "absolute_hours": settings.session_absolute_hours,
        "step_up_minutes": settings.step_up_minutes,
        "behind_tls": settings.behind_tls,
    }


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


def display_names(session: Session) -> dict[str, str]:
    """Every account's audit reference (`user:<id>`) -> its display name, else its email.

    Reports name who answered or changed what; the audit trail stores references.
    An integration account's name says so ("Lab feed (integration account)"), so
    nobody mistakes a system feed's reads and writes for a person's.
    """
    rows = session.execute(select(User.id, User.display_name, User.email, User.role))
    return {user_ref(uid): _named(name or email, Role(role)) for uid, name, email, role in rows}


def _named(name: str, role: Role) -> str:
    return name if role.is_person else f"{name} (integration account)"


def user_id_for_email(session: Session, email: str) -> str | None:
    """The id of the account with `email`, compared as sign-in compares it.

    The CLI names people by email while the account services take ids.
    """
    return session.scalar(select(User.id).where(User.email == normalise_email(email)))


@dataclass(frozen=True)
class FactorListing:
    """A second factor as the account pages list it: no secret, no key material."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


def confirmed_totp_devices(session: Session, user_id: str) -> list[FactorListing]:
    """The authenticator apps a user has finished setting up, oldest first."""
    query = select(TotpDevice).where(TotpDevice.user_id == user_id, TotpDevice.confirmed)
    return [_listing(d) for d in session.scalars(query.order_by(TotpDevice.created_at))]


def passkeys_of(session: Session, user_id: str) -> list[FactorListing]:
    """A user's passkeys and security keys, oldest first."""
    query = select(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id)
    return [_listing(k) for k in session.scalars(query.order_by(WebAuthnCredential.created_at))]


def _listing(factor: TotpDevice | WebAuthnCredential) -> FactorListing:
    return FactorListing(factor.id, factor.name, factor.created_at, factor.last_used_at)


@dataclass(frozen=True)
class TokenListing:
    """An API token as the administrator sees it: never the secret, only its prefix."""

    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def live(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class IntegrationAccount:
    """A token-only system feed and its tokens, newest first (the users page lists them)."""

    id: str
    email: str
    display_name: str
    status: str
    created_at: datetime
    tokens: tuple[TokenListing, ...]


def integration_accounts(session: Session) -> list[IntegrationAccount]:
    """Every integration account with all its tokens, by email.

    A feed acts only through its tokens, so the administrator's view of it is
    the list of tokens: scopes, when each was made and last used, and which
    still work.
    """
    users = session.scalars(
        select(User).where(User.role == Role.INTEGRATION).order_by(User.email)
    ).all()
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id.in_([u.id for u in users]))
        .order_by(ApiToken.created_at.desc())
    )
    tokens: dict[str, list[TokenListing]] = {}
    for t in rows:
        listing = TokenListing(
            t.id,
            t.name,
            t.prefix,
            tuple(t.scopes),
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.revoked_at,
        )
        tokens.setdefault(t.user_id, []).append(listing)
    return [
        IntegrationAccount(
            u.id, u.email, u.display_name, u.status, u.created_at, tuple(tokens.get(u.id, ()))
        )
        for u in users
    ]
