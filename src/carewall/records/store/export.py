"""The rows a Bulk Data export walks through, a page at a time, with no access checks.

`records.access.bulk` decides what the caller may see and passes it here as
plain filters (a compartment, compartments to leave out, only rows that are in
some patient's compartment); this module only adds the export's own filters
(`_since`, the page) to the query searches start from (`search.live_rows`). Pages follow
the logical id, so an export of any size never loads more than one page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.orm import Session

from carewall.records.models import FhirResource
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import live_rows, matching_ids


def export_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    *,
    compartment: str | None,
    patients_only: bool,
    hidden: frozenset[str],
    since: datetime | None,
    after: str,
    limit: int,
    members: frozenset[str] | None = None,
    filters: Sequence[Mapping[str, Sequence[str]]] = (),
) -> list[FhirResource]:
    """Current, live versions of one type after the logical id `after`, at most `limit`.

    `compartment` confines the page to one patient's compartment; `patients_only`
    to rows in any patient's compartment (a Patient-level export); `members` to
    the compartments of a Group's members (a Group export; empty: nothing); rows
    in a `hidden` compartment are left out by the query itself; `since` keeps the
    versions written at or after that instant; `filters` (the type's
    `_typeFilter` searches, any of which may match) narrow it through the same
    query a search runs (`search.matching_ids`).
    """
    query = live_rows(resource_type, compartment=compartment, hidden=hidden)
    if compartment is None and patients_only:
        query = query.where(FhirResource.patient_ref.is_not(None))
    if members is not None:
        query = query.where(FhirResource.patient_ref.in_(sorted(members)))
    if filters:
        matching = [FhirResource.id.in_(matching_ids(keys, resource_type, f)) for f in filters]
        query = query.where(or_(*matching))
    if since is not None:
        query = query.where(FhirResource.last_updated >= since)
    if after:
        query = query.where(FhirResource.logical_id > after)
    return list(session.scalars(query.order_by(FhirResource.logical_id).limit(limit)))
