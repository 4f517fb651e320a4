"""The one chokepoint through which callers see decrypted records.

Every function checks the permission matrix (`matrix`), the caller's
compartment and break-glass restrictions (`guard`) before anything is
decrypted, and records the access in the audit trail (purpose of use, patient
id, resource type; never values). A read runs in a read transaction and its
audit entry is committed right after it, before the data is returned
(`guard.run_guarded_read`); inside a transaction Bundle the entry joins the
Bundle's transaction. Nothing outside this module calls `store.open_row`,
except `records.finder` (the staff patient search and the identity lookup,
which decide and audit the same way and return identity only where the
caller may not see more) and `records.store.reindex`, which decrypts stored
versions only to rebuild their blind indexes and returns no content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record, record_about, record_all_about
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Purpose
from carewall.core.errors import DecryptionError, NotFoundError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import (
    Denied,
    blocked,
    denied_event,
    hidden_compartments,
    may,
    readable,
    require_row,
    require_type,
    restricted,
    run_guarded_read,
)
from carewall.records.access.includes import (
    MAX_INCLUDED,
    Included,
    include_for,
    include_request,
)
from carewall.records.access.matrix import PATIENT_OPEN_TYPES, Action
from carewall.records.access.sorting import DATE_SORTS, MAX_DATE_SORT, date_page
from carewall.records.access.timed import MAX_TIMED, narrowed, timed_values
from carewall.records.models import FhirResource
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import (
    COLUMN_SORTS,
    MAX_RESULTS,
    SortKey,
    count_matching,
    find_matching,
    find_rows,
    matching,
)
from carewall.records.tags import RecordsTag


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a resource's history (`resource` is None for a deletion)."""

    version: int
    last_updated: datetime
    deleted: bool
    resource: dict[str, Any] | None


def get_record_for(
    runtime: Runtime, actor: Caller, resource_type: str, logical_id: str, purpose: Purpose
) -> dict[str, Any]:
    """The current version of one resource, if `actor` may see it (404/410/403 otherwise)."""
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> dict[str, Any]:
        return read_in(session, keys, actor, resource_type, logical_id, purpose)

    return run_guarded_read(runtime, actor, work)


def read_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    purpose: Purpose,
) -> dict[str, Any]:
    """`get_record_for` inside the caller's transaction (a transaction or batch Bundle).

    Same checks and audit entry; a refusal raises `guard.Denied`, so the caller
    runs its work through `run_guarded`, which audits it after the rollback.
    """
    row = _checked(session, keys, actor, resource_type, logical_id)
    row = store.require_live(row, resource_type, logical_id)
    resource = store.open_row(keys, row)
    _audit_read(session, keys, actor, RecordsTag.RESOURCE_READ, row, resource, purpose)
    return resource


def vread_for(
    runtime: Runtime,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    version: int,
    purpose: Purpose,
) -> dict[str, Any]:
    """One specific version (404 if there is none, 410 if it is the deletion).

    The version is checked against the patient *it* names: a resource moved to
    another patient keeps its old versions in the first patient's compartment
    (and restriction), whatever the current version says.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> dict[str, Any]:
        return _vread_in(session, keys, actor, resource_type, logical_id, version, purpose)

    return run_guarded_read(runtime, actor, work)


def _vread_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    version: int,
    purpose: Purpose,
) -> dict[str, Any]:
    """One version, decided, decrypted and audited inside the caller's read transaction
    (a refusal raises `guard.Denied`)."""
    row = _checked_version(session, keys, actor, resource_type, logical_id, version)
    resource = store.open_row(keys, row)
    _audit_read(session, keys, actor, RecordsTag.RESOURCE_READ, row, resource, purpose)
    return resource


def versions_for(
    runtime: Runtime,
    actor: Caller,
    wanted: Sequence[tuple[str, str, int]],
    purpose: Purpose,
) -> list[dict[str, Any] | None]:
    """Several specific versions (type, id, version), each decided and audited as
    `vread_for` decides and audits one, in one read transaction whose entries are
    appended together: what a transaction Bundle's writer reads back when it asks for
    each entry's resource (`Prefer: return=representation`).

    A version the caller may not read (a restricted record an integration feed
    writes into) is None, and its refusal is audited as a vread's would be; the
    others are still returned, since the writes they answer have committed.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> list[dict[str, Any] | None]:
        found: list[dict[str, Any] | None] = []
        for resource_type, logical_id, version in wanted:
            try:
                resource = _vread_in(
                    session, keys, actor, resource_type, logical_id, version, purpose
                )
            except Denied as denied:
                record(session, denied_event(keys, actor, denied))
                found.append(None)
                continue
            found.append(resource)
        return found

    return run_guarded_read(runtime, actor, work)


