"""Clinical-date searches with a time of day, answered exactly after decryption.

The blind indexes know a clinical date to the day (`records.store.dates`), so
a value such as `date=ge2020-03-15T10:00:00+01:00` cannot be answered by the
database: the search there finds the days around the instant (a superset,
`dates.InstantQuery.widened`), and this module decrypts those candidates,
inside the read transaction and after the search's access scope was applied,
and keeps the ones whose date as written matches every occurrence of the
parameter at the value's precision (`dates.date_matches`). As with
`_sort=date`, at most `MAX_TIMED` candidates are decrypted for one page or
one total; a search with more is refused with 400 and told to narrow itself,
so the work stays bounded. Only what the page returns is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from carewall.records import store
from carewall.records.errors import Issue, SearchValueError
from carewall.records.models import FhirResource
from carewall.records.store.dates import date_matches, has_time
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import date_param

MAX_TIMED = 1000


def timed_values(resource_type: str, params: Mapping[str, Sequence[str]]) -> list[list[str]] | None:
    """The occurrences of the type's date parameter (each its comma-separated values)
    when one of them names a time of day; None when the index answers alone."""
    name = date_param(resource_type)
    occurrences = [[v for v in o.split(",") if v.strip()] for o in params.get(name or "", [])]
    if not any(has_time(v) for occurrence in occurrences for v in occurrence):
        return None
    return occurrences


def narrowed(
    keys: RecordKeys, rows: Sequence[FhirResource], occurrences: list[list[str]]
) -> list[FhirResource]:
    """The candidate rows whose date matches every occurrence (any of its values)."""
    if len(rows) > MAX_TIMED:
        problem = (
            f"a date with a time of day is compared on at most {MAX_TIMED} candidates; "
            "narrow the search"
        )
        name = "date"
        raise SearchValueError(f"{name}: {problem}", [Issue("error", "too-costly", name, problem)])
    kept = []
    for row in rows:
        resource = store.open_row(keys, row)
        if all(any(date_matches(v, resource) for v in o) for o in occurrences):
            kept.append(row)
    return kept
