"""Search over the blind indexes (no access checks: see `access.search_for`).

As FHIR says (R4 search, "Combining parameters"): parameters combine with
AND, a parameter given several times must hold each time (AND: so
`date=ge2020&date=lt2021` is a range and `code=a&code=b` finds resources with
both codes), and the comma-separated values of one occurrence match any of
them (OR). `patient`/`subject` use the compartment column; `_id` the plain
logical id. `family`, `given` and `name` match the beginning of a name
(FHIR's default for strings) through the prefix terms of `records.terms`;
their `:exact` forms and every other parameter match the whole normalised
value; `_lastUpdated` is a plain column and the type's date parameter bucket
terms (`records.store.dates`).

Pages are keyset pages: in logical-id order after the last id sent, or with
`_sort=_lastUpdated` (`-_lastUpdated`) in (last_updated, logical id) order after
the last pair sent (`SortKey`), so a page is one bounded query however deep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, intersect, or_, select, union
from sqlalchemy.orm import Session

from carewall.core.db import planned_each_time
from carewall.records.errors import Issue, RecordValidationError, SearchValueError
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.store.dates import (
    DATE_PARAMS,
    DateQueryError,
    DayQuery,
    DayRange,
    cover,
    dated_by_periods,
    day_query,
    has_time,
    instant_query,
    instant_range,
    partial_terms,
)
from carewall.records.store.keys import RecordKeys
from carewall.records.store.terms import (
    COMPARTMENT_PARAMS,
    FOLDED_IDENTIFIER,
    PREFIX_MIN,
    PREFIX_PARAMS,
    SEARCH_PARAMS,
    TOKEN_PARAMS,
    prefix_param,
    query_prefix,
    query_value,
    token_query,
)

MAX_RESULTS = 1000
LAST_UPDATED = "_lastUpdated"
# `_sort` values the database orders by (`date` is sorted by `records.access`, which decrypts).
COLUMN_SORTS = frozenset({LAST_UPDATED, f"-{LAST_UPDATED}"})


@dataclass(frozen=True)
class PageRequest:
    """One page of a search as asked: its parameters, the page size, and the logical id
    the page starts after (empty for the first page)."""

    params: dict[str, list[str]]
    count: int
    after: str = ""


@dataclass(frozen=True)
class SortKey:
    """Where a `_lastUpdated`-sorted page starts: after this (time, logical id) pair.

    It travels as text (`as_text`) inside the sealed page cursor.
    """

    last_updated: datetime
    logical_id: str

    def as_text(self) -> str:
        """`<ISO time> <logical id>` (ids hold no spaces)."""
        return f"{self.last_updated.isoformat()} {self.logical_id}"

    @classmethod
    def of(cls, row: FhirResource) -> SortKey:
        """The key of a row, for the page after it."""
        return cls(row.last_updated, row.logical_id)

    @classmethod
    def parse(cls, text: str) -> SortKey:
        """The key `as_text` wrote (cursors are sealed, so it is ours)."""
        stamp, _, logical_id = text.partition(" ")
        return cls(datetime.fromisoformat(stamp), logical_id)


def find_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    unfiled: bool = False,
    limit: int = MAX_RESULTS,
    after: str = "",
    hidden: frozenset[str] = frozenset(),
    newest_first: bool = False,
    sort: str = "",
) -> list[FhirResource]:
    """Current, live versions matching every parameter, at most `limit` of them.

    In logical-id order, those after `after` (the database pages: a search never
    loads more rows than the page it returns); with `sort` `_lastUpdated` or
    `-_lastUpdated`, in that order (ties by logical id) after the `SortKey`
    text `after`; or, with `newest_first`, the most recently written first.
    Rows inside `hidden` compartments are left out by the query itself, so
    pages stay full. `unfiled`: rows in no compartment match besides `compartment`'s.
    """
    query = matching(
        keys, resource_type, params, compartment=compartment, hidden=hidden, unfiled=unfiled
    )
    return find_matching(
        session, query, limit=limit, after=after, newest_first=newest_first, sort=sort
    )


def find_matching(
    session: Session,
    query: Select[FhirResource],
    *,
    limit: int = MAX_RESULTS,
    after: str = "",
    newest_first: bool = False,
    sort: str = "",
) -> list[FhirResource]:
    """`find_rows` of a query `matching` built (a search that also counts builds it once)."""
    if newest_first:
        sort = f"-{LAST_UPDATED}"
    if sort in COLUMN_SORTS:
        query = _by_last_updated(query, descending=sort.startswith("-"), after=after)
    else:
        if after:
            query = query.where(FhirResource.logical_id > after)
        query = query.order_by(FhirResource.logical_id)
    return list(session.scalars(planned_each_time(query.limit(limit))))


def _by_last_updated(
    query: Select[FhirResource], *, descending: bool, after: str
) -> Select[FhirResource]:
    """Order by last_updated (then logical id, ascending) and start after a `SortKey`."""
    stamp = FhirResource.last_updated
    if after:
        key = SortKey.parse(after)
        beyond = stamp < key.last_updated if descending else stamp > key.last_updated
        tied = and_(stamp == key.last_updated, FhirResource.logical_id > key.logical_id)
        query = query.where(or_(beyond, tied))
    return query.order_by(stamp.desc() if descending else stamp, FhirResource.logical_id)


def count_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    unfiled: bool = False,
    hidden: frozenset[str] = frozenset(),
) -> int:
    """How many current, live versions match (the searchset's `total`), counted in the
    database without loading a row."""
    query = matching(
        keys, resource_type, params, compartment=compartment, hidden=hidden, unfiled=unfiled
    )
    return count_matching(session, query)


def count_matching(session: Session, query: Select[FhirResource]) -> int:
    """`count_rows` of a query `matching` built."""
    counted = select(func.count()).select_from(query.with_only_columns(FhirResource.id).subquery())
    return int(session.scalar(planned_each_time(counted)) or 0)


def matching(
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    hidden: frozenset[str] = frozenset(),
    unfiled: bool = False,
) -> Select[FhirResource]:
    """Current, live versions of the type matching every parameter, inside `compartment`
    (when given; or in none, with `unfiled`) and outside the `hidden` compartments.

    Building it computes a blind-index HMAC for every term the parameters look up
    (over a hundred for a range over Periods), so a search that pages and counts
    builds it once (`find_matching`, `count_matching`).
    """
    query = live_rows(
        resource_type,
        compartment=compartment,
        unfiled=unfiled,
        hidden=hidden,
        by_index=not _IDENTIFIERS.isdisjoint(params),
    )
    for param, values in params.items():
        if param == LAST_UPDATED:
            query = query.where(*(_last_updated(_split([v])) for v in values))
        elif param == date_param(resource_type):
            query = query.where(*_date_filters(keys, resource_type, param, values))
        else:
            for value in values:  # each occurrence must hold; its commas are "any of"
                query = _filter(query, keys, resource_type, param, _split([value]))
    return query


def matching_ids(
    keys: RecordKeys, resource_type: str, params: Mapping[str, Sequence[str]]
) -> Select[tuple[str]]:
    """The row ids of current, live versions matching every parameter, as a subquery
    (a Bulk Data `_typeFilter`: each filter is one such search, and they are ORed)."""
    return matching(keys, resource_type, params).with_only_columns(FhirResource.id)


# The parameters that name one resource (a conditional create's, a conditional reference's,
# the staff patient search's).
_IDENTIFIERS = frozenset({"identifier", FOLDED_IDENTIFIER})


def live_rows(
    resource_type: str,
    *,
    compartment: str | None = None,
    unfiled: bool = False,
    hidden: frozenset[str] = frozenset(),
    by_index: bool = False,
) -> Select[FhirResource]:
    """The query every search, export page and reverse include starts from: current,
    live versions of one type, inside `compartment` (when given; with `unfiled`, also
    those in no compartment) and outside the `hidden` compartments (rows in no
    compartment are never hidden).

    `by_index`: the search has a selective blind-index filter (an identifier), so
    the rows must be found from it. SQLite's planner otherwise walks every version
    of the type in `ix_fhir_current` (it avoids the sort `ORDER BY logical_id`
    needs), testing each against the filter, even with statistics: a lookup by
    identifier cost a millisecond per thousand resources of its type, and a
    batch of conditional creates grew quadratic. Comparing `resource_type || ''`
    keeps that index out of the choice; PostgreSQL starts from the index either
    way.
    """
    kind = FhirResource.resource_type
    query = select(FhirResource).where(
        (kind.concat("") if by_index else kind) == resource_type,
        FhirResource.is_current.is_(True),
        FhirResource.deleted.is_(False),
    )
    if compartment is not None and unfiled:
        query = query.where(
            or_(FhirResource.patient_ref == compartment, FhirResource.patient_ref.is_(None))
        )
    elif compartment is not None:
        query = query.where(FhirResource.patient_ref == compartment)
    if hidden:
        query = query.where(
            or_(
                FhirResource.patient_ref.is_(None),
                FhirResource.patient_ref.not_in(sorted(hidden)),
            )
        )
    return query


def date_param(resource_type: str) -> str | None:
    """The name of the type's clinical date parameter (`date`, `onset-date`, ...), if any."""
    spec = DATE_PARAMS.get(resource_type)
    return spec[0] if spec else None


def _last_updated(values: list[str]) -> ColumnElement[bool]:
    """One `_lastUpdated` occurrence: the column within any of its (comma-separated) ranges."""
    stamp = FhirResource.last_updated
    if not values:
        raise _bad_value(LAST_UPDATED, "give a date or an instant")
    ranges = []
    for value in values:
        try:
            span = instant_range(value)
        except DateQueryError as exc:
            raise _bad_value(LAST_UPDATED, str(exc)) from None
        bounds = [stamp >= span.start] if span.start is not None else []
        bounds += [stamp < span.end] if span.end is not None else []
        ranges.append(and_(*bounds))
    return or_(*ranges)


def _date_filters(
    keys: RecordKeys, resource_type: str, name: str, values: Sequence[str]
) -> list[ColumnElement[bool]]:
    """The condition of the date parameter's occurrences (all must hold, each any of its
    comma-separated values): the single dates that match, and the Periods."""
    parts = [value.split(",") for value in values]
    if any(not item.strip() for p in parts for item in p):  # `date=2024,` as `code=a,`
        raise _bad_value(name, "give a date")
    queries = [[_day_query(name, v) for v in p] for p in parts]
    found = [_single_dates(keys, resource_type, queries)]
    if dated_by_periods(resource_type):
        found.append(_periods(keys, resource_type, queries))
    return [FhirResource.id.in_(_any_of_ids(found))]


def _day_query(name: str, value: str) -> DayQuery:
    """A value's days; for a value with a time of day, the days around it (a superset
    that `records.access` narrows after decryption, `dates.date_matches`)."""
    try:
        return instant_query(value).widened() if has_time(value) else day_query(value)
    except DateQueryError as exc:
        raise _bad_value(name, str(exc)) from None


def _single_dates(
    keys: RecordKeys, resource_type: str, queries: list[list[DayQuery]]
) -> Select[str]:
    """Ids of the resources dated by a single date that match every occurrence.

    Occurrences of one value each (`date=ge2021-03-10&date=lt2021-04-21`) are
    intersected into one range first: its cover is the few buckets of those six
    weeks, where covering each open end would look up most of the table twice.
    Dates written to the month or year that FHIR's range rules find although the
    days do not cover them come through their padding terms (`dates.partial_terms`),
    checked against every occurrence.
    """
    if all(len(occurrence) == 1 for occurrence in queries):
        each = [occurrence[0] for occurrence in queries]
        first = max(q.days.first for q in each)
        last = min(q.days.last for q in each)
        terms = cover(DayRange(first, last)) if first <= last else []
        return _any_term(keys, resource_type, [*terms, *partial_terms(each)])
    return _all_of_ids(
        _any_term(
            keys, resource_type, [t for q in o for t in [*cover(q.days), *partial_terms([q])]]
        )
        for o in queries
    )


def _periods(keys: RecordKeys, resource_type: str, queries: list[list[DayQuery]]) -> Select[str]:
    """Ids of the resources dated by a Period that match every occurrence: any of its
    values, each holding a term of every one of its lookups (`DayQuery.period_lookups`).
    Only Periods carry these terms, so the lookups of an open end stay within them."""
    return _all_of_ids(
        _any_of_ids(
            [
                _all_of_ids(_any_term(keys, resource_type, terms) for terms in q.period_lookups())
                for q in occurrence
            ]
        )
        for occurrence in queries
    )


def _all_of_ids(selects: Iterable[Select[str]]) -> Select[str]:
    """Ids in every one of `selects` (the one itself when alone)."""
    ids = list(selects)
    if len(ids) == 1:
        return ids[0]
    common = intersect(*ids).subquery()
    return select(common.c.resource_id)


def _any_of_ids(selects: list[Select[str]]) -> Select[str]:
    """Ids in any of `selects` (the one itself when alone)."""
    if len(selects) == 1:
        return selects[0]
    merged = union(*selects).subquery()
    return select(merged.c.resource_id)


def _any_term(
    keys: RecordKeys, resource_type: str, terms: Sequence[tuple[str, str]]
) -> Select[str]:
    """Ids of resources holding any of the (index parameter, value) terms.

    The parameter is inside each HMAC's input (`RecordKeys.blind`), so one list of
    HMACs finds them all through the value index, whatever their parameters.
    """
    terms = sorted(set(terms))
    hmacs = [keys.blind(resource_type, param, value) for param, value in terms]
    return select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param.in_(sorted({param for param, _ in terms})),
        FhirSearchIndex.value_hmac.in_(hmacs),
    )


