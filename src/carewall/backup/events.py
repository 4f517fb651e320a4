"""Hook events the backup domain fires, and its audit-entry helper.

`DrillCheck` lets a higher domain check its own data in a restored copy
without `backup` importing it: the records domain subscribes a handler that
decrypts a sample of records with the restored keys and appends its result.
`BackupAlertRaised` lets the composition root name the people to warn (the
security officers, whom `backup` cannot look up: identity is its sibling).
Both carry a list that handlers append to; the events themselves are frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from carewall.audit import DetailValue, Outcome, record_from
from carewall.backup.tags import BackupTag
from carewall.core.context import Caller
from carewall.core.runtime import Runtime


@dataclass(frozen=True)
class DrillCheckResult:
    """One domain's verdict on the restored copy (`detail` is PHI-free)."""

    name: str
    ok: bool
    checked: int
    detail: str = ""


@dataclass(frozen=True)
class DrillCheck:
    """Fired during a restore drill, in a session of the restored database.

    `restored` is a runtime opened on the restored copy with the master key
    from the backup; handlers read (never write) through it and append one
    `DrillCheckResult` each to `results`.
    """

    restored: Runtime
    sample: int
    results: list[DrillCheckResult] = field(default_factory=list)


@dataclass(frozen=True)
class BackupAlertRaised:
    """Fired in the transaction that opens a backup alert; handlers add recipients."""

    kind: str
    message: str
    recipients: list[str] = field(default_factory=list)


def audit(
    session: Session,
    tag: BackupTag,
    caller: Caller,
    *,
    subject: str = "backup",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Record a backup event for `caller` in `session`'s transaction."""
    record_from(
        session, tag, caller.origin, actor=caller.ref, subject=subject, outcome=outcome, **details
    )