@dataclass(frozen=True)
class HistoryPage:
    """One page of a resource's history: its versions (newest first), how many versions
    the caller may see match (`total`), and the version the next page starts below (None
    on the last page)."""

    entries: list[HistoryEntry]
    total: int
    next_before: int | None


def history_for(
    runtime: Runtime, actor: Caller, resource_type: str, logical_id: str, purpose: Purpose
) -> list[HistoryEntry]:
    """The versions of one resource that `actor` may see, newest first (`history_page_for`
    with no `_since` and no page size)."""
    return history_page_for(runtime, actor, resource_type, logical_id, purpose).entries


def history_page_for(
    runtime: Runtime,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    purpose: Purpose,
    *,
    since: datetime | None = None,
    count: int | None = None,
    before: int | None = None,
) -> HistoryPage:
    """A page of the versions of one resource that `actor` may see, newest first.

    Each version is checked against the patient it names (as `vread_for`);
    versions the caller may not see are left out, not refused. When none is
    visible the answer is the one a read of the current version gets (404 for
    another patient's resource, 403 for a restricted one), whatever `since` says.
    `since` keeps the versions written at or after it (FHIR's `_since`), `before`
    those below a version (where the previous page stopped), and `count` at most
    that many (None: all). Only the page is decrypted. The read is audited once,
    filed under every patient whose versions it returned.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> HistoryPage:
        rows = store.history_rows(session, resource_type, logical_id)
        if not rows:
            _checked(session, keys, actor, resource_type, logical_id)  # 403 by role, else 404
        now = utcnow()
        seen = readable(session, keys, actor, resource_type, {r.patient_ref for r in rows}, now)
        visible = [row for row in rows if row.patient_ref in seen]
        if not visible:  # refuse exactly as a read of the current version would
            _require_read(session, keys, actor, resource_type, logical_id, rows[0])
        written = [row for row in visible if since is None or row.last_updated >= since]
        after = [row for row in written if before is None or row.version_id < before]
        shown = after if count is None else after[:count]
        more = bool(shown) and len(after) > len(shown)
        opened = [(row, None if row.deleted else store.open_row(keys, row)) for row in shown]
        entries = [
            HistoryEntry(row.version_id, row.last_updated, row.deleted, resource)
            for row, resource in opened
        ]
        withheld = len(rows) - len(visible)
        _audit_history(session, keys, actor, resource_type, logical_id, opened, withheld, purpose)
        return HistoryPage(entries, len(written), shown[-1].version_id if more else None)

    return run_guarded_read(runtime, actor, work)


_NOTHING_INCLUDED = Included([], 0, truncated=False)
# Result parameters carried with a search's parameters (and in its page cursor) that
# shape the page rather than select matches.
SHAPING_PARAMS = frozenset({"_sort", "_include", "_revinclude", "_elements", "_summary"})


@dataclass(frozen=True)
class SearchPage:
    """One page of a search, as the caller may see it.

    `total` counts every match the caller may see; `next_after` is where the next
    page starts (a logical id, or a sort key under `_sort`; None on the last page).
    `included` holds what `_include`/`_revinclude` added, checked and audited.
    """

    resources: list[dict[str, Any]]
    total: int
    next_after: str | None
    included: Included = _NOTHING_INCLUDED


def _audit_history(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    opened: list[tuple[FhirResource, dict[str, Any] | None]],
    withheld: int,
    purpose: Purpose,
) -> None:
    """One entry for a history read, filed under each patient whose versions it returned."""
    patients = sorted(
        {
            patient
            for row, resource in opened
            if resource is not None and (patient := store.patient_of(keys, row, resource))
        }
    )
    part = patient_part(
        keys, patients, otherwise=f"{resource_type}/{logical_id}", resource_id=logical_id
    )
    details: dict[str, DetailValue] = {
        "resource_type": resource_type,
        "versions": [row.version_id for row, _ in opened],
        "withheld": withheld,
        "purpose": str(purpose),
        **part.details,
    }
    event = AuditEvent.by(actor, RecordsTag.HISTORY_READ, part.subject, details)
    record_about(session, event, part.further)


def search_for(
    runtime: Runtime,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    *,
    limit: int = MAX_RESULTS,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """Resources of one type matching `params` that `actor` may see (at most `limit`).

    Patients search inside their own compartment only; restricted compartments
    a staff member has not opened by break-glass are left out of the results.
    With `newest_first`, the most recently written come first (a page that shows
    the latest few); otherwise they come in logical-id order.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> list[dict[str, Any]]:
        search = _Search.of(session, keys, actor, resource_type, params)
        found = _find(session, keys, search, limit=limit, newest_first=newest_first)
        resources = [store.open_row(keys, row) for row in found]
        patients = _patients(keys, found, resources)
        count = len(resources)
        _audit_search(session, keys, actor, resource_type, params, purpose, count, patients)
        return resources

    return run_guarded_read(runtime, actor, work)


