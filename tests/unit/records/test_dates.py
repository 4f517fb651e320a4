"""Date buckets: a range's cover holds exactly its days, in few buckets."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from carewall.records.store.dates import (
    PREFIXES,
    DateQueryError,
    DayQuery,
    DayRange,
    cover,
    date_terms,
    day_query,
    day_range,
    instant_range,
    partial_terms,
)


def _days_of(term: tuple[str, str]) -> set[date]:
    """Every day a bucket term stands for."""
    level, bucket = term
    if level == "date:d":
        return {date.fromisoformat(bucket)}
    if level == "date:m":
        first = date.fromisoformat(f"{bucket}-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    elif level == "date:y":
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
def test_prefixes_select_days(value: str, first: date, last: date) -> None:
    assert day_range(value) == DayRange(first, last)


@pytest.mark.parametrize("value", ["ap2020", "2020-1", "20200101", "2020-01-01T10:00", "9999"])
def test_values_it_cannot_answer(value: str) -> None:
    with pytest.raises(DateQueryError):
        day_range(value)


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


def _found(written: str, queries: list[DayQuery]) -> bool:
    """Whether the terms a search looks up for `queries` (all must hold, intersected into
    one cover as `store.search` does) meet the terms of a resource dated `written`."""
    first = max(q.days.first for q in queries)
    last = min(q.days.last for q in queries)
    asked = set(cover(DayRange(first, last)) if first <= last else [])
    asked |= set(partial_terms(queries))
    held = set(date_terms({"resourceType": "Observation", "effectiveDateTime": written}))
    return bool(asked & held)


def _random_value(rng: random.Random) -> str:
    written = _random_written(rng)
    return f"{rng.choice(PREFIXES)}{written}"


def _random_written(rng: random.Random) -> str:
    day = date(2019, 1, 1) + timedelta(days=rng.randrange(3 * 366))
    return rng.choice([day.isoformat(), f"{day:%Y-%m}", f"{day.year}"])


def test_the_terms_looked_up_find_what_fhirs_range_rules_find() -> None:
    """For targets written to the day, month or year and values of every prefix and
    precision, alone and two at once: found by the index exactly when FHIR says."""
    rng = random.Random(16)  # noqa: S311 - reproducible test dates, not secrets
    for _ in range(3000):
        queries = [day_query(_random_value(rng)) for _ in range(rng.choice([1, 2]))]
        written = _random_written(rng)
        start, end = _written_range(written)
        expected = all(q.satisfies(start, end) for q in queries)
        assert _found(written, queries) == expected, (written, queries)


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
