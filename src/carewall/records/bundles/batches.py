"""FHIR `batch` Bundles: each entry succeeds or fails on its own, written a run at a time.

In a batch the entries are independent (FHIR http.html#brules): one that fails
changes nothing and leaves the others be. Giving each entry a database
transaction of its own did that, at the price of a transaction per entry: a
BEGIN (on SQLite the write lock), the audit chain's lock and head lookup, and a
commit (on PostgreSQL a flush of its log to disk). An interface engine posting
its directory (2,382 conditional creates) paid that 2,382 times.

Here consecutive writing entries share one writing transaction (a run), each
entry inside a savepoint of its own. An entry that fails (invalid, refused,
conflicting, matching several) is rolled back to its savepoint, so nothing it
did stays, its own audit entries included; a refusal is then audited in the
run's transaction with the entry `run_guarded` writes after its rollback
(`guard.denied_event`). Every entry runs the same work, is checked and audited
the same way, in the same order, as before. A run ends after `RUN_ENTRIES`
entries or `RUN_SECONDS`, whichever comes first, since it holds the write
lock (SQLite) and, from its first audit entry, the chain's lock (PostgreSQL);
and before a read entry (GET), which runs as before in a read transaction of
its own, after every earlier entry committed. Between runs, other writers get
their turn at SQLite's lock (`Database.let_writers_in`).

An update or a delete (PUT, DELETE) runs alone, as before: it locks the
resource's row before its audit entry takes the chain's lock, the order every
write keeps so that the two never deadlock. Inside a longer run it would wait
for that row while holding the chain's lock, taken by an earlier entry's audit,
against a write that holds the row and waits for the chain (PostgreSQL breaks
such a deadlock only after a second, with every audited request stalled
meanwhile). A create locks no row another transaction can hold: it inserts a
new id. If a run fails as a whole (the database, not an entry), the request
fails; the refusals it had recorded are audited again in a transaction of their
own, since they did happen.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, record
from carewall.core.context import Caller, Purpose
from carewall.core.runtime import Runtime
from carewall.records.access.guard import Denied, denied_event, run_guarded_read
from carewall.records.bundles.entries import BundleEntryError, BundleRequest, EntryRequest, Method
from carewall.records.bundles.identifier_locks import lock_identifiers
from carewall.records.bundles.work import (
    Context,
    EntryResult,
    SearchParser,
    at,
    conditional_match,
    entry_error,
    perform,
    with_references,
)
from carewall.records.errors import VersionConflictError
from carewall.records.events import bind_hooks
from carewall.records.store.compartments import fhir_base
from carewall.records.store.keys import RecordKeys
from carewall.records.store.validation import validate_resource

# A run commits after this many entries, or once it has run this long: the locks it
# holds keep other writers (and, on SQLite, audited reads) waiting meanwhile.
RUN_ENTRIES = 64
RUN_SECONDS = 0.05
# Entries that change a resource that exists run alone, in a transaction of their own
# (see the module's docstring).
_ALONE = frozenset({Method.PUT, Method.DELETE})

# A writing entry ready for its run: the resource to write (None for a DELETE).
_Waiting = tuple[EntryRequest, dict[str, Any] | None]


@dataclass(frozen=True)
class _Batch:
    """Who sends the batch, and what every entry's work needs besides its session."""

    runtime: Runtime
    keys: RecordKeys
    actor: Caller
    purpose: Purpose
    parse_search: SearchParser

    def context(self, session: Session) -> Context:
        return Context(session, self.keys, self.actor, self.purpose, self.parse_search)


def run_batch(
    runtime: Runtime,
    keys: RecordKeys,
    actor: Caller,
    bundle: BundleRequest,
    purpose: Purpose,
    parse_search: SearchParser,
) -> list[EntryResult]:
    """Every entry of a batch, in order; a failure is that entry's result, never raised."""
    batch = _Batch(runtime, keys, actor, purpose, parse_search)
    own = fhir_base(runtime.settings.public_url)
    limit = runtime.settings.max_attachment_bytes
    results = {index: EntryResult(error.status, error=error) for index, error in bundle.refused}
    waiting: list[_Waiting] = []
    for entry in bundle.entries:
        if entry.method is Method.GET:  # sees every earlier entry, committed
            results.update(_write(batch, waiting))
            waiting = []
            results[entry.index] = _read(batch, entry)
            continue
        try:  # checked before any transaction: no lock held while validating
            waiting.append((entry, _prepared(bundle, entry, own, limit)))
        except BundleEntryError as failed:
            results[entry.index] = EntryResult(failed.status, error=failed)
    results.update(_write(batch, waiting))
    return [results[index] for index in range(bundle.size)]


