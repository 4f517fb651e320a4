"""`_sort=date` (`-date`): ordering by a clinical date the database cannot see.

Clinical dates are encrypted and their blind-index buckets have no order, so
the database cannot sort by them, and storing an order-revealing copy would
give the date away to anyone holding the database. The date sort is done
here instead, on at most `MAX_DATE_SORT` matches: all of them are decrypted
(inside the read transaction, after the search's access scope was applied),
ordered by the date's first instant in UTC (`dates.sort_key`: a date written in
another zone takes its place in time; then logical id; undated last), and the page
after the cursor's (date, id) key is returned. Only that page leaves this
module, and only it is audited as returned. A search matching more is
refused with 400 and told to narrow itself (a date range does it), so the
work of one page is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from carewall.records import store
from carewall.records.errors import Issue, SearchValueError
from carewall.records.models import FhirResource
from carewall.records.store.dates import sort_key
from carewall.records.store.keys import RecordKeys

MAX_DATE_SORT = 1000
DATE_SORTS = frozenset({"date", "-date"})


@dataclass(frozen=True)
class SortedPage:
    """A page in date order: its rows, their resources, and the key the next page starts
    after (None on the last page)."""

    rows: list[FhirResource]
    resources: list[dict[str, Any]]
    next_after: str | None


def too_many_to_sort() -> SearchValueError:
    """The refusal of a date sort over more than `MAX_DATE_SORT` matches."""
    problem = f"sorting by date works on at most {MAX_DATE_SORT} matches; narrow the search"
    return SearchValueError(f"_sort: {problem}", [Issue("error", "too-costly", "_sort", problem)])


def date_page(
    keys: RecordKeys,
    rows: Sequence[FhirResource],
    *,
    descending: bool,
    count: int,
    after: str,
) -> SortedPage:
    """The `count` matches after `after` (`<date> <id>`) in date order, from all `rows`."""
    if len(rows) > MAX_DATE_SORT:
        raise too_many_to_sort()
    resources = [store.open_row(keys, row) for row in rows]
    opened = [(sort_key(r), row.logical_id, row, r) for row, r in zip(rows, resources, strict=True)]
    opened.sort(key=lambda item: item[1])
    opened.sort(key=lambda item: item[0], reverse=descending)
    opened.sort(key=lambda item: item[0] == "")  # undated last, whichever the direction
    if after:
        date_text, _, logical_id = after.partition(" ")
        opened = [o for o in opened if _comes_after(o[0], o[1], date_text, logical_id, descending)]
    page = opened[:count]
    following = f"{page[-1][0]} {page[-1][1]}" if page and len(opened) > count else None
    return SortedPage([o[2] for o in page], [o[3] for o in page], following)


def _comes_after(
    key: str, logical_id: str, after_key: str, after_id: str, descending: bool
) -> bool:
    """Whether (key, id) sorts after the cursor's (key, id) in the page order."""
    if (key == "") != (after_key == ""):
        return key == ""
    if key != after_key:
        return key < after_key if descending else key > after_key
    return logical_id > after_id
