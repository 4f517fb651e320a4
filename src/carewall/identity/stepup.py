"""Forms that wait for a step-up: a sensitive change is kept, not dropped, while the
person confirms it is them.

When a form needs a fresh second factor the web layer hands the fields the
route declares (never passwords or codes) to `defer`; after the step-up the
browser collects them once with `take` and submits the form again. A pending
form is bound to its session (the row is deleted with the session), sealed with
a data key (it may hold an email address or a break-glass reason), valid for
`PENDING_TTL` and single-use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Origin, user_ref
from carewall.core.crypto import decrypt, encrypt
from carewall.core.db import new_id
from carewall.core.runtime import Runtime
from carewall.identity.events import audit
from carewall.identity.models import PendingStepUp
from carewall.identity.sessions import ActiveSession
from carewall.identity.tags import IdentityTag as Tag

PENDING_KEY = "step-up-pending"
PENDING_TTL = timedelta(minutes=10)
# A person has one or two forms waiting at most; a script posting in a loop stays bounded.
MAX_PER_SESSION = 5
MAX_FIELDS_BYTES = 64 * 1024

Field = tuple[str, str]
Gone = Literal["expired", "missing"]


@dataclass(frozen=True)
class PendingForm:
    """A form to submit again: where, what it does (for the page) and its fields."""

    path: str
    label: str
    fields: tuple[Field, ...]


def defer(
    runtime: Runtime,
    active: ActiveSession,
    path: str,
    label: str,
    fields: list[Field],
    origin: Origin,
) -> str | None:
    """Keep a form until the step-up is done; returns its id, or None when it is too big
    to keep (the person is then asked to fill it in again)."""
    body = json.dumps(fields).encode()
    if len(body) > MAX_FIELDS_BYTES or not path.startswith("/") or path.startswith("//"):
        return None
    key, now, pending_id = runtime.keys.data_key(PENDING_KEY), utcnow(), new_id()
    session_id = active.session.id
    with runtime.db.transaction() as session:
        session.execute(delete(PendingStepUp).where(PendingStepUp.expires_at <= now))
        _keep_newest(session, session_id, MAX_PER_SESSION - 1)
        session.add(
            PendingStepUp(
                id=pending_id,
                session_id=session_id,
                path=path[:300],
                label=label[:120],
                fields_sealed=encrypt(key, body, _aad(pending_id, session_id)),
                created_at=now,
                expires_at=now + PENDING_TTL,
            )
        )
        ref = user_ref(active.user.id)
        audit(session, Tag.STEP_UP_DEFERRED, origin, actor=ref, subject=ref, deferred=label[:120])
    return pending_id


def take(runtime: Runtime, active: ActiveSession, pending_id: str) -> PendingForm | Gone:
    """The pending form, once, for the session that made it ("missing" for any other)."""
    key, now = runtime.keys.data_key(PENDING_KEY), utcnow()
    with runtime.db.transaction() as session:
        row = session.scalar(
            select(PendingStepUp).where(
                PendingStepUp.id == pending_id[:36],
                PendingStepUp.session_id == active.session.id,
            )
        )
        if row is None:
            return "missing"
        session.delete(row)
        if row.expires_at <= now:
            return "expired"
        plain = decrypt(key, row.fields_sealed, _aad(row.id, row.session_id))
    fields = tuple((str(name), str(value)) for name, value in json.loads(plain))
    return PendingForm(row.path, row.label, fields)


def _keep_newest(session: Session, session_id: str, keep: int) -> None:
    """Drop all but the `keep` newest pending forms of one session."""
    older = session.scalars(
        select(PendingStepUp.id)
        .where(PendingStepUp.session_id == session_id)
        .order_by(PendingStepUp.created_at.desc())
        .offset(keep)
    ).all()
    if older:
        session.execute(delete(PendingStepUp).where(PendingStepUp.id.in_(older)))


def _aad(pending_id: str, session_id: str) -> bytes:
    return f"step-up-pending/{pending_id}/{session_id}".encode()
