"""One helper so every simulation audit entry carries actor, subject and origin alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carewall.audit import DetailValue, Outcome, record_from
from carewall.core.context import Origin
from carewall.phishing.simulation.tags import SimulationTag


def audit(
    session: Session,
    tag: SimulationTag,
    origin: Origin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append a simulation event in the caller's transaction (ids and counts, never input)."""
    record_from(session, tag, origin, actor=actor, subject=subject, outcome=outcome, **details)
