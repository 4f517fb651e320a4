"""One helper so every identity audit entry carries actor, subject and origin alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carewall.audit import DetailValue, Outcome, record_from
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.identity.tags import IdentityTag


def audit(
    session: Session,
    tag: IdentityTag,
    origin: Origin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append an identity event in the caller's transaction."""
    record_from(session, tag, origin, actor=actor, subject=subject, outcome=outcome, **details)


def audit_by(
    session: Session,
    tag: IdentityTag,
    caller: Caller,
    *,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append an identity event done by `caller` (an administrator, the CLI, the user)."""
    audit(
        session, tag, caller.origin, actor=caller.ref, subject=subject, outcome=outcome, **details
    )


def record_refusal(
    runtime: Runtime,
    tag: IdentityTag,
    origin: Origin,
    *,
    actor: str,
    subject: str,
    **details: DetailValue,
) -> None:
    """Audit a refused request in its own transaction (nothing else is being written)."""
    with runtime.db.transaction() as session:
        audit(session, tag, origin, actor=actor, subject=subject, outcome=Outcome.DENIED, **details)
