"""One entry of a `transaction` or `batch` Bundle: the single interaction it stands for.

Shared by `transactions` (all entries in one database transaction) and
`batches` (each entry on its own): `perform` runs an entry through the same
work functions as the single interaction (`services.write_in`,
`services.delete_in`, `access.read_in`, `access.search_page_in`) in the
session of a `Context`, and `at` reports whatever fails as that entry's
failure, a refusal staying a `Denied` for `run_guarded` (or a batch's
savepoint) to audit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.core.context import Caller, Purpose
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.records.access import SearchPage, conditional_match_in, read_in, search_page_in
from carewall.records.access.guard import Denied, run_guarded
from carewall.records.bundles.conditional import UnresolvedReferenceError, is_conditional
from carewall.records.bundles.entries import (
    BundleEntryError,
    BundleRequest,
    EntryRequest,
    Method,
    MultipleMatchesError,
    invalid,
)
from carewall.records.bundles.units import references, rewrite_references
from carewall.records.errors import RecordValidationError, VersionConflictError
from carewall.records.services import delete_in, write_in
from carewall.records.store.compartments import canonicalise, compartment_of, patient_candidates
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import PageRequest

T = TypeVar("T")

# Checks a GET entry's query as the search endpoint would; returns the page it asks for
# (parameters, `_count` clamped to the maximum, where a `_cursor` left off).
SearchParser = Callable[[str, Sequence[tuple[str, str]]], PageRequest]


@dataclass(frozen=True)
class EntryResult:
    """What one entry did: its status and the version it produced or read.

    `location` says whether the response names the new version (writes);
    `resource` is what a read returned, `page` the page of a search (paged by
    the database); `patients` are the compartments touched, for the audit;
    `error` why the entry failed (a batch entry refused as sent carries the
    `InvalidBundleError` that names its part).
    """

    status: int
    resource_type: str | None = None
    logical_id: str | None = None
    version: int | None = None
    last_modified: str | None = None
    location: bool = False
    resource: dict[str, Any] | None = None
    page: SearchPage | None = None
    patients: tuple[str, ...] = ()
    error: RecordValidationError | None = None


@dataclass(frozen=True)
class Context:
    """Everything an entry's work needs besides the entry."""

    session: Session
    keys: RecordKeys
    actor: Caller
    purpose: Purpose
    parse_search: SearchParser


def perform(ctx: Context, entry: EntryRequest, body: dict[str, Any] | None) -> EntryResult:
    """The single interaction an entry stands for, in `ctx.session`."""
    if entry.method is Method.GET:
        return _read(ctx, entry)
    if entry.method is Method.DELETE:
        meta = delete_in(
            ctx.session, ctx.keys, ctx.actor, entry.resource_type, str(entry.logical_id)
        )
        touched = (str(entry.logical_id),) if entry.resource_type == "Patient" else ()
        return written(204, meta, touched, location=False)
    assert body is not None  # POST and PUT entries always carry a resource
    meta = write_in(ctx.session, ctx.keys, ctx.actor, body, if_match=entry.if_match)
    patient = compartment_of(body)
    return written(201 if meta["created"] else 200, meta, (patient,) if patient else ())


def _read(ctx: Context, entry: EntryRequest) -> EntryResult:
    if entry.query is None:
        resource = read_in(
            ctx.session,
            ctx.keys,
            ctx.actor,
            entry.resource_type,
            str(entry.logical_id),
            ctx.purpose,
        )
        return replace(stored(resource, 200), resource=resource)
    asked = ctx.parse_search(entry.resource_type, entry.query)
    page = search_page_in(
        ctx.session,
        ctx.keys,
        ctx.actor,
        entry.resource_type,
        asked.params,
        ctx.purpose,
        count=asked.count,
        after=asked.after,
    )
    return EntryResult(200, page=page, patients=patients_of(page.resources))


def conditional_match(ctx: Context, entry: EntryRequest) -> EntryResult | None:
    """The resource an `ifNoneExist` search finds (None: create), searched as the caller.

    The search is authorised and audited like any search; a match the caller
    may not see (a restricted compartment) refuses the entry (403) rather than
    letting it create a duplicate (`access.conditional_match_in`).
    """
    params = {"identifier": [value for _, value in entry.if_none_exist or ()]}
    found = conditional_match_in(
        ctx.session, ctx.keys, ctx.actor, entry.resource_type, params, ctx.purpose
    )
    if len(found) > 1:
        raise MultipleMatchesError(
            f"The conditional create's identifier matches more than one "
            f"{entry.resource_type}; make it specific."
        )
    return stored(found[0], 200, location=True) if found else None