def _bad_value(param: str, problem: str) -> SearchValueError:
    return SearchValueError(f"{param}: {problem}", [Issue("error", "value", param, problem)])


def _filter(
    query: Select[FhirResource],
    keys: RecordKeys,
    resource_type: str,
    param: str,
    values: list[str],
) -> Select[FhirResource]:
    if param == "_id":
        return query.where(FhirResource.logical_id.in_(values))
    if param in COMPARTMENT_PARAMS:
        refs = [keys.patient_ref(v.removeprefix("Patient/")) for v in values]
        return query.where(FhirResource.patient_ref.in_(refs))
    if param not in SEARCH_PARAMS:
        raise RecordValidationError(
            f"Search parameter {param} is not supported.",
            [Issue("error", "not-supported", param, "search parameter not supported")],
        )
    if param in PREFIX_PARAMS:
        return query.where(FhirResource.id.in_(_prefix_matches(keys, resource_type, param, values)))
    if param in TOKEN_PARAMS:
        return query.where(FhirResource.id.in_(_token_matches(keys, resource_type, param, values)))
    stored = param.removesuffix(":exact")
    hmacs = [keys.blind(resource_type, stored, query_value(param, v)) for v in values]
    matching = select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param == stored, FhirSearchIndex.value_hmac.in_(hmacs)
    )
    return query.where(FhirResource.id.in_(matching))


def _token_matches(
    keys: RecordKeys, resource_type: str, param: str, values: list[str]
) -> Select[str]:
    """Ids of resources with a token matching any value (`code`, `system|code`, `system|`,
    `|code`: each form has its index parameter, `terms.token_query`)."""
    return _any_term(keys, resource_type, [token_query(param, value) for value in values])


def _prefix_matches(
    keys: RecordKeys, resource_type: str, param: str, values: list[str]
) -> Select[str]:
    """Ids of resources with a name part (of the parts `param` searches) starting with a value."""
    prefixes = [query_prefix(v) for v in values]
    if any(p is None for p in prefixes):
        raise RecordValidationError(
            f"Search parameter {param}: type at least {PREFIX_MIN} letters of the name.",
            [Issue("error", "value", param, f"at least {PREFIX_MIN} letters")],
        )
    stored = [prefix_param(part) for part in PREFIX_PARAMS[param]]
    hmacs = [keys.blind(resource_type, s, p) for s in stored for p in prefixes if p]
    return select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param.in_(stored), FhirSearchIndex.value_hmac.in_(hmacs)
    )


def _split(values: Sequence[str]) -> list[str]:
    return [part for value in values for part in value.split(",") if part.strip()]
