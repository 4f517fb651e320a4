"""FHIR `transaction` and `batch` Bundles: many interactions in one request.

Each entry is authorised and audited exactly as the single interaction would
be, because it runs the same work functions (`services.write_in`,
`services.delete_in`, `access.read_in`, `access.search_in`) inside a session
this module provides:

- a transaction runs every entry in one database transaction, in FHIR's order
  (DELETE, POST, PUT, GET). The first failure rolls everything back, the
  per-entry audit entries included; a refusal is then audited as
  `records:access:denied` by `guard.run_guarded`, and the whole request fails
  with the entry's status and an issue naming it (`Bundle.entry[3]`).
  `urn:uuid:` fullUrls of created resources get server ids, and every reference
  to them inside the Bundle is rewritten before anything is written. Its
  deletes and writes are checked and sealed first, in a read transaction
  (`bundle_plan`), so that the writing transaction holds the write lock only
  to write; if what the plan read changed meanwhile, the work is done again
  inside the writing transaction;
- a batch runs each entry on its own, in order (`batches`: a savepoint each,
  in runs of a shared transaction); a failure becomes that entry's status and
  OperationOutcome, and the others still happen.

The work of one entry, shared by both, is in `work`.

Before any of it, a Bundle that could read or write more resources than
`CAREWALL_FHIR_BUNDLE_BUDGET` is refused. One `records:bundle:processed` entry
sums up the Bundle (counts, types, patient ids, never values).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from carewall.audit import Append, AuditEvent, DetailValue, Outcome, append_deferred, record
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Purpose
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import run_guarded_read
from carewall.records.access.reads import search_work
from carewall.records.bundles.batches import run_batch
from carewall.records.bundles.conditional import ConditionalReferences
from carewall.records.bundles.entries import (
    BundleEntryError,
    BundleRequest,
    EntryRequest,
    Method,
    invalid,
)
from carewall.records.bundles.identifier_locks import lock_identifiers
from carewall.records.bundles.plan import (
    PlannedDelete,
    PlannedWrite,
    Target,
    apply,
    existing_rows,
    plan_delete,
    plan_write,
    unchanged,
)
from carewall.records.bundles.work import (
    Context,
    EntryResult,
    SearchParser,
    at,
    conditional_match,
    guarded,
    perform,
    with_references,
    written,
)
from carewall.records.errors import RecordValidationError
from carewall.records.models import FhirResource
from carewall.records.store.compartments import fhir_base
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import find_rows
from carewall.records.store.validation import validate_resource
from carewall.records.tags import RecordsTag

__all__ = ["BundleResult", "EntryResult", "process_bundle"]

_MAX_LISTED_PATIENTS = 20


@dataclass(frozen=True)
class BundleResult:
    """The answer to a Bundle: one result per entry, in the request's order, beside the
    entry as asked (None for a batch entry refused as sent)."""

    kind: str
    entries: tuple[EntryRequest | None, ...]
    results: tuple[EntryResult, ...]


def process_bundle(
    runtime: Runtime,
    actor: Caller,
    bundle: BundleRequest,
    purpose: Purpose,
    parse_search: SearchParser,
) -> BundleResult:
    """Run a checked Bundle (see `bundle_entries.read_bundle`) for `actor`.

    A Bundle over the work budget raises `InvalidBundleError` (400, too-costly)
    before any work. A failed transaction raises `BundleEntryError` (nothing
    was written); a batch always returns, with failures in the entries' results.
    """
    _within_budget(bundle, parse_search, runtime.settings.fhir_bundle_budget)
    keys = RecordKeys.from_keystore(runtime.keys)  # outside any transaction (SQLite)
    if bundle.kind == "transaction":
        results = _transaction(runtime, keys, actor, bundle, purpose, parse_search)
    else:
        results = run_batch(runtime, keys, actor, bundle, purpose, parse_search)
        with runtime.db.transaction() as session:
            _audit_processed(session, keys, actor, bundle, results)
    asked: dict[int, EntryRequest] = {entry.index: entry for entry in bundle.entries}
    entries = tuple(asked.get(index) for index in range(bundle.size))
    return BundleResult(bundle.kind, entries, tuple(results))


def _within_budget(bundle: BundleRequest, parse_search: SearchParser, budget: int) -> None:
    """Refuse, before any work, a Bundle that could read or write more than `budget`
    resources: a search entry counts its page size (`_count`, clamped), plus the
    include limit when it includes and the date-sort limit when it sorts by date,
    a conditional create two (its search and its write), every other entry one."""
    work = sum(_work_of(entry, parse_search) for entry in bundle.entries)
    if work > budget:
        problem = (
            f"this Bundle could read or write up to {work} resources, more than the "
            f"{budget} one Bundle may; send fewer entries or smaller _count values"
        )
        raise invalid("Bundle.entry", problem, "too-costly")


def _work_of(entry: EntryRequest, parse_search: SearchParser) -> int:
    if entry.method is Method.GET and entry.query is not None:
        try:
            page = parse_search(entry.resource_type, entry.query)
            return max(1, page.count) + search_work(page.params, entry.resource_type)
        except CarewallError:
            return 1  # a bad query fails as its entry, when the entry runs
    return 2 if entry.if_none_exist is not None else 1


# --- transaction -----------------------------------------------------------------------


def _transaction(
    runtime: Runtime,
    keys: RecordKeys,
    actor: Caller,
    bundle: BundleRequest,
    purpose: Purpose,
    parse_search: SearchParser,
) -> list[EntryResult]:
    def in_lock(session: Session) -> list[EntryResult]:
        """Every step inside the writing transaction (when the plan went stale)."""
        ctx = Context(session, keys, actor, purpose, parse_search)
        done: dict[int, EntryResult] = {}
        for entry in bundle.of(Method.DELETE):
            done[entry.index] = at(entry, partial(perform, ctx, entry, None))
        # Conditional creates that find their resource are done: they neither write nor
        # get a new id, and references to their fullUrl point at what they found.
        for entry in bundle.of(Method.POST):
            if entry.if_none_exist is not None:
                match = at(entry, partial(conditional_match, ctx, entry))
                if match is not None:
                    done[entry.index] = match
        resources = _resolved(bundle, done, fhir_base(runtime.settings.public_url), ctx)
        for entry in bundle.in_processing_order():
            if entry.index not in done:
                body = resources.get(entry.index)
                done[entry.index] = at(entry, partial(perform, ctx, entry, body))
        results = [done[index] for index in range(len(bundle.entries))]
        _audit_processed(session, keys, actor, bundle, results)
        return results

    def carry_out(plan: _Plan, session: Session) -> list[EntryResult]:
        """The planned writes, if nothing they relied on changed; then the reads."""
        if not _still_valid(session, keys, bundle, plan):
            return in_lock(session)
        append_deferred(session, plan.pending)
        apply(session, keys, actor, list(plan.deletes.values()), list(plan.writes.values()))
        done = {**plan.matched, **_planned_results(plan)}
        ctx = Context(session, keys, actor, purpose, parse_search)
        for entry in bundle.of(Method.GET):
            done[entry.index] = at(entry, partial(perform, ctx, entry, None))
        results = [done[index] for index in range(len(bundle.entries))]
        _audit_processed(session, keys, actor, bundle, results)
        return results

    try:
        # Before the writing transaction: no write lock held while validating, checking
        # and sealing (`bundle_plan`).
        _validate_all(bundle.entries, runtime.settings.max_attachment_bytes)
        plan = _plan(runtime, keys, actor, bundle, purpose, parse_search)
        return guarded(runtime, actor, partial(carry_out, plan))
    except BundleEntryError as failed:
        _audit_failed(runtime, actor, bundle, failed)
        raise


@dataclass(frozen=True)
class _Plan:
    """A transaction's writes, checked and sealed in a read transaction (`bundle_plan`).

    `matched` holds the results decided without a write: conditional creates
    that found their resource, deletes of resources deleted already. `seen` is
    what the plan relied on (the current row of every resource it
    updates or deletes, None for none), `matches` the rows each conditional
    create's search found; `pending` holds the audit entries of its searches,
    appended in the writing transaction.
    """

    matched: dict[int, EntryResult]
    deletes: dict[int, PlannedDelete]
    writes: dict[int, PlannedWrite]
    seen: dict[Target, str | None]
    matches: dict[int, frozenset[str]]
    pending: list[Append]


def _plan(
    runtime: Runtime,
    keys: RecordKeys,
    actor: Caller,
    bundle: BundleRequest,
    purpose: Purpose,
    parse_search: SearchParser,
) -> _Plan:
    """Check every write and delete and seal every new version, in FHIR's order, without
    the write lock; refusals are audited and raised as in the writing transaction."""
    pending: list[Append] = []

    def work(session: Session) -> _Plan:
        ctx, now = Context(session, keys, actor, purpose, parse_search), utcnow()
        seen: dict[Target, str | None] = {}
        deletes: dict[int, PlannedDelete] = {}
        matched: dict[int, EntryResult] = {}
        for entry in bundle.of(Method.DELETE):
            target = (entry.resource_type, str(entry.logical_id))
            current = store.current_row(session, *target)
            seen[target] = current.id if current else None
            planned = at(entry, partial(plan_delete, session, keys, actor, target, current, now))
            if planned is not None:
                deletes[entry.index] = planned
            elif current is not None:  # deleted already: its tombstone stays current
                matched[entry.index] = _deleted_already(current)
        matches: dict[int, frozenset[str]] = {}
        for entry in bundle.of(Method.POST):
            if entry.if_none_exist is not None:
                matches[entry.index] = _raw_matches(session, keys, entry)
                match = at(entry, partial(conditional_match, ctx, entry))
                if match is not None:
                    matched[entry.index] = match
        resources = _resolved(bundle, matched, fhir_base(runtime.settings.public_url), ctx)
        targets = [(entry.resource_type, str(entry.logical_id)) for entry in bundle.of(Method.PUT)]
        existing = existing_rows(session, targets)
        seen.update({t: existing[t].id if t in existing else None for t in targets})
        writes: dict[int, PlannedWrite] = {}
        for entry in bundle.in_processing_order():
            if entry.method in {Method.POST, Method.PUT} and entry.index not in matched:
                body = resources[entry.index]
                current = existing.get((entry.resource_type, str(body.get("id"))))
                writes[entry.index] = at(
                    entry,
                    partial(plan_write, session, keys, actor, body, current, now, entry.if_match),
                )
        return _Plan(matched, deletes, writes, seen, matches, pending)

    return run_guarded_read(runtime, actor, work, pending=pending)


def _deleted_already(tombstone: FhirResource) -> EntryResult:
    """A delete with no effect: answered with the tombstone's version, as `delete_in` is."""
    meta = {
        "resourceType": tombstone.resource_type,
        "id": tombstone.logical_id,
        "versionId": tombstone.version_id,
        "lastUpdated": tombstone.last_updated,
    }
    return written(204, meta, (), location=False)


