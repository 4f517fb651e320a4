"""Read side for pages: restriction and emergency-access state of one compartment.

Nothing here decrypts a record: these answers are about the access rules
(is a compartment restricted, does this user hold a live break-glass grant),
so the staff chart can show the right screen and banner before it asks
`access` for any data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records.models import BreakGlassGrant, FhirResource, RestrictedCompartment
from carewall.records.store.keys import RecordKeys


@dataclass(frozen=True)
class EmergencyAccess:
    """A live break-glass grant: what the banner shows and the stop button names."""

    grant_id: str
    expires_at: datetime


def is_restricted(runtime: Runtime, patient_id: str) -> bool:
    """Whether the patient's compartment is marked restricted."""
    ref = RecordKeys.from_keystore(runtime.keys).patient_ref(patient_id)
    with runtime.db.sessions() as session:
        return session.get(RestrictedCompartment, ref) is not None


def emergency_access(runtime: Runtime, actor: Caller, patient_id: str) -> EmergencyAccess | None:
    """The actor's live (unexpired, unstopped) grant for this patient in the browser session
    it acts through, latest expiry first (grants belong to one session)."""
    if actor.channel is None:
        return None
    ref = RecordKeys.from_keystore(runtime.keys).patient_ref(patient_id)
    query = (
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == actor.ref,
            BreakGlassGrant.channel == actor.channel,
            BreakGlassGrant.patient_ref == ref,
            BreakGlassGrant.expires_at > utcnow(),
            BreakGlassGrant.ended_at.is_(None),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )
    with runtime.db.sessions() as session:
        grant = session.scalars(query).first()
        return None if grant is None else EmergencyAccess(grant.id, grant.expires_at)


@dataclass(frozen=True)
class VaultFigures:
    """Evidence for the risk report: how much the vault holds and how break-glass is used."""

    patients: int
    resources: int
    break_glass_uses: int
    break_glass_open: int


def vault_figures(session: Session, since: datetime, now: datetime) -> VaultFigures:
    """Current (not deleted) Patient and all resources; break-glass grants since `since`.

    Counts rows only: nothing is decrypted.
    """
    current = (FhirResource.is_current.is_(True), FhirResource.deleted.is_(False))
    resources = session.scalar(select(func.count()).select_from(FhirResource).where(*current))
    patients = session.scalar(
        select(func.count())
        .select_from(FhirResource)
        .where(*current, FhirResource.resource_type == "Patient")
    )
    uses = session.scalar(
        select(func.count()).select_from(BreakGlassGrant).where(BreakGlassGrant.started_at >= since)
    )
    live = session.scalar(
        select(func.count())
        .select_from(BreakGlassGrant)
        .where(BreakGlassGrant.ended_at.is_(None), BreakGlassGrant.expires_at > now)
    )
    return VaultFigures(int(patients or 0), int(resources or 0), int(uses or 0), int(live or 0))
