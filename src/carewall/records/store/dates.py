"""Dates in search: the clinical date of each type, its bucket terms, and range queries.

Clinical dates are content (PHI), so they are found like every other value:
through keyed blind indexes. A range cannot be asked of an HMAC, so each dated
resource carries one term per calendar bucket its date falls in, and a range
query is expanded into the fewest buckets that cover it exactly:

- `date:c` the decade ("202" for 2020-2029), `date:y` the year, `date:m` the
  month and `date:d` the day of the date as written (its own time zone; the
  time of day is not indexed).
- Every dated resource has exactly four date rows: a date written only to the
  year or month gets padding terms for the finer levels (keyed like the
  others, so the row count does not tell the precision). Its day-level
  padding names its month (or year), and is what finds such a date where FHIR
  says a range finds it without covering it (`partial_terms`).
- A Period is found by its start (its end when it has no start).

FHIR compares ranges (R4 search, date): the value's implicit range (a day,
a month, a year) against the target's. `eq` finds targets inside the value's
range and `sa`/`eb` targets wholly after/before it: for those the exact cover
of `day_range` is the answer. `gt`/`lt` find targets that overlap the range
after/before the value, and `ge`/`le` also those inside it: a date written to
the month or year that straddles the edge (June 2021 for `ge2021-06-15`) is
found too, through its padding term (`satisfies` says which ones).

Ranges in the index are at most day-precise (`ge2020-03-15`, `lt2021`,
`eq2020-03`); an open end reaches `FIRST_YEAR` or `LAST_YEAR`. A value with a
time of day (`ge2020-03-15T10:00:00+01:00`, `InstantQuery`) is that instant at
its precision, compared with the target's own implicit range (a date without a
time is its whole day, a time without a zone UTC): the index cannot see times,
so the search looks up the days around it (`widened`, a superset) and
`records.access` decrypts those candidates to compare (`date_matches`). A cover has at most about 60
buckets plus one per decade, so a query's work is bounded whatever the range.

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
FIRST_YEAR = 1800
LAST_YEAR = 2199
MIN_QUERY_YEAR = 1000
MAX_QUERY_YEAR = 9998
_PAD = "\x00pad"
_DAY = timedelta(days=1)
_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_INSTANT = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
# Search prefixes (FHIR R4 3.1.1.4.2); `sa`/`eb` of a point in time are `gt`/`lt`.
PREFIXES = ("eq", "lt", "le", "gt", "ge", "sa", "eb")


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
        """Days that hold every date this value may match, whatever zone it was written
        in (a day either side: time zones run from -12:00 to +14:00)."""
        low = (self.start - _DAY).date()
        high = (self.end + _DAY).date()
        if self.prefix in {"gt", "ge", "sa"}:
            return DayQuery("ge", low, low, _days("ge", low, low))
        if self.prefix in {"lt", "le", "eb"}:
            return DayQuery("le", high, high, _days("le", high, high))
        return DayQuery("eq", low, high, DayRange(low, high))


def instant_query(value: str) -> InstantQuery:
    """A date search value with a time of day, read (`2020-03-15T10:00Z`, `gt...+02:00`)."""
    prefix, rest = split_prefix(value.strip())
    found = _INSTANT.fullmatch(rest)
    if found is None or found.group(4) is None:
        raise DateQueryError("give a time as YYYY-MM-DDThh:mm[:ss][Z|+hh:mm]")
    start, end = _instant_period(found)
    return InstantQuery(prefix, start, end)


def date_matches(value: str, resource: dict[str, Any]) -> bool:
    """Whether a resource's clinical date matches one search value (checked by the search
    already: a malformed one never gets here), compared at the value's precision."""
    written = sort_key(resource)
    try:
        if has_time(value):
            found = _INSTANT.fullmatch(written)
            if found is None:
                return False
            start, end = _instant_period(found)
            return instant_query(value).satisfies(start, end)
        days = _PARTIAL.match(written)
        if days is None:
            return False
        first, last = _period_of(days)
        return day_query(value).satisfies(first, last)
    except DateQueryError:  # a stored date outside what a query may name: never matches
        return False


class DateQueryError(ValueError):
    """A date search value this server cannot answer; the message says why (no value)."""


def level_param(level: str) -> str:
    """The index parameter of one bucket level."""
    return f"date:{level}"