def search_page_for(
    runtime: Runtime,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    *,
    count: int,
    after: str = "",
) -> SearchPage:
    """One page of `count` results after the logical id `after`, with the total.

    The database pages: only the rows of this page are loaded and decrypted,
    whatever the number of matches.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> SearchPage:
        return search_page_in(
            session, keys, actor, resource_type, params, purpose, count=count, after=after
        )

    return run_guarded_read(runtime, actor, work)


def search_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    *,
    limit: int = MAX_RESULTS,
) -> list[dict[str, Any]]:
    """`search_for` inside the caller's transaction (a transaction or batch Bundle).

    Same compartment scope, restriction filter and audit entry; a refusal raises
    `guard.Denied`, so the caller runs its work through `run_guarded`.
    """
    search = _Search.of(session, keys, actor, resource_type, params)
    rows = _find(session, keys, search, limit=limit)
    resources = [store.open_row(keys, row) for row in rows]
    patients = _patients(keys, rows, resources)
    _audit_search(session, keys, actor, resource_type, params, purpose, len(resources), patients)
    return resources


def _patients(
    keys: RecordKeys, rows: Sequence[FhirResource], resources: Sequence[dict[str, Any]]
) -> set[str]:
    """The patients whose data a search returned (read from the rows as they are filed)."""
    return {
        p for row, r in zip(rows, resources, strict=True) if (p := store.patient_of(keys, row, r))
    }


def search_page_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    *,
    count: int,
    after: str = "",
) -> SearchPage:
    """`search_page_for` inside the caller's transaction (a Bundle's search entry).

    `_sort`, `_include` and `_revinclude` ride in `params` (so a page cursor keeps
    them); the other parameters select the matches.
    """
    filters = {k: v for k, v in params.items() if k not in SHAPING_PARAMS}
    search = _Search.of(session, keys, actor, resource_type, filters)
    sort = (params.get("_sort") or [""])[0]
    if sort in DATE_SORTS:
        rows = _find(session, keys, search, limit=MAX_DATE_SORT + 1)
        page = date_page(keys, rows, descending=sort == "-date", count=count, after=after)
        shown, resources, following = page.rows, page.resources, page.next_after
    else:
        rows = _find(session, keys, search, limit=count + 1, after=after, sort=sort)
        shown = rows[:count]  # one row more than the page says whether another page follows
        resources = [store.open_row(keys, row) for row in shown]
        following = _next_after(shown, sort) if len(rows) > count else None
    patients = _patients(keys, shown, resources)
    _audit_search(session, keys, actor, resource_type, params, purpose, len(resources), patients)
    total = _count(session, keys, search)
    included = _NOTHING_INCLUDED
    if asked := include_request(params):

        def audit(session: Session, row: FhirResource, resource: dict[str, Any]) -> None:
            _audit_read(session, keys, actor, RecordsTag.RESOURCE_READ, row, resource, purpose)

        included = include_for(session, keys, actor, resources, asked, audit)
    return SearchPage(resources, total, following, included)


def search_work(params: Mapping[str, Sequence[str]], resource_type: str = "") -> int:
    """The resources a search may read besides its page: up to `MAX_INCLUDED` included
    ones, every match (up to `MAX_DATE_SORT`) when it sorts by a clinical date, and the
    candidates (up to `MAX_TIMED`, twice: page and total) of a date with a time of day."""
    work = MAX_INCLUDED if include_request(params) else 0
    work += 2 * MAX_TIMED if timed_values(resource_type, params) is not None else 0
    return work + (MAX_DATE_SORT if (params.get("_sort") or [""])[0] in DATE_SORTS else 0)


def _count(session: Session, keys: RecordKeys, search: _Search) -> int:
    if search.timed is not None:  # counted after decryption
        return len(_find(session, keys, search, limit=MAX_TIMED))
    return count_matching(session, search.query)


def _next_after(shown: Sequence[FhirResource], sort: str) -> str | None:
    """Where the page after `shown` starts: the last id, or its `_lastUpdated` sort key."""
    if not shown:
        return None
    return SortKey.of(shown[-1]).as_text() if sort in COLUMN_SORTS else shown[-1].logical_id


@dataclass(frozen=True)
class _Visible:
    """What a search by `actor` may return: one compartment (patients; with `unfiled`, the
    rows in none as well), not `hidden` ones."""

    compartment: str | None
    hidden: frozenset[str]
    unfiled: bool = False


def _visible(session: Session, keys: RecordKeys, actor: Caller, resource_type: str) -> _Visible:
    """Authorise a search (the type, by the matrix) and scope it, before any row is read."""
    require_type(actor, Action.READ, resource_type, resource_type)
    hidden = hidden_compartments(session, actor, utcnow())
    return _Visible(_scope(keys, actor), hidden, _unfiled(actor, resource_type))


@dataclass(frozen=True)
class _Search:
    """One search's matching rows in the caller's scope, as one query built once for its
    page and its total (building it computes every blind-index HMAC it looks up), and
    the occurrences of a date with a time of day, compared after decryption."""

    query: Select[FhirResource]
    timed: list[list[str]] | None

    @classmethod
    def of(
        cls,
        session: Session,
        keys: RecordKeys,
        actor: Caller,
        resource_type: str,
        params: Mapping[str, Sequence[str]],
    ) -> _Search:
        """Authorise the search and scope it (`_visible`), before any row is read."""
        visible = _visible(session, keys, actor, resource_type)
        query = matching(
            keys,
            resource_type,
            params,
            compartment=visible.compartment,
            unfiled=visible.unfiled,
            hidden=visible.hidden,
        )
        return cls(query, timed_values(resource_type, params))


def _find(
    session: Session,
    keys: RecordKeys,
    search: _Search,
    *,
    limit: int,
    after: str = "",
    newest_first: bool = False,
    sort: str = "",
) -> list[FhirResource]:
    """The rows of a search in the caller's scope; a date with a time of day is compared
    after decryption (`access.timed`) on the candidates the index finds."""
    if limit <= 0:
        return []
    rows = find_matching(
        session,
        search.query,
        limit=limit if search.timed is None else MAX_TIMED + 1,
        after=after,
        newest_first=newest_first,
        sort=sort,
    )
    return rows if search.timed is None else narrowed(keys, rows, search.timed)[:limit]


def conditional_match_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
) -> list[dict[str, Any]]:
    """`search_in` for a conditional create (`ifNoneExist`), which must not miss a match.

    A search leaves out what the caller may not see; a conditional create that
    did so would quietly make a duplicate of a restricted record. A match in a
    restricted compartment the caller has not opened refuses the create instead
    (403, as a read of it would; clinicians are told to break the glass),
    audited under that patient with reason `conditional-match-restricted`. The
    answer names nothing of the match.
    """
    require_type(actor, Action.READ, resource_type, resource_type)
    rows = find_rows(
        session,
        keys,
        resource_type,
        params,
        compartment=_scope(keys, actor),
        unfiled=_unfiled(actor, resource_type),
        limit=_MATCHES,
    )
    hidden = blocked(session, actor, {r.patient_ref for r in rows if r.patient_ref}, utcnow())
    for row in rows:
        if row.patient_ref in hidden:
            reason = "conditional-match-restricted"
            raise restricted(actor, resource_type, resource_type, reason, row)
    # Two are enough to tell one match from several.
    return search_in(session, keys, actor, resource_type, params, purpose, limit=2)


# A conditional create wants one match; a few more are enough to see a hidden one.
_MATCHES = 10


def _audit_search(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    count: int,
    found: set[str],
) -> None:
    """One entry per search, listing every patient whose data it returned (never values).

    A search inside one patient's record is filed under that patient (the indexed
    subject column). A search that returned several patients is one entry (one
    link of the chain) indexed under each of them, so every one of them finds it
    in the portal's access list and the access report.
    """
    patients = sorted(found)
    part = patient_part(keys, patients, otherwise=resource_type)
    details: dict[str, DetailValue] = {
        "resource_type": resource_type,
        "params": sorted(params),
        "count": count,
        "patients": len(patients),
        "purpose": str(purpose),
        **part.details,
    }
    event = AuditEvent.by(actor, RecordsTag.SEARCH_PERFORMED, part.subject, details)
    record_about(session, event, part.further)


def export_compartment(runtime: Runtime, actor: Caller, patient_id: str) -> list[dict[str, Any]]:
    """Every live resource in one patient's compartment that `actor` may read, audited."""
    keys = RecordKeys.from_keystore(runtime.keys)
    ref = keys.patient_ref(patient_id)

    def work(session: Session) -> list[dict[str, Any]]:
        require_row(
            session, keys, actor, Action.READ, "Patient", f"Patient/{patient_id}", ref, utcnow()
        )
        rows = store.compartment_rows(session, ref)
        rows = [r for r in rows if may(actor, Action.READ, r.resource_type)]
        resources = [store.open_row(keys, row) for row in rows]
        types = sorted({row.resource_type for row in rows})
        part = patient_part(keys, [patient_id], otherwise=f"Patient/{patient_id}")
        event = AuditEvent.by(
            actor,
            RecordsTag.EXPORT_COMPLETED,
            part.subject,
            {"count": len(resources), "resource_types": types, **part.details},
        )
        record(session, event)
        return resources

    return run_guarded_read(runtime, actor, work)