def _prepared(
    bundle: BundleRequest, entry: EntryRequest, own: str, max_attachment_bytes: int
) -> dict[str, Any] | None:
    """The entry's resource, validated, with its id and its references made canonical."""
    if entry.resource is None:
        return None
    limit = max_attachment_bytes
    at(entry, partial(validate_resource, entry.resource, max_attachment_bytes=limit))
    ids = {entry.index: entry.logical_id or str(uuid.uuid4())}
    return at(entry, partial(with_references, bundle, entry, ids, {}, own, None))


def _read(batch: _Batch, entry: EntryRequest) -> EntryResult:
    """A GET entry in a read transaction of its own: no write lock while it decrypts."""
    try:
        return run_guarded_read(
            batch.runtime,
            batch.actor,
            lambda session: at(entry, partial(perform, batch.context(session), entry, None)),
        )
    except BundleEntryError as failed:
        return EntryResult(failed.status, error=failed)


def _write(batch: _Batch, waiting: Sequence[_Waiting]) -> dict[int, EntryResult]:
    """The waiting entries, a run (one writing transaction) at a time."""
    results: dict[int, EntryResult] = {}
    while len(results) < len(waiting):
        if results:
            batch.runtime.db.let_writers_in()
        results.update(_run(batch, waiting[len(results) :]))
    return results


def _run(batch: _Batch, waiting: Sequence[_Waiting]) -> dict[int, EntryResult]:
    """The first entries of `waiting` in one writing transaction, until the run is full;
    returns their results (at least one)."""
    results: dict[int, EntryResult] = {}
    refusals: list[AuditEvent] = []
    runtime = batch.runtime
    try:
        with runtime.db.transaction() as session:
            bind_hooks(session, runtime.hooks)  # as `run_guarded` does
            lock_identifiers(session, _creates_ahead(waiting))
            ctx = batch.context(session)
            started = time.monotonic()
            for entry, body in waiting:
                alone = entry.method in _ALONE
                if alone and results:
                    break  # it starts the next run
                results[entry.index] = _in_savepoint(ctx, entry, body, refusals)
                if (
                    alone
                    or len(results) >= RUN_ENTRIES
                    or time.monotonic() - started >= RUN_SECONDS
                ):
                    break
    except IntegrityError as exc:  # at commit: a clash with a concurrent writer
        _audit_again(runtime, refusals)
        raise VersionConflictError("The Bundle clashed with a concurrent change; retry.") from exc
    except Exception:
        _audit_again(runtime, refusals)
        raise
    return results


def _creates_ahead(waiting: Sequence[_Waiting]) -> list[EntryRequest]:
    """The creates this run may reach: up to `RUN_ENTRIES`, none if it starts with an
    update or a delete (which runs alone, locking its row first). Their identifiers are
    locked before any row or the audit chain (`identifier_locks`); a run that ends
    sooner holds a few locks it did not need until it commits."""
    ahead: list[EntryRequest] = []
    for entry, _ in waiting[:RUN_ENTRIES]:
        if entry.method in _ALONE:
            break
        ahead.append(entry)
    return ahead


def _in_savepoint(
    ctx: Context, entry: EntryRequest, body: dict[str, Any] | None, refusals: list[AuditEvent]
) -> EntryResult:
    """One writing entry; whatever fails is rolled back to the savepoint and returned."""
    try:
        with ctx.session.begin_nested():
            if entry.if_none_exist is not None:
                match = at(entry, partial(conditional_match, ctx, entry))
                if match is not None:
                    return match
            return at(entry, partial(perform, ctx, entry, body))
    except Denied as denied:  # rolled back: now audited, as `run_guarded` audits it
        event = denied_event(ctx.keys, ctx.actor, denied)
        refusals.append(event)  # first: audited again if its own append fails the run
        record(ctx.session, event)
        failed = entry_error(entry, denied.error)
        return EntryResult(failed.status, error=failed)
    except BundleEntryError as failed:
        return EntryResult(failed.status, error=failed)


def _audit_again(runtime: Runtime, refusals: Sequence[AuditEvent]) -> None:
    """Refusals recorded in a run that then failed: audited in a transaction of their own."""
    if not refusals:
        return
    with runtime.db.transaction() as session:
        for event in refusals:
            record(session, event)
