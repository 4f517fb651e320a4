"""Dates in search: the clinical date of each type, its bucket terms, and range queries.

Clinical dates are content (PHI), so they are found like every other value:
through keyed blind indexes. A range cannot be asked of an HMAC, so each dated
resource carries one term per calendar bucket its date falls in, and a range
query is expanded into the fewest buckets that cover it exactly:

- `date:c` the decade ("202" for 2020-2029), `date:y` the year, `date:m` the
  month and `date:d` the day of a single date as written (its own time zone;
  the time of day is not indexed).
- A Period is the range it spans (R4 search, date), so it carries the same four
  buckets of its start (`start:c`...`start:d`) and of its end (`end:*`); a
  missing start or end (an encounter still under way), or one beyond the
  buckets' years, has four marker terms instead.
- A date written only to the year or month gets padding terms for the finer
  levels (keyed like the others, so the row count does not tell the precision:
  four rows for a single date, eight for a Period). Its day-level padding names
  its month (or year), and is what finds such a date where FHIR says a range
  finds it without covering it.

FHIR compares ranges (R4 search, date): the value's implicit range [a, b] (a
day, a month, a year) against the target's [S, E]. `eq` finds targets inside
the value's range (S >= a and E <= b), `gt`/`lt` targets that overlap what lies
after/before it (E > b, S < a), `ge`/`le` also those inside it, and `sa`/`eb`
targets wholly after/before it (S > b, E < a).

- A single date's S and E are its own implicit range, so every occurrence of
  the parameter selects a run of days (`DayQuery.days`), and the occurrences of a
  search intersect into one run, whose cover finds the dates written to the day
  exactly; the month or year padding that every occurrence finds is added
  (`partial_terms`). A six-week range looks up the buckets of six weeks.
- A Period's lookups are one or two per value, each of one edge
  (`DayQuery.period_lookups`): "the start's first day is on or after a day" is
  exactly the cover of the days from it on; "on or before" also needs the
  padding of the month and year holding that day (a date written to the month
  may begin before the day and end after it), and so does "the end's last day
  is on or after". Those lookups are long (a Period that began before the
  range and ends after it is found by neither end's buckets near the range), but
  only Periods carry their terms.

Ranges in the index are at most day-precise (`ge2020-03-15`, `lt2021`,
`eq2020-03`); an open end reaches `FIRST_YEAR` or `LAST_YEAR`. A value with a
time of day (`ge2020-03-15T10:00:00+01:00`, `InstantQuery`) is that instant at
its precision, compared with the target's own implicit range (a date without a
time is its whole day, a time without a zone UTC): the index cannot see times,
so the search looks up the days around it (`widened`, a superset) and
`records.access` decrypts those candidates to compare (`date_matches`). A cover
has at most about 60 buckets plus one per decade, so a query's work is bounded
whatever the range.

`_lastUpdated` is server metadata in a plain column (`fhir_resources.last_updated`):
`instant_range` turns its values into half-open UTC intervals the database
compares directly. What each choice reveals is in docs/threat-model.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

# The FHIR date parameter of each type: its name and the fields it searches, first present
# wins (R4 search parameters: clinical-date `date`, Condition `onset-date`, Patient
# `birthdate`, and so on).
DATE_PARAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "AllergyIntolerance": ("date", ("recordedDate",)),
    "CarePlan": ("date", ("period",)),
    "CareTeam": ("date", ("period",)),
    "ClinicalImpression": ("date", ("date",)),
    "Composition": ("date", ("date",)),
    "Condition": ("onset-date", ("onsetDateTime", "onsetPeriod")),
    "Consent": ("date", ("dateTime",)),
    "DiagnosticReport": ("date", ("effectiveDateTime", "effectivePeriod")),
    "DocumentReference": ("date", ("date",)),
    "Encounter": ("date", ("period",)),
    "EpisodeOfCare": ("date", ("period",)),
    "FamilyMemberHistory": ("date", ("date",)),
    "Flag": ("date", ("period",)),
    "Immunization": ("date", ("occurrenceDateTime",)),
    "List": ("date", ("date",)),
    "MedicationRequest": ("authoredon", ("authoredOn",)),
    "Observation": ("date", ("effectiveDateTime", "effectiveInstant", "effectivePeriod")),
    # Not a clinical date, but a FHIR `date` parameter found the same way (same buckets).
    "Patient": ("birthdate", ("birthDate",)),
    "Procedure": ("date", ("performedDateTime", "performedPeriod")),
    "RiskAssessment": ("date", ("occurrenceDateTime", "occurrencePeriod")),
    "SupplyRequest": ("date", ("authoredOn",)),
}
LEVELS = ("c", "y", "m", "d")
#: The index parameters of a date: `date:c`...`date:d` a single date's (as every date was
#: indexed before Periods were searched as ranges), `start:*` and `end:*` a Period's ends.
DATE = "date"
START = "start"
END = "end"
FIRST_YEAR = 1800
LAST_YEAR = 2199
MIN_QUERY_YEAR = 1000
MAX_QUERY_YEAR = 9998
_PAD = "\x00pad"
# What a Period's missing start or end is written as in its padding terms: no date is.
_OPEN = "open"
_DAY = timedelta(days=1)
# How far a date written in its own zone may fall from the UTC day of its instant, and
# one more: the index knows local days, an instant query compares instants (`widened`).
_ZONE_MARGIN = 2 * _DAY
# ASCII digits only: `\d` would also read other scripts' digits (٢٠٢٤ as 2024).
_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_INSTANT = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
# Search prefixes (FHIR R4 3.1.1.4.2); `sa`/`eb` of a point in time are `gt`/`lt`.
PREFIXES = ("eq", "lt", "le", "gt", "ge", "sa", "eb")
#: A term looked up in the index: (index parameter, bucket or padding value).
Term = tuple[str, str]


def has_time(value: str) -> bool:
    """Whether a date search value names a time of day (and so needs `InstantQuery`)."""
    text = value.strip()
    return "T" in (text[2:] if text[:2].isalpha() else text)  # a bad prefix: refused later


@dataclass(frozen=True)
class InstantQuery:
    """A date search value with a time of day: its prefix and its implicit range, the
    half-open UTC interval from `start` up to `end`."""

    prefix: str
    start: datetime
    end: datetime

    def satisfies(self, start: datetime, end: datetime) -> bool:
        """Whether a target whose implicit range is [start, end) matches (FHIR R4)."""
        inside = start >= self.start and end <= self.end
        return {
            "eq": inside,
            "gt": end > self.end,
            "lt": start < self.start,
            "ge": end > self.end or inside,
            "le": start < self.start or inside,
            "sa": start >= self.end,
            "eb": end <= self.start,
        }[self.prefix]

    def widened(self) -> DayQuery:
        """A day query finding every target this value may match, whatever zones its
        dates were written in (time zones run from -12:00 to +14:00, so a local day
        is within a day of the UTC one; a day more keeps the edges of a Period's `ge`/`le`)."""
        low = (self.start - _ZONE_MARGIN).date()
        high = (self.end + _ZONE_MARGIN).date()
        if self.prefix in {"gt", "ge", "sa"}:
            return _day_query("ge", low, low)  # ends after it or starts from it on
        if self.prefix in {"lt", "le", "eb"}:
            return _day_query("le", high, high)
        return _day_query("eq", low, high)


def instant_query(value: str) -> InstantQuery:
    """A date search value with a time of day, read (`2020-03-15T10:00Z`, `gt...+02:00`)."""
    prefix, rest = split_prefix(value.strip())
    found = _INSTANT.fullmatch(rest)
    if found is None or found.group(4) is None:
        raise DateQueryError("give a time as YYYY-MM-DDThh:mm[:ss][Z|+hh:mm]")
    start, end = _instant_period(found)
    return InstantQuery(prefix, start, end)


def date_matches(value: str, resource: dict[str, Any]) -> bool:
    """Whether a resource's clinical date (a single date or a Period) matches one search
    value (checked by the search already: a malformed one never gets here), compared
    at the value's precision."""
    span = date_span(resource)
    if span is None:
        return False
    try:
        if has_time(value):
            start, end = _instant_span(span)
            return instant_query(value).satisfies(start, end)
        first, last = _day_span(span)
        return day_query(value).satisfies(first, last)
    except DateQueryError:  # a stored date outside what a query may name: never matches
        return False


class DateQueryError(ValueError):
    """A date search value this server cannot answer; the message says why (no value)."""


def level_param(level: str, edge: str = DATE) -> str:
    """The index parameter of one bucket level of a single date, or of a Period's start
    or end."""
    return f"{edge}:{level}"


@dataclass(frozen=True)
class DateSpan:
    """A target's clinical date as written (`2020`, `2020-03-15T10:00Z`, ...): its start
    and its end, the same for a single date; None for an open end of a Period."""

    start: str | None
    end: str | None
    period: bool = False


def dated_by_periods(resource_type: str) -> bool:
    """Whether the type's date parameter may search a Period (else single dates only)."""
    spec = DATE_PARAMS.get(resource_type)
    return spec is not None and any(name.endswith(("period", "Period")) for name in spec[1])


def date_span(resource: dict[str, Any]) -> DateSpan | None:
    """The start and end of the clinical date a type's date parameter searches (the
    first field present wins), or None when it has none (or none this server reads).

    A start before `FIRST_YEAR` or an end after `LAST_YEAR`, beyond the buckets'
    reach, counts as open: `9999-12-31` is a common way of writing "no end yet"."""
    span = _written_span(resource)
    if span is None or not span.period:
        return span
    start = None if span.start and _year(span.start) < FIRST_YEAR else span.start
    end = None if span.end and _year(span.end) > LAST_YEAR else span.end
    return DateSpan(start, end, period=True)


def _written_span(resource: dict[str, Any]) -> DateSpan | None:
    """`date_span` as written, its ends in order."""
    spec = DATE_PARAMS.get(str(resource.get("resourceType")))
    for field_name in spec[1] if spec else ():
        value = resource.get(field_name)
        if isinstance(value, dict):
            start, end = _readable(value.get("start")), _readable(value.get("end"))
            if start or end:
                return _in_order(DateSpan(start, end, period=True))
        elif (written := _readable(value)) is not None:
            return DateSpan(written, written)
    return None


def _year(written: str) -> int:
    return int(written[:4])


def _readable(value: object) -> str | None:
    """A date as written, trimmed, if it begins with one (`_PARTIAL`); else None."""
    if isinstance(value, str) and _PARTIAL.match(value.strip()):
        return value.strip()
    return None


def _in_order(span: DateSpan) -> DateSpan:
    """A Period written end before start (FHIR forbids it, per-1) spans the same days
    the other way round: searched, and matched after decryption, as that range."""
    if span.start is None or span.end is None:
        return span
    try:
        inverted = _written_days(span.end)[1] < _written_days(span.start)[0]
    except DateQueryError:  # not a calendar date: kept as written, matched by nothing
        return span
    return DateSpan(span.end, span.start, period=True) if inverted else span


def _written_days(written: str) -> tuple[date, date]:
    """The first and last day of a date as written (its implicit range, in days)."""
    found = _PARTIAL.match(written)
    if found is None:
        raise DateQueryError("not a date")
    return _period_of(found)


def _day_span(span: DateSpan) -> tuple[date, date]:
    """The days a target spans: the first of its start to the last of its end."""
    first = _written_days(span.start)[0] if span.start else date.min
    last = _written_days(span.end)[1] if span.end else date.max
    return first, last


def _instant_span(span: DateSpan) -> tuple[datetime, datetime]:
    """The instants a target spans, half-open: from the earliest instant of its dates
    to the end of the latest (its ends are in order by the days as written, in their
    own zones, which two zones can turn around in UTC)."""
    written = [_instant_of(w) for w in (span.start, span.end) if w]
    first = min(s for s, _ in written) if span.start else datetime.min.replace(tzinfo=UTC)
    last = max(e for _, e in written) if span.end else datetime.max.replace(tzinfo=UTC)
    return first, last


def _instant_of(written: str) -> tuple[datetime, datetime]:
    found = _INSTANT.match(written)
    if found is None:
        raise DateQueryError("not a date")
    return _instant_period(found)


def date_terms(resource: dict[str, Any]) -> Iterator[Term]:
    """The bucket terms of a resource's clinical date (padded below a date's precision):
    four of a single date; four of a Period's start and four of its end (markers for an
    open one)."""
    span = date_span(resource)
    if span is None:
        return
    if not span.period:
        yield from _edge_terms(DATE, span.start)
        return
    yield from _edge_terms(START, span.start)
    yield from _edge_terms(END, span.end)


def _edge_terms(edge: str, written: str | None) -> Iterator[Term]:
    """The four terms of one date of a target (`_OPEN` padding when it has none)."""
    found = _PARTIAL.match(written) if written else None
    if found is None:
        for level in LEVELS:
            yield level_param(level, edge), f"{_PAD}{level}\x00{_OPEN}"
        return
    text = found.group(0)
    parts = text.split("-")
    values = [parts[0][:3], parts[0], "-".join(parts[:2]), text]
    for depth, level in enumerate(LEVELS):
        real = depth <= len(parts)  # decade and year always; month, day if written
        yield level_param(level, edge), values[depth] if real else f"{_PAD}{level}\x00{text}"


def sort_key(resource: dict[str, Any]) -> str:
    """What `_sort=date` orders by: the first instant of the clinical date, in UTC, as
    fixed-width text (`2020-03-15T09:00:00.000000Z`), so that text order is time order
    whatever zone each date was written in (empty: undated). The first field present
    wins; a Period gives its start, else its end. A date outside the years a query may
    name keeps its text as written (it begins with its year, as the key does)."""
    span = _written_span(resource)
    written = (span.start or span.end or "") if span else ""
    if not written:
        return ""
    try:
        first = _instant_of(written)[0]
    except DateQueryError:
        return written
    return first.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class DayRange:
    """Days from `first` to `last`, both included."""

    first: date
    last: date


def split_prefix(value: str) -> tuple[str, str]:
    """A search value's prefix (`eq` when none) and the rest."""
    head = value[:2]
    if head in PREFIXES:
        return head, value[2:]
    if head.isalpha() and value[2:3].isdigit():
        raise DateQueryError(f"prefix {head!r} is not supported; use one of {', '.join(PREFIXES)}")
    if head[:1].isalpha():  # not a prefix before a date: a word (`garbage`, `today`)
        raise DateQueryError(
            "give a date as YYYY, YYYY-MM or YYYY-MM-DD, after a prefix if any "
            f"({', '.join(PREFIXES)})"
        )
    return "eq", value


@dataclass(frozen=True)
class DayQuery:
    """One clinical-date search value: its prefix, its own period (`first` to `last`, the
    implicit range of what was written) and the days a single date written to the day
    must fall on to match."""

    prefix: str
    first: date
    last: date
    days: DayRange

    def satisfies(self, start: date, end: date) -> bool:
        """Whether a target spanning the days `start`..`end` matches (FHIR R4)."""
        inside = start >= self.first and end <= self.last
        return {
            "eq": inside,
            "gt": end > self.last,
            "lt": start < self.first,
            "ge": end > self.last or inside,
            "le": start < self.first or inside,
            "sa": start > self.last,
            "eb": end < self.first,
        }[self.prefix]

    def period_lookups(self) -> list[list[Term]]:
        """The index lookups that find exactly the Periods this value matches: a Period
        matches when it holds a term of every list.

        With S the first day of a target's start and E the last of its end, and
        the value's range [a, b] (`satisfies`): eq is S >= a and E <= b; gt E > b;
        ge E > b or S >= a (a target starting inside the value either ends inside it or
        after it); lt S < a; le S < a or E <= b; sa S > b; eb E < a. Targets are
        ranges whose start comes first (`_in_order`), so S >= a and E <= b also put
        both inside [a, b]: eq looks up only the days of the value.
        """
        a, b = self.first, self.last
        match self.prefix:
            case "eq":
                return [_starts_within(a, b), _ends_within(a, b)]
            case "gt":
                return [_ends_from(b + _DAY)]
            case "ge":
                return [_ends_from(b + _DAY) + _starts_from(a)]
            case "lt":
                return [_starts_until(a - _DAY)]
            case "le":
                return [_starts_until(a - _DAY) + _ends_until(b)]
            case "sa":
                return [_starts_from(b + _DAY)]
            case _:  # eb
                return [_ends_until(a - _DAY)]


def day_query(value: str) -> DayQuery:
    """A clinical-date search value read (`ge2020-03`, `lt2021-01-15`, ...)."""
    prefix, rest = split_prefix(value.strip())
    found = _PARTIAL.fullmatch(rest)
    if found is None:
        raise DateQueryError("give a date as YYYY, YYYY-MM or YYYY-MM-DD (no time of day)")
    first, last = _period_of(found)
    return _day_query(prefix, first, last)


def _day_query(prefix: str, first: date, last: date) -> DayQuery:
    return DayQuery(prefix, first, last, _days(prefix, first, last))


def day_range(value: str) -> DayRange:
    """The days a clinical-date search value selects for a single date written to the day."""
    return day_query(value).days


def partial_terms(queries: list[DayQuery]) -> list[Term]:
    """The padding terms of the single dates written to the month or year that every
    query finds although its days do not cover them (at most two months and two years
    per query: those holding the edges of its period)."""
    candidates: set[tuple[date, date, str]] = set()
    for query in queries:
        for edge in (query.first, query.last):
            candidates.update(_partials(edge))
    return sorted(
        _padding(DATE, written)
        for start, end, written in candidates
        if all(query.satisfies(start, end) for query in queries)
    )


def _days(prefix: str, first: date, last: date) -> DayRange:
    """The days a single date written to the day must fall on to match."""
    if prefix in {"gt", "sa"}:
        return DayRange(last + _DAY, max(_LAST_DAY, last + _DAY))
    if prefix == "ge":
        return DayRange(first, max(_LAST_DAY, first))
    if prefix in {"lt", "eb"}:
        return DayRange(min(_FIRST_DAY, first - _DAY), first - _DAY)
    if prefix == "le":
        return DayRange(min(_FIRST_DAY, last), last)
    return DayRange(first, last)


# The edges of a target, each exactly (the bucket terms of a date written to the day,
# month or year, and the markers of an open start or end):
# a date's first day is on or after `day` exactly when its buckets are in the days from
# `day` on; its last day is on or before `day` exactly when they are in the days up to it.
# The other two comparisons also take the dates written to the month or year holding
# `day`, which begin on or before it and end after it: their day-level padding.


def _starts_from(day: date) -> list[Term]:
    """A start whose first day is `day` or later."""
    return cover(DayRange(day, max(_LAST_DAY, day)), START)


def _starts_until(day: date) -> list[Term]:
    """A start whose first day is `day` or earlier, or none (an open start)."""
    days = DayRange(min(_FIRST_DAY, day), day)
    return [*cover(days, START), *_holding(START, day), _open(START)]


def _ends_from(day: date) -> list[Term]:
    """An end whose last day is `day` or later, or none (an open end)."""
    days = DayRange(day, max(_LAST_DAY, day))
    return [*cover(days, END), *_holding(END, day), _open(END)]


def _ends_until(day: date) -> list[Term]:
    """An end whose last day is `day` or earlier."""
    return cover(DayRange(min(_FIRST_DAY, day), day), END)


def _starts_within(first: date, last: date) -> list[Term]:
    """A start whose first day is from `first` to `last`: those inside the days, and a
    month or year holding `last` that begins no earlier than `first`."""
    partial = [p for p in _partials(last) if p[0] >= first]
    return [*cover(DayRange(first, last), START), *(_padding(START, p[2]) for p in partial)]


def _ends_within(first: date, last: date) -> list[Term]:
    """An end whose last day is from `first` to `last`: those inside the days, and a
    month or year holding `first` that ends no later than `last`."""
    partial = [p for p in _partials(first) if p[1] <= last]
    return [*cover(DayRange(first, last), END), *(_padding(END, p[2]) for p in partial)]


def _partials(day: date) -> list[tuple[date, date, str]]:
    """The month and the year holding `day`: their first and last day and how each is
    written as a date."""
    month = date(day.year, day.month, 1)
    return [
        (month, _month_end(month), f"{month:%Y-%m}"),
        (date(day.year, 1, 1), date(day.year, 12, 31), f"{day.year:04d}"),
    ]


def _holding(edge: str, day: date) -> list[Term]:
    """The padding terms of the dates written to the month or the year holding `day`."""
    return [_padding(edge, written) for _, _, written in _partials(day)]


def _padding(edge: str, written: str) -> Term:
    """The day-level padding term of a date written to the month or year."""
    return level_param("d", edge), f"{_PAD}d\x00{written}"


def _open(edge: str) -> Term:
    """The day-level marker of a Period without that edge."""
    return level_param("d", edge), f"{_PAD}d\x00{_OPEN}"


def _period_of(found: re.Match[str]) -> tuple[date, date]:
    year, month, day = (int(g) if g else None for g in found.groups())
    assert year is not None
    _check_year(year)
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), _month_end(date(year, month, 1))
        return date(year, month, day), date(year, month, day)
    except ValueError:
        raise DateQueryError("not a calendar date") from None


