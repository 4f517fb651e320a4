"""Access decisions on stored rows (no decryption): matrix, compartment, break-glass.

A refusal is raised as `Denied`, which `run_guarded` turns into an audited
`records:access:denied` entry (written after the refused transaction rolled
back) and the public error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from carewall.audit import Outcome, record
from carewall.core.errors import CarewallError, NotFoundError, PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.records.actors import Actor
from carewall.records.errors import BreakGlassRequiredError
from carewall.records.keys import RecordKeys
from carewall.records.matrix import BREAK_GLASS_ROLES, DIRECTORY, Action, allowed
from carewall.records.models import BreakGlassGrant, RestrictedCompartment
from carewall.records.tags import RecordsTag

T = TypeVar("T")


class Denied(Exception):  # noqa: N818 - internal signal, never escapes `run_guarded`
    """An access refusal waiting to be audited."""

    def __init__(self, error: CarewallError, resource_type: str, target: str, reason: str) -> None:
        super().__init__(error.message)
        self.error, self.resource_type, self.target, self.reason = (
            error,
            resource_type,
            target,
            reason,
        )


def run_guarded(runtime: Runtime, actor: Actor, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction; audit and re-raise a refusal as its public error."""
    try:
        with runtime.db.transaction() as session:
            return work(session)
    except Denied as denied:
        event = actor.audit_event(
            RecordsTag.ACCESS_DENIED,
            denied.target,
            {
                "role": str(actor.role),
                "resource_type": denied.resource_type,
                "reason": denied.reason,
            },
            Outcome.DENIED,
        )
        with runtime.db.transaction() as session:
            record(session, event)
        raise denied.error from None


def require_type(actor: Actor, action: Action, resource_type: str, target: str) -> None:
    """Matrix check by type alone (search, create)."""
    if actor.system or allowed(actor.role, action, resource_type):
        return
    error = PermissionDeniedError(f"Your role may not {action} {resource_type} resources.")
    raise Denied(error, resource_type, target, "role")


def require_row(
    session: Session,
    keys: RecordKeys,
    actor: Actor,
    action: Action,
    resource_type: str,
    target: str,
    patient_ref: str | None,
    now: datetime,
) -> None:
    """Full check for one stored resource: matrix, own compartment, restriction."""
    if actor.system:
        return
    if actor.role.is_staff:
        require_type(actor, action, resource_type, target)
        if patient_ref is not None and not opens(session, actor, [patient_ref], now):
            raise Denied(_restricted_error(actor), resource_type, target, "restricted")
        return
    own = keys.patient_ref(actor.patient_id) if actor.patient_id else None
    if patient_ref is None and resource_type in DIRECTORY:
        require_type(actor, action, resource_type, target)
        return
    if own is None or patient_ref != own or not allowed(actor.role, action, resource_type):
        # Same answer as a missing resource: a patient learns nothing about others' ids.
        raise Denied(
            NotFoundError(f"{target} was not found."), resource_type, target, "compartment"
        )


def opens(session: Session, actor: Actor, patient_refs: Iterable[str], now: datetime) -> bool:
    """Whether staff `actor` may open every given compartment (restriction + grants)."""
    return not blocked(session, actor, set(patient_refs), now)


# Built once: every staff read asks whether the compartment is restricted.
_RESTRICTED = select(RestrictedCompartment.patient_ref).where(
    RestrictedCompartment.patient_ref.in_(bindparam("refs", expanding=True))
)


def blocked(session: Session, actor: Actor, patient_refs: set[str], now: datetime) -> set[str]:
    """The compartments among `patient_refs` that are restricted and not opened by a grant."""
    if actor.system or not patient_refs:
        return set()
    # On the connection, not through the ORM: this runs on every staff read.
    found = session.connection().execute(_RESTRICTED, {"refs": list(patient_refs)})
    restricted = set(found.scalars())
    if not restricted or actor.role not in BREAK_GLASS_ROLES:
        return restricted
    return restricted - active_grants(session, actor.user_id, restricted, now)


def active_grants(
    session: Session, user_id: str, patient_refs: set[str], now: datetime
) -> set[str]:
    """Compartments the user holds a live (unexpired, unstopped) break-glass grant for."""
    return set(
        session.scalars(
            select(BreakGlassGrant.patient_ref).where(
                BreakGlassGrant.user_id == user_id,
                BreakGlassGrant.patient_ref.in_(patient_refs),
                BreakGlassGrant.expires_at > now,
                BreakGlassGrant.ended_at.is_(None),
            )
        )
    )


def _restricted_error(actor: Actor) -> CarewallError:
    if actor.role in BREAK_GLASS_ROLES:
        return BreakGlassRequiredError(
            "This record is restricted: start emergency access (break-glass) to open it."
        )
    return PermissionDeniedError("This record is restricted.")
