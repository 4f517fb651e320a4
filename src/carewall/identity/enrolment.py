"""Adding and removing factors, as services that audit what they change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Origin, user_ref
from carewall.core.runtime import Runtime
from carewall.identity import factors, policy, signin
from carewall.identity.errors import FactorError
from carewall.identity.events import audit
from carewall.identity.models import TotpDevice
from carewall.identity.sessions import ActiveSession, Stage
from carewall.identity.tags import IdentityTag as Tag

_PENDING_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class PendingTotp:
    """An authenticator being set up: shown as a QR code until confirmed."""

    device_id: str
    secret: str


@dataclass(frozen=True)
class EnrolmentDone:
    """What the user sees after confirming: a new session id (first factor) and codes."""

    new_session_token: str | None
    recovery_codes: list[str]


def begin_totp(runtime: Runtime, active: ActiveSession) -> PendingTotp:
    """A fresh secret on an unconfirmed device (stale unconfirmed ones are dropped)."""
    now = utcnow()
    with runtime.db.transaction() as session:
        session.execute(
            delete(TotpDevice).where(
                TotpDevice.user_id == active.user.id,
                TotpDevice.confirmed.is_(False),
                TotpDevice.created_at < now - _PENDING_TTL,
            )
        )
        device, secret = factors.start_totp(
            session, runtime.keys, active.user, "Authenticator app", now
        )
    return PendingTotp(device.id, secret)


def pending_secret(runtime: Runtime, active: ActiveSession, device_id: str) -> PendingTotp:
    """Show the same pending device again (after a wrong confirmation code)."""
    with runtime.db.sessions() as session:
        device = session.get(TotpDevice, device_id)
        if device is None or device.user_id != active.user.id or device.confirmed:
            raise FactorError("This setup has expired. Start again.")
        return PendingTotp(device.id, factors.totp_secret(runtime.keys, device))


def finish_totp(
    runtime: Runtime, active: ActiveSession, device_id: str, name: str, code: str, origin: Origin
) -> EnrolmentDone:
    """Confirm a device with a code; a first factor also completes sign-in."""
    now = utcnow()
    with runtime.db.transaction() as session:
        device = session.get(TotpDevice, device_id)
        if device is None or device.user_id != active.user.id:
            raise FactorError("This setup has expired. Start again.")
        factors.confirm_totp(session, runtime.keys, device, code, now)
        device.name = name.strip()[:60] or "Authenticator app"
        return factor_enrolled(runtime, session, active, origin, now, factor="totp")


def factor_enrolled(
    runtime: Runtime,
    session: Session,
    active: ActiveSession,
    origin: Origin,
    now: datetime,
    *,
    factor: str,
) -> EnrolmentDone:
    """After any new factor: audit, finish a first-factor sign-in, and hand out
    recovery codes when the user has none."""
    ref = user_ref(active.user.id)
    audit(session, Tag.FACTOR_ENROLLED, origin, actor=ref, subject=ref, factor=factor)
    token, codes = None, []
    if active.stage is Stage.ENROLL:
        token = signin.complete_enrolment(runtime, session, active, origin)
    session.flush()
    if factors.summary(session, active.user.id).recovery_left == 0:
        codes = factors.new_recovery_codes(session, runtime.keys, active.user.id, now)
        audit(session, Tag.RECOVERY_REGENERATED, origin, actor=ref, subject=ref)
    return EnrolmentDone(token, codes)


def regenerate_recovery_codes(runtime: Runtime, active: ActiveSession, origin: Origin) -> list[str]:
    """Ten new codes; the old ones stop working (the route demands step-up)."""
    ref = user_ref(active.user.id)
    with runtime.db.transaction() as session:
        codes = factors.new_recovery_codes(session, runtime.keys, active.user.id, utcnow())
        audit(session, Tag.RECOVERY_REGENERATED, origin, actor=ref, subject=ref)
    return codes


def remove_factor(
    runtime: Runtime, active: ActiveSession, kind: str, factor_id: str, origin: Origin
) -> str:
    """Remove a TOTP device or passkey, never the last one while MFA is required."""
    ref = user_ref(active.user.id)
    with runtime.db.transaction() as session:
        required = policy.mfa_required(session, runtime.settings, active.user.role)
        if kind == "totp":
            name = factors.remove_totp(session, active.user.id, factor_id, mfa_required=required)
        elif kind == "passkey":
            name = factors.remove_passkey(session, active.user.id, factor_id, mfa_required=required)
        else:
            raise FactorError("Unknown kind of factor.")
        audit(session, Tag.FACTOR_REMOVED, origin, actor=ref, subject=ref, factor=kind)
    return name
