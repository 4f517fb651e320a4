"""Date buckets: a range's cover holds exactly its days, in few buckets."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from carewall.records.store.dates import (
    DateQueryError,
    DayRange,
    cover,
    date_terms,
    day_range,
    instant_range,
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