def _raw_matches(session: Session, keys: RecordKeys, entry: EntryRequest) -> frozenset[str]:
    """The rows a conditional create's identifier finds, whoever may see them (no decryption)."""
    params = {"identifier": [value for _, value in entry.if_none_exist or ()]}
    rows = find_rows(session, keys, entry.resource_type, params, limit=2)
    return frozenset(row.id for row in rows)


def _still_valid(session: Session, keys: RecordKeys, bundle: BundleRequest, plan: _Plan) -> bool:
    """Whether the resources the plan read are as it read them (in the writing transaction).

    It locks the rows the plan changes, then the identifiers its conditional creates
    search (`identifier_locks`), whatever it answers: the work done again when the plan
    went stale needs both too, and before any audit entry takes the chain's lock."""
    rows_unchanged = unchanged(session, plan.seen)
    lock_identifiers(session, bundle.of(Method.POST))
    if not rows_unchanged:
        return False
    return all(
        _raw_matches(session, keys, entry) == plan.matches[entry.index]
        for entry in bundle.of(Method.POST)
        if entry.index in plan.matches
    )


def _planned_results(plan: _Plan) -> dict[int, EntryResult]:
    results: dict[int, EntryResult] = {}
    for index, deleted in plan.deletes.items():
        resource_type, logical_id = deleted.target
        touched = (logical_id,) if resource_type == "Patient" else ()
        results[index] = written(204, deleted.meta, touched, location=False)
    for index, planned in plan.writes.items():
        patients = (planned.patient_id,) if planned.patient_id else ()
        results[index] = written(201 if planned.meta["created"] else 200, planned.meta, patients)
    return results