def _check_year(year: int) -> None:
    """Years a query may name: four digits, with room on both sides for `lt` and `gt`."""
    if not MIN_QUERY_YEAR <= year <= MAX_QUERY_YEAR:
        raise DateQueryError(f"give a year from {MIN_QUERY_YEAR} to {MAX_QUERY_YEAR}")


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - _DAY


_FIRST_DAY = date(FIRST_YEAR, 1, 1)
_LAST_DAY = date(LAST_YEAR, 12, 31)


def cover(days: DayRange, edge: str = DATE) -> list[Term]:
    """The fewest (level parameter, bucket) terms of a single date, or of a Period's start
    or end, whose buckets are exactly `days`."""
    terms: list[Term] = []
    day = days.first
    while day <= days.last:
        bucket, day = _largest_bucket(day, days.last)
        terms.append((level_param(bucket[0], edge), bucket[1]))
    return terms


def _largest_bucket(day: date, last: date) -> tuple[tuple[str, str], date]:
    """The biggest bucket (level, bucket) starting at `day` that ends by `last`, and the
    day after it (query years stop at `MAX_QUERY_YEAR`, so the day after always exists)."""
    if day.month == 1 and day.day == 1:
        if day.year % 10 == 0 and last >= date(day.year + 9, 12, 31):
            return ("c", str(day.year)[:3]), date(day.year + 10, 1, 1)
        if last >= date(day.year, 12, 31):
            return ("y", str(day.year)), date(day.year + 1, 1, 1)
    if day.day == 1 and last >= _month_end(day):
        end = _month_end(day)
        return ("m", f"{day:%Y-%m}"), end + _DAY
    return ("d", day.isoformat()), day + _DAY


