"""Read side of the audit trail (entries are shown from their hashed bodies)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from carewall.audit.events import parse_body
from carewall.audit.models import AuditCheckpoint, AuditEntry, AuditEntrySubject
from carewall.audit.tags import AuditTag


@dataclass(frozen=True)
class AuditEntryView:
    """An entry as shown to auditors."""

    seq: int
    ts: datetime
    actor: str
    action: str
    outcome: str
    subject: str
    source_ip: str
    user_agent: str
    details: dict[str, object]


def recent_entries(session: Session, limit: int = 50) -> list[AuditEntryView]:
    """The newest entries first."""
    return _views(session, _shown().order_by(AuditEntry.seq.desc()).limit(limit))


def entries_about(
    session: Session, subject: str | Collection[str], actions: Collection[str], limit: int = 20
) -> list[AuditEntryView]:
    """The newest entries about this subject (or any of several) with one of these actions.

    An entry is about a subject when that is its `subject` column, or when it was
    indexed under it (`audit.about.record_about`: a search that returned several
    patients). Several subjects name one thing in different forms (records'
    keyed patient references and the older `Patient/{id}`). Two indexed
    queries, merged newest first.
    """
    wanted = list(actions)
    subjects = [subject] if isinstance(subject, str) else list(subject)
    direct = (
        _shown()
        .where(AuditEntry.subject.in_(subjects), AuditEntry.action.in_(wanted))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    indexed = (
        _shown()
        .join(AuditEntrySubject, AuditEntrySubject.seq == AuditEntry.seq)
        .where(AuditEntrySubject.subject.in_(subjects), AuditEntry.action.in_(wanted))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    rows = {row.seq: row for query in (direct, indexed) for row in session.execute(query)}
    return [_view(rows[seq]) for seq in sorted(rows, reverse=True)[:limit]]


def entries_with_action(
    session: Session, actions: Collection[str], *, since_seq: int = 0, limit: int = 200
) -> list[AuditEntryView]:
    """The newest entries with one of these actions (and a seq of at least `since_seq`)."""
    query = (
        _shown()
        .where(AuditEntry.action.in_(list(actions)), AuditEntry.seq >= since_seq)
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return _views(session, query)


def entries_by_actor(
    session: Session,
    actor: str,
    actions: Collection[str],
    *,
    since: datetime,
    until: datetime,
    limit: int = 50,
) -> list[AuditEntryView]:
    """An actor's entries with one of these actions between two times, newest first."""
    query = (
        _shown()
        .where(
            AuditEntry.actor == actor,
            AuditEntry.action.in_(list(actions)),
            AuditEntry.ts >= since,
            AuditEntry.ts <= until,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return _views(session, query)


def entries_after(session: Session, seq: int, limit: int = 1000) -> list[AuditEntryView]:
    """Entries after position `seq`, oldest first (for readers that follow the trail)."""
    return _views(
        session, _shown().where(AuditEntry.seq > seq).order_by(AuditEntry.seq).limit(limit)
    )


def entries_between(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    actor: str | None = None,
    limit: int = 500,
) -> list[AuditEntryView]:
    """Entries between two times (of one actor, if given), oldest first."""
    query = _shown().where(AuditEntry.ts >= since, AuditEntry.ts <= until)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    return _views(session, query.order_by(AuditEntry.seq).limit(limit))


def entry_at(session: Session, seq: int) -> AuditEntryView | None:
    """The entry with this sequence number, if there is one."""
    row = session.get(AuditEntry, seq)
    return None if row is None else _view(row)


def _shown() -> Select[int, datetime, bytes]:
    """The columns an entry is shown from (`_view`), selected as plain rows.

    Not ORM entities: their identity map and instance state cost twice what the rest
    of showing an entry does (25-35 against 11-13 us an entry), and the detectors
    read every entry the chain gets, one per audited read.
    """
    return select(AuditEntry.seq, AuditEntry.ts, AuditEntry.body)


def _views(session: Session, query: Select[int, datetime, bytes]) -> list[AuditEntryView]:
    return [_view(row) for row in session.execute(query)]


class _Shown(Protocol):
    """What an entry is shown from: a `_shown` row or a whole `AuditEntry`."""

    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def body(self) -> bytes: ...


def _view(row: _Shown) -> AuditEntryView:
    """An entry as read from its hashed body (the indexed columns only find it)."""
    body = parse_body(row.body)
    return AuditEntryView(
        seq=row.seq,
        ts=row.ts,
        actor=str(body.get("actor", "")),
        action=str(body.get("action", "")),
        outcome=str(body.get("outcome", "")),
        subject=str(body.get("subject", "")),
        source_ip=str(body.get("ip", "")),
        user_agent=str(body.get("ua", "")),
        details=dict(body.get("details") or {}),
    )


def entry_count(session: Session) -> int:
    """How many entries the chain holds."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def last_verification(session: Session) -> AuditEntryView | None:
    """The newest record of a chain verification (`audit:chain:verified` or `...:broken`)."""
    found = entries_with_action(session, (AuditTag.CHAIN_VERIFIED, AuditTag.CHAIN_BROKEN), limit=1)
    return found[0] if found else None


@dataclass(frozen=True)
class CheckpointView:
    """A signed checkpoint as pages and the risk report show it (as stored; `carewall
    audit verify` checks its signature)."""

    seq: int
    head_hash: str
    entries: int
    created: datetime
    key_fingerprint: str


def latest_checkpoint(session: Session) -> CheckpointView | None:
    """The newest signed checkpoint, if one was made."""
    row = session.scalars(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.created.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return CheckpointView(
        seq=row.seq,
        head_hash=row.head_hash.hex(),
        entries=row.entries,
        created=row.created,
        key_fingerprint=row.key_fingerprint,
    )


# --- The audit viewer (`/admin/audit`): filter, page by seq, open one entry, export. ---


@dataclass(frozen=True)
class AuditFilter:
    """What the viewer narrows the trail to; empty fields do not filter.

    `action` is one tag (`records:resource:read`) or a prefix ending with `:`
    (`records:`, `identity:login:`); `subjects` are the forms under which one
    thing is filed (a patient's keyed reference and its older `Patient/{id}`),
    matched directly or through the entry's further subjects. `since` is
    inclusive and `until` exclusive.
    """

    actor: str = ""
    action: str = ""
    outcome: str = ""
    subjects: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first; `next_before` continues below (None: the last)."""

    entries: list[AuditEntryView]
    next_before: int | None


@dataclass(frozen=True)
class ChainLink:
    """One entry with its place in the chain: its hash and its predecessor's."""

    entry: AuditEntryView
    entry_hash: str
    previous_hash: str | None
    body: str


def _filtered(flt: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action.endswith(":"):
        query = query.where(AuditEntry.action.startswith(flt.action, autoescape=True))
    elif flt.action:
        query = query.where(AuditEntry.action == flt.action)
    if flt.outcome:
        query = query.where(AuditEntry.outcome == flt.outcome)
    if flt.since is not None:
        query = query.where(AuditEntry.ts >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.ts < flt.until)
    if flt.subjects:
        subjects = list(flt.subjects)
        indexed = select(AuditEntrySubject.seq).where(AuditEntrySubject.subject.in_(subjects))
        query = query.where(or_(AuditEntry.subject.in_(subjects), AuditEntry.seq.in_(indexed)))
    return query


def filtered_page(
    session: Session, flt: AuditFilter, *, before: int | None = None, limit: int = 50
) -> AuditPage:
    """The newest `limit` entries matching `flt` below seq `before` (keyset paging on seq:
    a page costs the same at the end of a long trail as at its start)."""
    query = _filtered(flt)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    rows = list(session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
    shown = rows[:limit]
    following = shown[-1].seq if len(rows) > limit else None
    return AuditPage([_view(row) for row in shown], following)


def filtered_count(session: Session, flt: AuditFilter) -> int:
    """How many entries match `flt`."""
    matching = _filtered(flt).with_only_columns(AuditEntry.seq).subquery()
    return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def filtered_bodies(
    session: Session, flt: AuditFilter, *, batch: int = 1_000
) -> Iterator[tuple[int, bytes, bytes]]:
    """Every matching entry as (seq, hashed body, entry hash), oldest first, read in batches
    of `batch` by seq (for exports of any size)."""
    after = 0
    while True:
        query = _filtered(flt).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        rows = list(session.scalars(query))
        for row in rows:
            yield row.seq, row.body, row.entry_hash
        if len(rows) < batch:
            return
        after = rows[-1].seq


def chain_link(session: Session, seq: int) -> ChainLink | None:
    """One entry with its hash and its predecessor's (None when there is no such entry)."""
    row = session.get(AuditEntry, seq)
    if row is None:
        return None
    previous = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq - 1))
    return ChainLink(
        entry=_view(row),
        entry_hash=row.entry_hash.hex(),
        previous_hash=previous.hex() if previous is not None else None,
        body=row.body.decode("utf-8", errors="replace"),
    )


def actions_in_use(session: Session) -> list[str]:
    """Every action the trail holds (the viewer's choice of tags), sorted."""
    return sorted(_in_use(session).actions)


def actors_in_use(session: Session) -> list[str]:
    """Every actor the trail holds (users, `cli`, `system`, jobs), sorted."""
    return sorted(_in_use(session).actors)


@dataclass
class _InUse:
    """The actions and actors of a trail up to entry `seq`, whose hash was `entry_hash`."""

    seq: int = 0
    entry_hash: bytes = b""
    actions: set[str] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)


# The viewer's dropdowns would scan the whole trail on every view (a DISTINCT over
# every entry); the trail only grows, so each process remembers what it has seen
# per database and reads only the entries appended since. The remembered entry's
# hash is checked first: a restored or replaced database starts the scan over.
_IN_USE: dict[str, _InUse] = {}
_IN_USE_LOCK = threading.Lock()


def _in_use(session: Session) -> _InUse:
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    with _IN_USE_LOCK:
        seen = _IN_USE.get(key, _InUse())
        if (
            seen.seq
            and session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seen.seq))
            != seen.entry_hash
        ):
            seen = _InUse()
        head = session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        if head is not None and head.seq > seen.seq:
            newer = (AuditEntry.seq > seen.seq, AuditEntry.seq <= head.seq)
            actions = session.scalars(select(AuditEntry.action).where(*newer).distinct())
            actors = session.scalars(select(AuditEntry.actor).where(*newer).distinct())
            seen = _InUse(
                head.seq, head.entry_hash, seen.actions | set(actions), seen.actors | set(actors)
            )
        _IN_USE[key] = seen
        return seen
