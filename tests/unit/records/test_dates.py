"""Date buckets: a range's cover holds exactly its days, in few buckets, and the terms
a search looks up find exactly the dates and Periods FHIR's range rules find."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from carewall.records.store.dates import (
    PREFIXES,
    DateQueryError,
    DayQuery,
    DayRange,
    cover,
    date_matches,
    date_terms,
    day_query,
    day_range,
    instant_query,
    instant_range,
    partial_terms,
)


def _days_of(term: tuple[str, str]) -> set[date]:
    """Every day a bucket term stands for."""
    level, bucket = term
    if level.endswith(":d"):
        return {date.fromisoformat(bucket)}
    if level.endswith(":m"):
        first = date.fromisoformat(f"{bucket}-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    elif level.endswith(":y"):
        first, following = date(int(bucket), 1, 1), date(int(bucket) + 1, 1, 1)
    else:
        first, following = date(int(bucket) * 10, 1, 1), date(int(bucket) * 10 + 10, 1, 1)
    return {first + timedelta(days=n) for n in range((following - first).days)}


def test_a_cover_is_exactly_the_range_and_small() -> None:
    rng = random.Random(5)  # noqa: S311 - reproducible test dates, not secrets
    for _ in range(300):
        first = date(1990, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        last = first + timedelta(days=rng.randrange(30 * 365))
        terms = cover(DayRange(first, last))
        days = [d for term in terms for d in _days_of(term)]
        assert len(days) == len(set(days)), "buckets do not overlap"
        assert set(days) == {first + timedelta(days=n) for n in range((last - first).days + 1)}
        assert len(terms) <= 2 * (30 + 11 + 9) + 4, "at most a few buckets per level and end"


def test_a_resource_is_found_by_the_buckets_of_its_day() -> None:
    observation = {"resourceType": "Observation", "effectiveDateTime": "2020-02-29T23:59:00-08:00"}
    terms = set(date_terms(observation))
    assert terms == {
        ("date:c", "202"),
        ("date:y", "2020"),
        ("date:m", "2020-02"),
        ("date:d", "2020-02-29"),
    }
    assert set(cover(day_range("2020-02-29"))) <= terms
    assert not set(cover(day_range("2020-03-01"))) & terms
    period = {"resourceType": "Encounter", "period": {"start": "2020-02-29T23:59:00-08:00"}}
    assert _held(set(date_terms(period)), day_query("2020-02-29")) is False  # not inside
    assert _held(set(date_terms(period)), day_query("ge2020-02-29"))


def test_a_date_has_four_terms_and_a_period_eight_whatever_their_precision() -> None:
    """Dates written to the month or year are padded, and a Period's missing end or start
    has markers: the number of terms tells a Period from a single date, nothing more."""
    shapes: list[tuple[dict[str, Any], list[str]]] = [
        ({"effectiveDateTime": "2020-02-29"}, ["date"]),
        ({"effectiveDateTime": "2020"}, ["date"]),
        (
            {"effectivePeriod": {"start": "2020-02-01T10:00:00Z", "end": "2020-03"}},
            ["start", "end"],
        ),
        ({"effectivePeriod": {"start": "2020-02-01"}}, ["start", "end"]),
        ({"effectivePeriod": {"end": "2020-02-01"}}, ["start", "end"]),
        ({"effectivePeriod": {"start": "2020-02", "end": "2020-02"}}, ["start", "end"]),
    ]
    for shape, edges in shapes:
        terms = list(date_terms({"resourceType": "Observation", **shape}))
        assert sorted(param for param, _ in terms) == sorted(
            f"{edge}:{level}" for edge in edges for level in "cymd"
        ), shape
    assert not list(date_terms({"resourceType": "Observation", "effectivePeriod": {}}))


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("2020", date(2020, 1, 1), date(2020, 12, 31)),
        ("eq2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("gt2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("sa2020-02-29", date(2020, 2, 29), date(2020, 2, 29)),
        ("lt1500", date(1500, 1, 1), date(1500, 12, 31)),
    ],
)
def test_a_value_is_its_implicit_range(value: str, first: date, last: date) -> None:
    query = day_query(value)
    assert (query.first, query.last) == (first, last)


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("2020", date(2020, 1, 1), date(2020, 12, 31)),
        ("eq2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("gt2020-02", date(2020, 3, 1), date(2199, 12, 31)),
        ("sa2020-02-29", date(2020, 3, 1), date(2199, 12, 31)),
        ("le2020", date(1800, 1, 1), date(2020, 12, 31)),
        ("eb2020-03-01", date(1800, 1, 1), date(2020, 2, 29)),
        ("lt1500", date(1499, 12, 31), date(1499, 12, 31)),
    ],
)
def test_prefixes_select_the_days_of_a_single_date(value: str, first: date, last: date) -> None:
    assert day_range(value) == DayRange(first, last)


@pytest.mark.parametrize(
    "value",
    [
        "ap2020",
        "2020-1",
        "20200101",
        "2020-01-01T10:00",
        "9999",
        "٢٠٢٤",
        "\uff12\uff10\uff12\uff14",
    ],
)
def test_values_it_cannot_answer(value: str) -> None:
    with pytest.raises(DateQueryError):
        day_query(value)


def test_instants_keep_their_precision() -> None:
    span = instant_range("lt2020-03-15T10:00:00+02:00")
    assert span.start is None
    assert span.end is not None
    assert span.end.isoformat() == "2020-03-15T08:00:00+00:00"
    second = instant_range("2020-03-15T10:00:05Z")
    assert second.start is not None
    assert second.end is not None
    assert (second.end - second.start).total_seconds() == 1


def _written_range(written: str) -> tuple[date, date]:
    """The implicit range of a date as written (a day, a month or a year)."""
    parts = [int(p) for p in written.split("-")]
    if len(parts) == 3:
        day = date(*parts)
        return day, day
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - timedelta(days=1)
    return date(parts[0], 1, 1), date(parts[0], 12, 31)


def _held(terms: set[tuple[str, str]], query: DayQuery) -> bool:
    """Whether a Period holding `terms` is found by `query`'s lookups (a term of each)."""
    return all(terms & set(lookup) for lookup in query.period_lookups())