def _validate_all(entries: Sequence[EntryRequest], max_attachment_bytes: int) -> None:
    """Every resource against its R4 model; all invalid entries are named at once."""
    failures = [
        (entry, error)
        for entry in entries
        if entry.resource is not None
        and (error := _invalid(entry.resource, max_attachment_bytes)) is not None
    ]
    if not failures:
        return
    first, error = failures[0]
    if len(failures) > 1:
        issues = [i for entry, e in failures for i in BundleEntryError(entry, e).issues]
        error = RecordValidationError(f"{len(failures)} entries are invalid", issues)
    raise BundleEntryError(first, error)


def _invalid(resource: dict[str, Any], max_attachment_bytes: int) -> RecordValidationError | None:
    try:
        validate_resource(resource, max_attachment_bytes=max_attachment_bytes)
    except RecordValidationError as exc:
        return exc
    return None


def _resolved(
    bundle: BundleRequest, done: Mapping[int, EntryResult], own: str, ctx: Context
) -> dict[int, dict[str, Any]]:
    """The resources to write, with their final ids and every in-Bundle reference resolved.

    POSTed resources get new ids; a reference to any entry's fullUrl (typically
    `urn:uuid:`) becomes that entry's `Type/id`; a conditional reference
    (`Location?identifier=...`) the one resource it matches, in the Bundle or
    in the store (`bundles.conditional`); references to this server (FHIR base
    `own`) become canonical.
    """
    ids: dict[int, str] = {}
    for entry in bundle.entries:
        if entry.index in done and entry.method is Method.POST:
            ids[entry.index] = str(done[entry.index].logical_id)
        elif entry.method is Method.POST:
            ids[entry.index] = str(uuid.uuid4())
        elif entry.method is Method.PUT and entry.logical_id is not None:
            ids[entry.index] = entry.logical_id
    full_urls = {
        entry.full_url: f"{entry.resource_type}/{ids[entry.index]}"
        for entry in bundle.entries
        if entry.full_url is not None and entry.index in ids
    }
    conditional = ConditionalReferences(
        ctx.session,
        ctx.keys,
        ctx.actor,
        ctx.purpose,
        [(ids[e.index], e.resource) for e in bundle.entries if e.resource and e.index in ids],
    )
    return {
        entry.index: at(
            entry, partial(with_references, bundle, entry, ids, full_urls, own, conditional)
        )
        for entry in bundle.entries
        if entry.resource is not None and entry.index not in done
    }