@dataclass(frozen=True)
class InstantRange:
    """A half-open UTC interval: from `start` (None: unbounded) up to, not including, `end`."""

    start: datetime | None
    end: datetime | None


def instant_range(value: str) -> InstantRange:
    """The instants a `_lastUpdated` value selects, as precise as it is written.

    A value without a zone (a date, or a time without offset) is read as UTC; a
    fraction of a second counts to its last digit (microseconds at the finest).
    """
    prefix, rest = split_prefix(value.strip())
    found = _INSTANT.fullmatch(rest)
    if found is None:
        raise DateQueryError("give an instant as YYYY[-MM[-DD[Thh:mm[:ss][Z|+hh:mm]]]]")
    first, following = _instant_period(found)
    if prefix in {"gt", "sa"}:
        return InstantRange(following, None)
    if prefix == "ge":
        return InstantRange(first, None)
    if prefix in {"lt", "eb"}:
        return InstantRange(None, first)
    if prefix == "le":
        return InstantRange(None, following)
    return InstantRange(first, following)


def _instant_period(found: re.Match[str]) -> tuple[datetime, datetime]:
    """The first instant a value names and the first after it, at its precision."""
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    _check_year(int(year))
    try:
        tz = UTC if zone in {None, "Z"} else datetime.strptime(zone, "%z").tzinfo
        start = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise DateQueryError("not a calendar date and time") from None
    if fraction:  # to the digit written, a microsecond at the finest (what is stored)
        step = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
    elif second:
        step = timedelta(seconds=1)
    elif minute:
        step = timedelta(minutes=1)
    elif day:
        step = timedelta(days=1)
    elif month:
        following = _month_end(start.date()) + _DAY
        return start, datetime(following.year, following.month, 1, tzinfo=UTC)
    else:
        return start, datetime(start.year + 1, 1, 1, tzinfo=UTC)
    return start, start + step
