"""Hook events the record vault fires, for higher layers that must act on the request path.

`records` may not import `alerts`, yet the mass-change detector must see every
update and delete as it happens, in the transaction that makes it, so that a
ransomware-like burst is stopped by the change that crosses the threshold.
`run_guarded` binds the runtime's hooks to its writing session; each update or
delete then fires one `RecordChanged` there (creates do not: new data destroys
nothing). A handler may write (its rows commit with the change) or raise a
`CarewallError` to refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from carewall.core.context import Caller
from carewall.core.hooks import Hooks
from carewall.records.tags import RecordsTag

_HOOKS = "carewall.records.hooks"
_ANNOUNCED = frozenset({RecordsTag.RESOURCE_UPDATED, RecordsTag.RESOURCE_DELETED})


@dataclass(frozen=True)
class RecordChanged:
    """One resource updated or deleted (`action`: `updated` or `deleted`).

    `actor` is the audit reference (`user:<id>`, `cli`), `channel` the session or
    token it came through (`session:<id>`, `token:<id>`; None for tooling).
    Ids only: no value of the record.
    """

    action: str
    resource_type: str
    resource_id: str
    actor: str
    role: str
    channel: str | None
    ip: str
    user_agent: str
    at: datetime


def bind_hooks(session: Session, hooks: Hooks) -> None:
    """Let changes made in `session` fire `hooks` (called by `guard.run_guarded`)."""
    session.info[_HOOKS] = hooks


def announce_change(
    session: Session,
    actor: Caller,
    tag: str,
    resource_type: str,
    resource_id: str,
    now: datetime,
) -> None:
    """Fire `RecordChanged` for an update or delete when anything listens."""
    hooks: Hooks | None = session.info.get(_HOOKS)
    if hooks is None or tag not in _ANNOUNCED or not hooks.has(RecordChanged):
        return
    action = "deleted" if tag == RecordsTag.RESOURCE_DELETED else "updated"
    event = RecordChanged(
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        actor=actor.ref,
        role=str(actor.role or ""),
        channel=actor.channel,
        ip=actor.origin.ip,
        user_agent=actor.origin.user_agent[:300],
        at=now,
    )
    hooks.fire(session, event)