def with_references(
    bundle: BundleRequest,
    entry: EntryRequest,
    ids: Mapping[int, str],
    full_urls: Mapping[str, str],
    own: str,
    conditional: Callable[[str], str] | None,
) -> dict[str, Any]:
    """The entry's resource with its id, references to other entries resolved.

    References to the Bundle's base URL or to this server's FHIR base (`own`)
    become canonical (`Type/id`, `records.store.compartments`), so the resource lands
    in the right patient's compartment. Conditional references are resolved by
    `conditional` (transactions); a batch entry's, or a `urn:` reference nothing
    in the Bundle defines, is refused: it would leave the resource outside the
    compartment it belongs to.
    """
    sent = bundle.base + "/"

    def rewrite(ref: str) -> str:
        ref = full_urls.get(ref) or (ref[len(sent) :] if ref.startswith(sent) else ref)
        return conditional(ref) if conditional is not None and is_conditional(ref) else ref

    try:
        rewritten = rewrite_references({**(entry.resource or {}), "id": ids[entry.index]}, rewrite)
    except UnresolvedReferenceError as exc:
        raise _unresolved(entry, exc.problem, exc.code) from None
    resource = canonicalise(rewritten, own)
    for ref in references(resource):
        if ref.startswith("urn:"):
            problem = (
                "batch entries cannot refer to each other; send a transaction"
                if bundle.kind == "batch"
                else "refers to no entry's fullUrl in this Bundle"
            )
            raise _unresolved(entry, problem)
        if is_conditional(ref):
            raise _unresolved(entry, "conditional references work in transactions; use Type/id")
    return resource


def _unresolved(
    entry: EntryRequest, problem: str, code: str = "not-found"
) -> RecordValidationError:
    return invalid(f"{entry.resource_type}.reference", problem, code)


def at(entry: EntryRequest, step: Callable[[], T]) -> T:
    """Run one step of an entry; whatever fails is reported as that entry's failure.

    A refusal stays a `Denied` (with the entry named in its error) so that
    `run_guarded` audits it after the rollback.
    """
    try:
        return step()
    except Denied as denied:
        error = entry_error(entry, denied.error)
        raise Denied(
            error,
            denied.resource_type,
            denied.target,
            denied.reason,
            row=denied.row,
            patient=denied.patient,
        ) from None
    except IntegrityError as exc:  # a concurrent writer took the same version number
        conflict = VersionConflictError(f"{entry.target} was changed concurrently; retry.")
        raise entry_error(entry, conflict) from exc
    except CarewallError as exc:
        raise entry_error(entry, exc) from None


def entry_error(entry: EntryRequest, error: CarewallError) -> BundleEntryError:
    return error if isinstance(error, BundleEntryError) else BundleEntryError(entry, error)


def guarded(runtime: Runtime, actor: Caller, work: Callable[[Session], T]) -> T:
    """`run_guarded`, with a clash with a concurrent writer answered as a conflict (412)."""
    try:
        return run_guarded(runtime, actor, work)
    except IntegrityError as exc:
        raise VersionConflictError("The Bundle clashed with a concurrent change; retry.") from exc


def written(
    status: int, meta: Mapping[str, Any], patients: tuple[str, ...], *, location: bool = True
) -> EntryResult:
    return EntryResult(
        status,
        meta["resourceType"],
        meta["id"],
        int(meta["versionId"]),
        _instant(meta["lastUpdated"]),
        location=location,
        patients=patients,
    )


def stored(resource: dict[str, Any], status: int, *, location: bool = False) -> EntryResult:
    """A result naming a stored resource's current version (from its meta)."""
    meta = resource.get("meta") or {}
    return EntryResult(
        status,
        str(resource["resourceType"]),
        str(resource["id"]),
        int(meta["versionId"]) if meta.get("versionId") else None,
        meta.get("lastUpdated"),
        location=location,
        patients=patients_of([resource]),
    )


def patients_of(resources: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted({found[0] for r in resources if (found := patient_candidates(r))}))


def _instant(moment: datetime) -> str:
    """A FHIR instant, as `meta.lastUpdated` is written."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