def _scope(keys: RecordKeys, actor: Caller) -> str | None:
    """The compartment a patient's search is confined to (None: staff, by the matrix)."""
    if actor.system or actor.reads_by_matrix:
        return None
    return keys.patient_ref(actor.patient_id or "\x00no-patient")


def _unfiled(actor: Caller, resource_type: str) -> bool:
    """Whether a patient's search of `resource_type` also finds the rows in no compartment:
    the directory, conformance and formulary types, which `guard.require_row` lets a
    patient read by id outside any compartment (a search must find what a read may open)."""
    return not (actor.system or actor.reads_by_matrix) and resource_type in PATIENT_OPEN_TYPES


def _checked(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
) -> store.StoredVersion:
    """Load the current version and decide, before anything is decrypted."""
    target = f"{resource_type}/{logical_id}"
    row = store.current_version(session, resource_type, logical_id)
    if row is None:
        require_type(actor, Action.READ, resource_type, target)
        store.require_live(row, resource_type, logical_id)
    assert row is not None
    return _require_read(session, keys, actor, resource_type, logical_id, row)


def _checked_version(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    version: int,
) -> FhirResource:
    """Load one version and decide on the patient it names, before anything is decrypted.

    A version that does not exist is answered after the current version's check,
    so another patient's resource answers 404 alike whether the version exists.
    """
    row = store.find_version(session, resource_type, logical_id, version)
    if row is None:
        _checked(session, keys, actor, resource_type, logical_id)
        raise NotFoundError(f"{resource_type}/{logical_id} has no version {version}.")
    return _require_read(session, keys, actor, resource_type, logical_id, row)


