"""Access decisions on stored rows (no decryption): matrix, compartment, break-glass.

A refusal is raised as `Denied`, which `run_guarded` (writes) and
`run_guarded_read` (reads) turn into an audited `records:access:denied` entry
(written after the refused transaction rolled back) and the public error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from carewall.audit import Append, AuditEvent, Outcome, audited_read, deferred_read, record
from carewall.core.context import Caller
from carewall.core.errors import CarewallError, NotFoundError, PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.matrix import (
    BREAK_GLASS_ROLES,
    PATIENT_OPEN_TYPES,
    RESTRICTION_WRITERS,
    Action,
    allowed,
)
from carewall.records.errors import BreakGlassRequiredError
from carewall.records.events import bind_hooks
from carewall.records.models import BreakGlassGrant, RestrictedCompartment
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

T = TypeVar("T")


class Denied(Exception):  # noqa: N818 - internal signal, never escapes `run_guarded`
    """An access refusal waiting to be audited.

    A refusal of a restricted record knows the patient it protects (`patient`),
    or the version whose patient the audit entry should name (`row`): the entry
    is then filed under that patient, so the attempt shows in their access
    report and portal ("was refused access to").
    """

    def __init__(
        self,
        error: CarewallError,
        resource_type: str,
        target: str,
        reason: str,
        *,
        row: store.Version | None = None,
        patient: str | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error, self.resource_type, self.target, self.reason = (
            error,
            resource_type,
            target,
            reason,
        )
        self.row, self.patient = row, patient


def run_guarded(runtime: Runtime, actor: Caller, work: Callable[[Session], T]) -> T:
    """Run `work` in one writing transaction; audit and re-raise a refusal as its public
    error."""
    hooks = runtime.hooks

    def bound(session: Session) -> T:
        bind_hooks(session, hooks)
        return work(session)

    return _guarded(runtime, actor, runtime.db.transaction, bound)


def run_guarded_read(
    runtime: Runtime,
    actor: Caller,
    work: Callable[[Session], T],
    *,
    pending: list[Append] | None = None,
) -> T:
    """`run_guarded` for work that only reads (and audits what it read).

    `work` runs in a read transaction: on SQLite no write lock is held while
    rows are searched, checked and decrypted. The audit entries it records are
    appended right after, in one short writing transaction, and its result is
    returned only once they are committed (`audit.audited_read`). With
    `pending`, they are held there instead, for a caller that appends them in
    its own writing transaction before it releases anything read.
    """
    if pending is not None:
        return _guarded(runtime, actor, partial(deferred_read, runtime.db, pending), work)
    return _guarded(runtime, actor, partial(audited_read, runtime.db), work)


def _guarded(
    runtime: Runtime,
    actor: Caller,
    transaction: Callable[[], AbstractContextManager[Session]],
    work: Callable[[Session], T],
) -> T:
    try:
        with transaction() as session:
            return work(session)
    except Denied as denied:
        event = denied_event(RecordKeys.from_keystore(runtime.keys), actor, denied)
        with runtime.db.transaction() as session:
            record(session, event)
        raise denied.error from None


def denied_event(keys: RecordKeys, actor: Caller, denied: Denied) -> AuditEvent:
    """The `records:access:denied` entry of a refusal, filed under the patient it protects
    when there is one. Record it only after the refused work rolled back (`run_guarded`,
    or a batch Bundle's savepoint), so that nothing of the refused work commits with it."""
    patient = _refused_patient(keys, denied)
    part = patient_part(
        keys,
        [patient] if patient else [],
        otherwise=denied.target,
        sealed={"target": denied.target} if patient else None,
    )
    return AuditEvent.by(
        actor,
        RecordsTag.ACCESS_DENIED,
        part.subject,
        {
            "role": str(actor.role),
            "resource_type": denied.resource_type,
            "reason": denied.reason,
            **part.details,
        },
        Outcome.DENIED,
    )


def _refused_patient(keys: RecordKeys, denied: Denied) -> str | None:
    """The patient a refusal was about: a refused `Patient/{id}`, or the patient a
    restricted record belongs to (decrypted for the audit entry only)."""
    if denied.patient is not None:
        return denied.patient
    if denied.row is not None:
        return store.patient_of_stored(keys, denied.row)
    target = denied.target.removeprefix("Patient/")
    is_patient = denied.target.startswith("Patient/") and "/" not in target
    return target if is_patient else None


def may(actor: Caller, action: Action, resource_type: str) -> bool:
    """Whether `actor` may `action` resources of this type at all (the matrix by type
    alone; a system caller always may): `require_type`'s decision, without raising."""
    return actor.system or allowed(actor.role, action, resource_type)


def require_type(actor: Caller, action: Action, resource_type: str, target: str) -> None:
    """Matrix check by type alone (search, create)."""
    if may(actor, action, resource_type):
        return
    error = PermissionDeniedError(f"Your role may not {action} {resource_type} resources.")
    raise Denied(error, resource_type, target, "role")


def require_row(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    action: Action,
    resource_type: str,
    target: str,
    patient_ref: str | None,
    now: datetime,
    *,
    row: store.Version | None = None,
    patient: str | None = None,
    restricted: bool | None = None,
) -> None:
    """Full check for one stored resource: matrix, own compartment, restriction.

    `row` (the version checked) or `patient` (its Patient id, when known) let a
    refused restricted access be audited under that patient. `restricted` is the
    compartment's restriction when the caller read it with the row (False spares
    the query; None or True ask, True also for break-glass grants).
    """
    if actor.system:
        return
    if actor.reads_by_matrix:
        require_type(actor, action, resource_type, target)
        if _writes_through(actor, action):
            return
        if (
            patient_ref is not None
            and restricted is not False
            and not opens(session, actor, [patient_ref], now)
        ):
            error = _restricted_error(actor)
            seen = store.snapshot(row) if row is not None else None  # read after the rollback
            raise Denied(error, resource_type, target, "restricted", row=seen, patient=patient)
        return
    if action is Action.WRITE:
        # A write the role may never make is refused for what it is, whoever's record it
        # names: a 404 for another patient's resource beside a 403 for a new id told a
        # patient which ids exist in other records.
        require_type(actor, action, resource_type, target)
    own = keys.patient_ref(actor.patient_id) if actor.patient_id else None
    if patient_ref is None and resource_type in PATIENT_OPEN_TYPES:
        require_type(actor, action, resource_type, target)
        return
    if own is None or patient_ref != own:
        # Same answer as a missing resource: a patient learns nothing about others' ids.
        raise Denied(
            NotFoundError(f"{target} was not found."), resource_type, target, "compartment"
        )
    # In their own compartment a patient learns nothing new from a refusal: it says
    # what their role may not do (a write from the portal's app), not "not found".
    require_type(actor, action, resource_type, target)


def _writes_through(actor: Caller, action: Action) -> bool:
    """Whether this is a feed's write, which a restriction does not stop.

    Results for a restricted patient must still arrive from the interface
    engine; the restriction keeps the feed's reads out (`blocked`), and
    integration accounts cannot break the glass.
    """
    return action is Action.WRITE and actor.role in RESTRICTION_WRITERS


def readable(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    patient_refs: Iterable[str | None],
    now: datetime,
) -> set[str | None]:
    """The compartments among `patient_refs` (None: in no patient's) in which `actor` may
    read resources of `resource_type`: `require_row`'s decision for many versions at once,
    without raising (history leaves out what the caller may not see)."""
    refs = set(patient_refs)
    if actor.system:
        return refs
    if not allowed(actor.role, Action.READ, resource_type):
        return set()
    if actor.reads_by_matrix:
        hidden = blocked(session, actor, {r for r in refs if r is not None}, now)
        return {r for r in refs if r not in hidden}
    own = keys.patient_ref(actor.patient_id) if actor.patient_id else None
    return {
        r
        for r in refs
        if (r is None and resource_type in PATIENT_OPEN_TYPES) or (own is not None and r == own)
    }


def opens(session: Session, actor: Caller, patient_refs: Iterable[str], now: datetime) -> bool:
    """Whether staff `actor` may open every given compartment (restriction + grants)."""
    return not blocked(session, actor, set(patient_refs), now)


# Built once: every staff read asks whether the compartment is restricted. A read of one
# resource asks about one compartment: an expanding IN would be compiled again each time.
_RESTRICTED = select(RestrictedCompartment.patient_ref).where(
    RestrictedCompartment.patient_ref.in_(bindparam("refs", expanding=True))
)
_RESTRICTED_ONE = select(RestrictedCompartment.patient_ref).where(
    RestrictedCompartment.patient_ref == bindparam("ref")
)


def blocked(session: Session, actor: Caller, patient_refs: set[str], now: datetime) -> set[str]:
    """The compartments among `patient_refs` that are restricted and not opened by a grant."""
    if actor.system or not actor.reads_by_matrix or not patient_refs:
        # A restriction keeps staff and feeds out of reads; a patient is confined to
        # their own compartment by `require_row` and `_scope`, and always sees it.
        return set()
    # On the connection, not through the ORM: this runs on every staff read.
    connection = session.connection()
    if len(patient_refs) == 1:
        (ref,) = patient_refs
        found = connection.execute(_RESTRICTED_ONE, {"ref": ref})
    else:
        found = connection.execute(_RESTRICTED, {"refs": list(patient_refs)})
    restricted = set(found.scalars())
    if not restricted or actor.role not in BREAK_GLASS_ROLES:
        return restricted
    return restricted - active_grants(session, actor, restricted, now)


_ALL_RESTRICTED = select(RestrictedCompartment.patient_ref)


def hidden_compartments(session: Session, actor: Caller, now: datetime) -> frozenset[str]:
    """Every restricted compartment `actor` may not open: what a search leaves out, in
    the query itself (`blocked` over all restricted compartments)."""
    if actor.system:
        return frozenset()
    restricted = set(session.connection().execute(_ALL_RESTRICTED).scalars())
    return frozenset(blocked(session, actor, restricted, now))


def active_grants(
    session: Session, actor: Caller, patient_refs: set[str], now: datetime
) -> set[str]:
    """Compartments the actor holds a live (unexpired, unstopped) break-glass grant for,
    in the browser session it acts through (a token or another session holds none)."""
    if actor.channel is None:
        return set()
    return set(
        session.scalars(
            select(BreakGlassGrant.patient_ref).where(
                BreakGlassGrant.user_id == actor.ref,
                BreakGlassGrant.channel == actor.channel,
                BreakGlassGrant.patient_ref.in_(patient_refs),
                BreakGlassGrant.expires_at > now,
                BreakGlassGrant.ended_at.is_(None),
            )
        )
    )


def restricted(
    actor: Caller, resource_type: str, target: str, reason: str, row: store.Version
) -> Denied:
    """The refusal of a restricted version (403; to clinicians: break the glass), audited
    under its patient."""
    return Denied(_restricted_error(actor), resource_type, target, reason, row=store.snapshot(row))


def _restricted_error(actor: Caller) -> CarewallError:
    if actor.role in BREAK_GLASS_ROLES:
        return BreakGlassRequiredError(
            "This record is restricted: start emergency access (break-glass) to open it."
        )
    return PermissionDeniedError("This record is restricted.")