def clinical_date(resource: dict[str, Any]) -> str | None:
    """The date as written (`2020`, `2020-03`, `2020-03-15`) a type's date parameter
    searches, or None."""
    found = _PARTIAL.match(sort_key(resource))
    return found.group(0) if found else None


def date_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The four bucket terms of a resource's clinical date (padded below its precision)."""
    written = clinical_date(resource)
    if written is None:
        return
    parts = written.split("-")
    values = [parts[0][:3], parts[0], "-".join(parts[:2]), written]
    for depth, level in enumerate(LEVELS):
        real = depth <= len(parts)  # decade and year always; month, day if written
        yield level_param(level), values[depth] if real else f"{_PAD}{level}\x00{written}"


def sort_key(resource: dict[str, Any]) -> str:
    """The whole clinical date value as written, time and zone included, which
    `_sort=date` orders by (empty: undated). The first field present wins; a Period
    gives its start, else its end."""
    spec = DATE_PARAMS.get(str(resource.get("resourceType")))
    for field_name in spec[1] if spec else ():
        value = resource.get(field_name)
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


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
    implicit range of what was written) and the days a day-precise date must fall on."""

    prefix: str
    first: date
    last: date
    days: DayRange

    def satisfies(self, start: date, end: date) -> bool:
        """Whether a target date whose implicit range is `start`..`end` matches (FHIR R4)."""
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


def day_query(value: str) -> DayQuery:
    """A clinical-date search value read (`ge2020-03`, `lt2021-01-15`, ...)."""
    prefix, rest = split_prefix(value.strip())
    found = _PARTIAL.fullmatch(rest)
    if found is None:
        raise DateQueryError("give a date as YYYY, YYYY-MM or YYYY-MM-DD (no time of day)")
    first, last = _period_of(found)
    return DayQuery(prefix, first, last, _days(prefix, first, last))


def day_range(value: str) -> DayRange:
    """The days a clinical-date search value selects for a date written to the day."""
    return day_query(value).days


def partial_terms(queries: list[DayQuery]) -> list[tuple[str, str]]:
    """The padding terms of the dates written to the month or year that every query
    finds although its days do not cover them (at most two months and two years per
    query: those holding the edges of its period)."""
    candidates: set[tuple[date, date, str]] = set()
    for query in queries:
        for edge in (query.first, query.last):
            month = date(edge.year, edge.month, 1)
            candidates.add((month, _month_end(month), f"{month:%Y-%m}"))
            candidates.add((date(edge.year, 1, 1), date(edge.year, 12, 31), f"{edge.year}"))
    return sorted(
        (level_param("d"), f"{_PAD}d\x00{written}")
        for start, end, written in candidates
        if all(query.satisfies(start, end) for query in queries)
    )


def _days(prefix: str, first: date, last: date) -> DayRange:
    """The days a date written to the day must fall on to match."""
    low, high = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
    if prefix in {"gt", "sa"}:
        return DayRange(last + _DAY, max(high, last + _DAY))
    if prefix == "ge":
        return DayRange(first, max(high, first))
    if prefix in {"lt", "eb"}:
        return DayRange(min(low, first - _DAY), first - _DAY)
    if prefix == "le":
        return DayRange(min(low, last), last)
    return DayRange(first, last)


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


def cover(days: DayRange) -> list[tuple[str, str]]:
    """The fewest (level parameter, bucket) terms whose buckets are exactly `days`."""
    terms: list[tuple[str, str]] = []
    day = days.first
    while day <= days.last:
        bucket, day = _largest_bucket(day, days.last)
        terms.append(bucket)
    return terms


def _largest_bucket(day: date, last: date) -> tuple[tuple[str, str], date]:
    """The biggest bucket starting at `day` that ends by `last`, and the day after it
    (query years stop at `MAX_QUERY_YEAR`, so the day after always exists)."""
    if day.month == 1 and day.day == 1:
        if day.year % 10 == 0 and last >= date(day.year + 9, 12, 31):
            return (level_param("c"), str(day.year)[:3]), date(day.year + 10, 1, 1)
        if last >= date(day.year, 12, 31):
            return (level_param("y"), str(day.year)), date(day.year + 1, 1, 1)
    if day.day == 1 and last >= _month_end(day):
        end = _month_end(day)
        return (level_param("m"), f"{day:%Y-%m}"), end + _DAY
    return (level_param("d"), day.isoformat()), day + _DAY


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
