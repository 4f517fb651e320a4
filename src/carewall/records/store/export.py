"""The rows a Bulk Data export walks through, a page at a time, with no access checks.

`records.access.bulk` decides what the caller may see and passes it here as
plain filters (a compartment, compartments to leave out, only rows that are in
some patient's compartment); this module only adds the export's own filters
(`_since`, the page) to the query searches start from (`search.live_rows`). Pages follow
the logical id, so an export of any size never loads more than one page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from carewall.records.models import FhirResource
from carewall.records.store.search import live_rows


def export_rows(
    session: Session,
    resource_type: str,
    *,
    compartment: str | None,
    patients_only: bool,
    hidden: frozenset[str],
    since: datetime | None,
    after: str,
    limit: int,
) -> list[FhirResource]:
    """Current, live versions of one type after the logical id `after`, at most `limit`.

    `compartment` confines the page to one patient's compartment; `patients_only`
    to rows in any patient's compartment (a Patient-level export); rows in a
    `hidden` compartment are left out by the query itself; `since` keeps the
    versions written at or after that instant.
    """
    query = live_rows(resource_type, compartment=compartment, hidden=hidden)
    if compartment is None and patients_only:
        query = query.where(FhirResource.patient_ref.is_not(None))
    if since is not None:
        query = query.where(FhirResource.last_updated >= since)
    if after:
        query = query.where(FhirResource.logical_id > after)
    return list(session.scalars(query.order_by(FhirResource.logical_id).limit(limit)))