_Row = TypeVar("_Row", bound=store.Version)


def _require_read(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    row: _Row,
) -> _Row:
    """The full read decision on a loaded version, by the patient its row names; returns
    the row, so a loader decides and hands it on in one step."""
    target = f"{resource_type}/{logical_id}"
    ref = row.patient_ref
    restricted = row.restricted if isinstance(row, store.StoredVersion) else None
    require_row(
        session,
        keys,
        actor,
        Action.READ,
        resource_type,
        target,
        ref,
        utcnow(),
        row=row,
        restricted=restricted,
    )
    return row


def _audit_read(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    tag: RecordsTag,
    row: store.Version,
    resource: dict[str, Any],
    purpose: Purpose,
) -> None:
    patient = store.patient_of(keys, row, resource)
    part = patient_part(
        keys,
        [patient] if patient else [],
        otherwise=f"{row.resource_type}/{row.logical_id}",
        resource_id=row.logical_id,
    )
    details: dict[str, DetailValue] = {
        "resource_type": row.resource_type,
        "version": row.version_id,
        "purpose": str(purpose),
        **part.details,
    }
    # No entry back (as `record` would give): in a read it is only queued, and the
    # transient ORM object `record` builds for it was 2% of a FHIR read's instructions.
    record_all_about(session, [(AuditEvent.by(actor, tag, part.subject, details), part.further)])


def sample_decrypts(session: Session, keys: RecordKeys, sample: int) -> tuple[int, list[str]]:
    """Decrypt up to `sample` random current records and keep nothing of them.

    The restore drill's proof that a restored copy's keys and ciphertexts
    agree. Returns how many were tried and the references of those that did
    not decrypt. No plaintext leaves this function, so nothing is audited.
    """
    rows = store.sample_rows(session, sample)
    failed = []
    for row in rows:
        try:
            store.open_row(keys, row)
        except DecryptionError:
            failed.append(f"{row.resource_type}/{row.logical_id}")
    return len(rows), failed