# --- audit -----------------------------------------------------------------------------


def _summary(bundle: BundleRequest) -> dict[str, DetailValue]:
    """Counts by method and the resource types asked for: no ids, no values."""
    methods = Counter(entry.method for entry in bundle.entries)
    details: dict[str, DetailValue] = {"bundle_type": bundle.kind, "entries": bundle.size}
    details["refused_as_sent"] = len(bundle.refused)
    details.update({str(method).lower(): methods[method] for method in Method})
    details["resource_types"] = sorted({entry.resource_type for entry in bundle.entries})
    return details


def _audit_processed(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    bundle: BundleRequest,
    results: Sequence[EntryResult],
) -> None:
    patients = sorted({pid for result in results for pid in result.patients})
    details = _summary(bundle)
    details["failed"] = sum(result.error is not None for result in results)
    details["patients"] = len(patients)
    listed = patients if len(patients) <= _MAX_LISTED_PATIENTS else []
    part = patient_part(keys, listed, otherwise="records")
    details.update(part.details)
    event = AuditEvent.by(actor, RecordsTag.BUNDLE_PROCESSED, part.subject, details)
    record(session, event)


def _audit_failed(
    runtime: Runtime, actor: Caller, bundle: BundleRequest, failed: BundleEntryError
) -> None:
    """A rolled-back transaction, in a transaction of its own (the Bundle's is gone)."""
    details = _summary(bundle)
    details.update({"entry": failed.index, "status": failed.status, "code": failed.code})
    event = AuditEvent.by(actor, RecordsTag.BUNDLE_FAILED, "records", details, Outcome.FAILURE)
    with runtime.db.transaction() as session:
        record(session, event)