def _found(written: str | tuple[str | None, str | None], queries: list[DayQuery]) -> bool:
    """Whether the terms a search looks up for `queries` (each occurrence must hold, as
    `store.search` asks) meet the terms of a resource dated `written`, a single date
    (whose occurrences the search intersects into one cover) or a Period's (start, end)."""
    held = set(date_terms(_observation(written)))
    if isinstance(written, str):
        first = max(q.days.first for q in queries)
        last = min(q.days.last for q in queries)
        asked = set(cover(DayRange(first, last)) if first <= last else [])
        asked |= set(partial_terms(queries))
        return bool(asked & held)
    return all(_held(held, query) for query in queries)


def _observation(written: str | tuple[str | None, str | None]) -> dict[str, object]:
    if isinstance(written, str):
        return {"resourceType": "Observation", "effectiveDateTime": written}
    start, end = written
    period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    return {"resourceType": "Observation", "effectivePeriod": period}


def _target_range(written: str | tuple[str | None, str | None]) -> tuple[date, date]:
    """The days a single date or a Period spans (an open end: as far as dates go)."""
    if isinstance(written, str):
        return _written_range(written)
    start, end = written
    first = _written_range(start)[0] if start else date.min
    last = _written_range(end)[1] if end else date.max
    return first, last


def _random_value(rng: random.Random) -> str:
    written = _random_written(rng)
    return f"{rng.choice(PREFIXES)}{written}"


def _random_written(rng: random.Random) -> str:
    day = date(2019, 1, 1) + timedelta(days=rng.randrange(3 * 366))
    return rng.choice([day.isoformat(), f"{day:%Y-%m}", f"{day.year}"])


def _random_target(rng: random.Random) -> str | tuple[str | None, str | None]:
    """A single date, or a Period from a date to a later one, or open at either end."""
    start = _random_written(rng)
    shape = rng.choice(["date", "period", "open end", "open start"])
    if shape == "date":
        return start
    if shape == "open end":
        return start, None
    if shape == "open start":
        return None, start
    end = _random_written(rng)
    if _written_range(end)[1] < _written_range(start)[0]:
        start, end = end, start
    return start, end


def test_the_terms_looked_up_find_what_fhirs_range_rules_find() -> None:
    """For single dates and Periods (open or not) written to the day, month or year,
    and values of every prefix and precision, alone and two at once: found by the index
    exactly when FHIR says, and `date_matches` (after decryption) agrees."""
    rng = random.Random(16)  # noqa: S311 - reproducible test dates, not secrets
    for _ in range(6000):
        values = [_random_value(rng) for _ in range(rng.choice([1, 2]))]
        queries = [day_query(value) for value in values]
        written = _random_target(rng)
        start, end = _target_range(written)
        expected = all(q.satisfies(start, end) for q in queries)
        assert _found(written, queries) == expected, (written, values)
        resource = _observation(written)
        assert all(date_matches(value, resource) for value in values) == expected


def test_an_instant_query_looks_up_a_superset_of_what_it_matches() -> None:
    """The days a value with a time of day looks up hold every target it matches, in
    any zone the target's dates were written in."""
    rng = random.Random(17)  # noqa: S311 - reproducible test dates, not secrets
    zones = ["Z", "+14:00", "-12:00", "+05:30", ""]
    for _ in range(3000):
        day = date(2020, 1, 1) + timedelta(days=rng.randrange(60))
        value = f"{rng.choice(PREFIXES)}{day}T{rng.randrange(24):02}:{rng.randrange(60):02}Z"
        written = _random_timed(rng, zones)
        resource = _observation(written)
        if date_matches(value, resource):
            assert _found(written, [instant_query(value).widened()]), (value, written)


def _random_timed(rng: random.Random, zones: list[str]) -> str | tuple[str | None, str | None]:
    def one() -> str:
        day = date(2020, 1, 1) + timedelta(days=rng.randrange(60))
        return f"{day}T{rng.randrange(24):02}:{rng.randrange(60):02}:00{rng.choice(zones)}"

    first, second = sorted([one(), one()])
    shapes: list[str | tuple[str | None, str | None]] = [
        first,
        (first, second),
        (first, None),
        (None, first),
    ]
    return rng.choice(shapes)


@pytest.mark.parametrize(
    ("value", "written", "found"),
    [
        # An encounter from the 1st to the 10th overlaps what follows the 5th.
        ("ge2024-04-05", ("2024-04-01", "2024-04-10"), True),
        ("gt2024-04-10", ("2024-04-01", "2024-04-10"), False),
        ("le2024-04-05", ("2024-04-01", "2024-04-10"), True),
        ("lt2024-04-01", ("2024-04-01", "2024-04-10"), False),
        ("eq2024-04", ("2024-04-01", "2024-04-10"), True),
        ("eq2024-04-05", ("2024-04-01", "2024-04-10"), False),  # not inside one day
        ("sa2024-03", ("2024-04-01", "2024-04-10"), True),
        ("eb2024-04-10", ("2024-04-01", "2024-04-10"), False),
        # Ongoing: it overlaps every future; begun when it did, before nothing earlier.
        ("ge2099", ("2024-04-01", None), True),
        ("eq2024", ("2024-04-01", None), False),
        ("lt2024-04-02", ("2024-04-01", None), True),
        ("eb2030", ("2024-04-01", None), False),
        ("lt1900", (None, "2024-04-10"), True),  # no start: it reaches back before all
    ],
)
def test_periods_follow_the_range_rules(
    value: str, written: tuple[str | None, str | None], found: bool
) -> None:
    assert _found(written, [day_query(value)]) is found
    assert date_matches(value, _observation(written)) is found


@pytest.mark.parametrize(
    ("value", "written", "found"),
    [
        ("ge2021-06-15", "2021-06", True),  # June overlaps what follows the 15th
        ("ge2021-06-30", "2021-06", False),  # nothing of June follows the 30th
        ("gt2021-06", "2021", True),
        ("ge2021", "2021", True),  # inside the value
        ("le2021-01-01", "2021", False),
        ("lt2021-01-02", "2021", True),
        ("sa2021-05", "2021-06", True),
        ("eb2021-06-15", "2021-06", False),
        ("eq2021-06-15", "2021-06", False),
        ("eq2021", "2021-06", True),
    ],
)
def test_partial_dates_follow_the_range_rules(value: str, written: str, found: bool) -> None:
    assert _found(written, [day_query(value)]) is found


@pytest.mark.parametrize(
    ("written", "value"),
    [
        (("2024-01-01", "9999-12-31"), "ge2025"),
        (("2024-01-01", "9999-12-31"), "gt2300-01-01T00:00:00Z"),
        (("0001-01-01", "2024-01-01"), "lt2024"),
        (("0001-01-01", "2024-01-01"), "lt1900-06-01T00:00:00Z"),
    ],
)
def test_a_date_beyond_the_buckets_is_an_open_end(written: tuple[str, str], value: str) -> None:
    """`9999-12-31`, a common way to write "no end yet", is found as an ongoing Period
    is; a start written as year 1 as one without a start."""
    query = instant_query(value).widened() if "T" in value else day_query(value)
    assert _found(written, [query])
    assert date_matches(value, _observation(written))


def test_ends_written_in_two_zones_are_compared_as_instants() -> None:
    """An hour from 22:30Z to 23:30Z, its start written in +02:00 (on the next day there):
    a time of day is compared with those instants, not with the days as written."""
    written = ("2024-04-06T00:30:00+02:00", "2024-04-05T23:30:00Z")
    resource = _observation(written)
    assert not date_matches("eq2024-04-05T23:00:00Z", resource)
    assert date_matches("gt2024-04-05T23:00:00Z", resource)
    assert date_matches("lt2024-04-05T23:00:00Z", resource)
    assert not date_matches("sa2024-04-05T23:00:00Z", resource)
    assert _found(written, [instant_query("gt2024-04-05T23:00:00Z").widened()])
    assert _found(written, [instant_query("lt2024-04-05T23:00:00Z").widened()])
