"""Date searches through HTTP: `_lastUpdated` ranges, clinical-date ranges and date sorts.

Clinical dates are encrypted and found through bucket terms (decade, year,
month, day under the index key); `_lastUpdated` is the plain column. Both are
checked against what a reader of the data would expect, edges included.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.services import create_resource
from tests.support.clock import FrozenClock
from tests.support.factories import SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

DATES = {
    "o-2019": "2019-12-31T23:30:00+01:00",
    "o-0301": "2020-03-01",
    "o-0315": "2020-03-15T08:00:00Z",
    "o-0331": "2020-03-31",
    "o-0401": "2020-04-01T00:00:00-05:00",
    "o-2021": "2021-06",
    "o-2030": "2030",
}


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


@pytest.fixture
def doctor(runtime: Runtime) -> dict[str, str]:
    for logical_id, when in DATES.items():
        observation = fhir_resource("Observation", "p1", id=logical_id, effectiveDateTime=when)
        create_resource(runtime, SYSTEM, observation)
    create_resource(runtime, SYSTEM, fhir_resource("Observation", "p1", id="o-undated"))
    return bearer(runtime, Role.CLINICIAN)


def _found(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    response = client.get(f"/fhir/Observation?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return sorted(_ids(response.json()))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=2020-03", ["o-0301", "o-0315", "o-0331"]),
        ("date=eq2020-03-15", ["o-0315"]),
        ("date=2019-12-31", ["o-2019"]),  # the day as written, not the day in UTC
        ("date=ge2020-03-15&date=le2020-03-31", ["o-0315", "o-0331"]),
        ("date=gt2020-03-15&date=lt2020-04-02", ["o-0331", "o-0401"]),
        ("date=sa2020-03-31", ["o-0401", "o-2021", "o-2030"]),
        ("date=eb2020-03-01", ["o-2019"]),
        ("date=lt2020", ["o-2019"]),
        ("date=ge2021", ["o-2021", "o-2030"]),
        ("date=2021", ["o-2021"]),
        # A date written to the month is found by a range covering its whole month only.
        ("date=ge2021-06-01&date=le2021-06-30", ["o-2021"]),
        ("date=2021-06-15", []),
        ("date=2030-01", []),
        ("date=ge2021&date=lt2020", []),  # ranges that do not meet
        ("date=ge2020-03-15&date=le2020-03-31&date=2020-03-31,2021", ["o-0331"]),
        ("date=2020-03-01,2020-04-01", ["o-0301", "o-0401"]),  # a comma means "any of"
        # FHIR's range rules for dates written to the month (o-2021) or year (o-2030):
        # gt/lt find a target overlapping the range after/before the value, ge/le also
        # one inside the value; eq one inside it, sa/eb one wholly after/before it.
        ("date=ge2021-06-15", ["o-2021", "o-2030"]),
        ("date=gt2021-06-15", ["o-2021", "o-2030"]),
        ("date=ge2021-06-30", ["o-2030"]),
        ("date=le2021-06-30", ["o-0301", "o-0315", "o-0331", "o-0401", "o-2019", "o-2021"]),
        ("date=lt2021-06-15", ["o-0301", "o-0315", "o-0331", "o-0401", "o-2019", "o-2021"]),
        ("date=lt2021-06-01", ["o-0301", "o-0315", "o-0331", "o-0401", "o-2019"]),
        ("date=sa2021-06-15", ["o-2030"]),
        ("date=eb2021-06-15", ["o-0301", "o-0315", "o-0331", "o-0401", "o-2019"]),
        ("date=gt2030-06", ["o-2030"]),
        ("date=ge2030-03&date=lt2030-05", ["o-2030"]),
        ("date=ge2021-06-20&date=le2021-06-10", ["o-2021"]),  # each occurrence holds
        ("date=ge2021-06-20&date=le2021-06-10&date=eq2021", ["o-2021"]),
        ("date=ge2021-06-20&date=le2021-06-10&date=sa2021-05", ["o-2021"]),
        ("date=ge2021-06-20&date=le2021-06-10&date=sa2021-06", []),
        ("date=2021-06-15,ge2030-06", ["o-2030"]),
        ("date=ge2021-06-15&date=lt2022&date=gt2020", ["o-2021"]),
        (
            "date=ge2020&date=lt2021&code=http://loinc.org|8867-4",
            ["o-0301", "o-0315", "o-0331", "o-0401"],
        ),
    ],
)
def test_clinical_date_ranges(
    client: TestClient, doctor: dict[str, str], query: str, expected: list[str]
) -> None:
    assert _found(client, doctor, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # A time of day: that instant at its precision, against each date as written
        # (a date without a time is its whole day, in UTC).
        ("date=2020-03-15T08:00:00Z", ["o-0315"]),
        ("date=2020-03-15T09:00:00%2B01:00", ["o-0315"]),
        ("date=2020-03-15T08:00Z", ["o-0315"]),
        ("date=2020-03-01T12:00Z", []),  # a whole day is not inside one minute
        ("date=ge2020-03-15T08:00:01Z", ["o-0331", "o-0401", "o-2021", "o-2030"]),
        ("date=gt2020-03-15T07:59:59Z", ["o-0315", "o-0331", "o-0401", "o-2021", "o-2030"]),
        ("date=lt2020-04-01T05:00:00Z", ["o-0301", "o-0315", "o-0331", "o-2019"]),
        ("date=lt2020-04-01T00:00:00-05:00", ["o-0301", "o-0315", "o-0331", "o-2019"]),
        ("date=le2020-04-01T05:00:00Z", ["o-0301", "o-0315", "o-0331", "o-0401", "o-2019"]),
        ("date=lt2020-01-01T00:00:00%2B01:00", ["o-2019"]),  # 2019-12-31T22:30Z
        (
            "date=gt2019-12-31T23:00:00Z",
            ["o-0301", "o-0315", "o-0331", "o-0401", "o-2021", "o-2030"],
        ),
        ("date=sa2020-03-31T23:59:59Z", ["o-0401", "o-2021", "o-2030"]),
        ("date=eb2020-03-15T08:00:00Z", ["o-0301", "o-2019"]),
        ("date=gt2030-06-15T00:00Z", ["o-2030"]),
        ("date=2020-03-15T08:00:00Z,2020-03-31", ["o-0315", "o-0331"]),
        ("date=ge2020-03-01T12:00Z&date=lt2020-03-16", ["o-0301", "o-0315"]),
        ("date=ge2020-03-01T12:00Z&date=le2020-03-15T07:00Z", ["o-0301"]),
    ],
)
def test_clinical_dates_with_a_time_of_day(
    client: TestClient, doctor: dict[str, str], query: str, expected: list[str]
) -> None:
    response = client.get(f"/fhir/Observation?{query}", headers=doctor)
    assert response.status_code == 200, response.text
    assert sorted(_ids(response.json())) == expected
    assert response.json()["total"] == len(expected), "the total counts what matched"


def test_a_time_of_day_search_pages_and_sorts(client: TestClient, doctor: dict[str, str]) -> None:
    query = "/fhir/Observation?date=ge2020-03-15T08:00:00Z&_count=1"
    assert _all_pages(client, doctor, query) == ["o-0315", "o-0331", "o-0401", "o-2021", "o-2030"]
    newest = _all_pages(client, doctor, f"{query}&_sort=-date")
    assert newest == ["o-2030", "o-2021", "o-0401", "o-0331", "o-0315"]


def test_each_type_searches_its_own_date(runtime: Runtime, client: TestClient) -> None:
    """Encounter.period (the range it spans), Condition onset, MedicationRequest
    authoredOn, Procedure performed and Immunization occurrence, under FHIR's parameter
    names."""
    period = {"start": "2022-05-02T09:00:00Z", "end": "2022-05-04"}
    written = [
        fhir_resource("Encounter", "p1", id="e1", period=period),
        fhir_resource("Condition", "p1", id="c1", onsetDateTime="2022-05-03"),
        fhir_resource("MedicationRequest", "p1", id="m1", authoredOn="2022-05-03T10:00:00Z"),
        fhir_resource("Procedure", "p1", id="pr1", performedPeriod={"start": "2022-05"}),
        fhir_resource("Immunization", "p1", id="i1", occurrenceDateTime="2022-05-03"),
        fhir_resource("DiagnosticReport", "p1", id="d1", effectiveDateTime="2022-05-03"),
    ]
    for resource in written:
        create_resource(runtime, SYSTEM, resource)
    doctor = bearer(runtime, Role.CLINICIAN)
    asked = {
        "Encounter?date=2022-05": ["e1"],
        "Encounter?date=2022-05-02": [],  # three days are not inside one
        "Encounter?date=ge2022-05-03": ["e1"],
        "Condition?onset-date=ge2022-05": ["c1"],
        "MedicationRequest?authoredon=2022-05-03": ["m1"],
        "Procedure?date=ge2022-05": ["pr1"],  # begun in May 2022, not over
        "Immunization?date=le2022-05-03": ["i1"],
        "DiagnosticReport?date=2022": ["d1"],
    }
    for query, expected in asked.items():
        response = client.get(f"/fhir/{query}", headers=doctor)
        assert response.status_code == 200, (query, response.text)
        assert _ids(response.json()) == expected, query
    refused = client.get("/fhir/Condition?date=2022", headers=doctor)
    outcome(refused, 400, "not-supported")


@pytest.mark.parametrize(
    "value",
    [
        "ap2020",
        "ne2020",
        "2020-03-15T25:00Z",
        "2020-03-15T10",
        "ge2020-03-15T10:00:00ZZ",
        "2020-13",
        "2020-02-30",
        "yesterday",
        "ge0999",
        "",
        ",",
        "2024,",
        ",2024",
        "٢٠٢٤",
    ],
)
def test_date_values_it_cannot_answer_are_400(
    client: TestClient, doctor: dict[str, str], value: str
) -> None:
    response = client.get("/fhir/Observation", params={"date": value}, headers=doctor)
    body = outcome(response, 400)
    assert body["issue"][0]["expression"] == ["date"]


SINGLE_DATE_PARAMS = sorted(f"date:{level}" for level in "cymd")
PERIOD_PARAMS = sorted(f"{edge}:{level}" for edge in ("start", "end") for level in "cymd")


def _date_params(runtime: Runtime, resource_type: str) -> dict[str, list[str]]:
    """The date index parameters each resource of a type holds (one entry per row)."""
    with runtime.db.sessions() as session:
        rows = session.execute(
            select(FhirResource.logical_id, FhirSearchIndex.param, FhirSearchIndex.value_hmac)
            .join(FhirSearchIndex, FhirSearchIndex.resource_id == FhirResource.id)
            .where(FhirResource.resource_type == resource_type)
            .where(
                FhirSearchIndex.param.like("date:%")
                | FhirSearchIndex.param.like("start:%")
                | FhirSearchIndex.param.like("end:%")
            )
        ).all()
    assert all(len(value) == 64 for _, _, value in rows), "every term is a keyed HMAC"
    per_resource: dict[str, list[str]] = {}
    for logical_id, param, _ in rows:
        per_resource.setdefault(logical_id, []).append(param)
    return {logical_id: sorted(params) for logical_id, params in per_resource.items()}


def test_a_date_has_four_date_rows_and_a_period_eight(
    runtime: Runtime, doctor: dict[str, str]
) -> None:
    """A date written to the year or month is padded, and a Period without an end has
    markers for it: the row count tells a Period from a single date, not its precision,
    nor whether it is over."""
    periods = {
        "o-period": {"start": "2020-03-01", "end": "2020-03-12"},
        "o-ongoing": {"start": "2020-03"},
    }
    for logical_id, period in periods.items():
        observation = fhir_resource("Observation", "p1", id=logical_id, effectivePeriod=period)
        create_resource(runtime, SYSTEM, observation)
    per_resource = _date_params(runtime, "Observation")
    assert set(per_resource) == set(DATES) | set(periods)
    assert all(per_resource[logical_id] == SINGLE_DATE_PARAMS for logical_id in DATES)
    assert all(per_resource[logical_id] == PERIOD_PARAMS for logical_id in periods)


# An inpatient stay, one still going on, a visit, and an episode known only by its end.
PERIODS = {
    "stay": {"start": "2024-04-01T22:10:00+02:00", "end": "2024-04-10T09:00:00+02:00"},
    "ongoing": {"start": "2024-03-20"},
    "visit": {"start": "2024-04-05T09:00:00Z", "end": "2024-04-05T09:30:00Z"},
    "ended": {"end": "2024-02"},
}


@pytest.fixture
def encounters(runtime: Runtime) -> dict[str, str]:
    for logical_id, period in PERIODS.items():
        encounter = fhir_resource("Encounter", "p1", id=logical_id, period=period)
        create_resource(runtime, SYSTEM, encounter)
    return bearer(runtime, Role.CLINICIAN)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # A Period is the range it spans (R4 search, date): gt/ge find one that
        # reaches past the value, lt/le one that began before it, eq one inside it.
        ("date=ge2024-04-05", ["ongoing", "stay", "visit"]),
        ("date=gt2024-04-05", ["ongoing", "stay"]),
        ("date=gt2024-04-10", ["ongoing"]),
        ("date=le2024-04-05", ["ended", "ongoing", "stay", "visit"]),
        ("date=lt2024-04-01", ["ended", "ongoing"]),
        ("date=lt2024-03-20", ["ended"]),
        ("date=2024-04-05", ["visit"]),
        ("date=2024-04", ["stay", "visit"]),
        ("date=2024", ["stay", "visit"]),  # an ongoing one is not inside a year
        ("date=sa2024-04-01", ["visit"]),
        ("date=eb2024-04-05", ["ended"]),
        ("date=eb2024-03", ["ended"]),
        # What was going on at some time during the first week of April:
        ("date=ge2024-04-01&date=le2024-04-07", ["ongoing", "stay", "visit"]),
        ("date=ge2024-04-06T00:00:00Z", ["ongoing", "stay"]),
        ("date=lt2024-04-01T21:00:00Z", ["ended", "ongoing", "stay"]),  # 22:10+02:00
        ("date=lt2024-04-01T20:00:00Z", ["ended", "ongoing"]),
        ("date=ge2024-04-05T09:15:00Z", ["ongoing", "stay", "visit"]),
        ("date=2024-04-05T09:00:00Z,2024-04-05", ["visit"]),
        ("date=2024-02", []),  # not inside: when it began is not known
    ],
)
def test_a_period_is_found_by_the_range_it_spans(
    client: TestClient, encounters: dict[str, str], query: str, expected: list[str]
) -> None:
    response = client.get(f"/fhir/Encounter?{query}", headers=encounters)
    assert response.status_code == 200, response.text
    assert sorted(_ids(response.json())) == expected
    assert response.json()["total"] == len(expected)


def test_periods_sort_by_their_start(client: TestClient, encounters: dict[str, str]) -> None:
    """`_sort=date` orders by the start (a Period without one: by its end)."""
    url = "/fhir/Encounter?date=ge1900&_sort=date&_count=1"
    assert _all_pages(client, encounters, url) == ["ended", "ongoing", "stay", "visit"]


def test_last_updated_ranges_and_sort(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    clock.now = clock.now.replace(year=2025, month=1, day=10, hour=12, minute=0, second=0)
    start = clock.now
    for n in range(5):
        create_resource(runtime, SYSTEM, fhir_resource("Observation", "p1", id=f"lu-{n}"))
        clock.advance(hours=1)
    doctor = bearer(runtime, Role.CLINICIAN)
    at = (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plus_two = timezone(timedelta(hours=2))
    east = (start + timedelta(hours=2)).astimezone(plus_two).isoformat().replace("+", "%2B")
    asked = {
        f"_lastUpdated=ge{at}": ["lu-2", "lu-3", "lu-4"],
        f"_lastUpdated=gt{at}": ["lu-3", "lu-4"],
        f"_lastUpdated=lt{at}": ["lu-0", "lu-1"],
        f"_lastUpdated={at}": ["lu-2"],
        f"_lastUpdated=ge2025-01-10T13:00:00%2B00:00&_lastUpdated=le{at}": ["lu-1", "lu-2"],
        f"_lastUpdated=ge{at[:-1]}.000001Z": ["lu-3", "lu-4"],  # a fraction counts
        f"_lastUpdated=eq{at[:-1]}.0Z": ["lu-2"],
        # A time with a zone is that instant, at its precision (the minute, the second).
        f"_lastUpdated={east}": ["lu-2"],
        f"_lastUpdated={east[:16]}%2B02:00": ["lu-2"],
        f"_lastUpdated=gt{east[:16]}%2B02:00": ["lu-3", "lu-4"],
        f"_lastUpdated=lt{at[:16]}-00:30": ["lu-0", "lu-1", "lu-2"],
        "_lastUpdated=2025-01-10": ["lu-0", "lu-1", "lu-2", "lu-3", "lu-4"],
        "_lastUpdated=2025-01-11": [],
        "_lastUpdated=eb2025-01": [],
        "_lastUpdated=sa2024": ["lu-0", "lu-1", "lu-2", "lu-3", "lu-4"],
    }
    for query, expected in asked.items():
        assert _found(client, doctor, query) == expected, query
    newest = client.get("/fhir/Observation?_sort=-_lastUpdated", headers=doctor).json()
    assert _ids(newest) == ["lu-4", "lu-3", "lu-2", "lu-1", "lu-0"]
    oldest = client.get("/fhir/Observation?_sort=_lastUpdated", headers=doctor).json()
    assert _ids(oldest) == ["lu-0", "lu-1", "lu-2", "lu-3", "lu-4"]
    for bad in ("ge2025-01-10T25:00", "", "2025-01-10T10:00:00.1234567890Z"):
        refused = client.get("/fhir/Observation", params={"_lastUpdated": bad}, headers=doctor)
        assert outcome(refused, 400)["issue"][0]["expression"] == ["_lastUpdated"], bad


def _all_pages(client: TestClient, headers: dict[str, str], url: str) -> list[str]:
    """Follow `next` links to the end; the ids in the order the pages gave them."""
    seen: list[str] = []
    for _ in range(50):
        bundle = client.get(url, headers=headers).json()
        seen += _ids(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return seen
        url = following[0]
    raise AssertionError("paging did not end")


def test_sorted_pages_are_stable_with_ties(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    """Resources written in the same instant still page in one order, none twice or lost."""
    for n in range(7):
        create_resource(runtime, SYSTEM, fhir_resource("Observation", "p1", id=f"t-{n}"))
        if n % 3 == 2:
            clock.advance(seconds=1)
    doctor = bearer(runtime, Role.CLINICIAN)
    for sort in ("_lastUpdated", "-_lastUpdated"):
        paged = _all_pages(client, doctor, f"/fhir/Observation?_sort={sort}&_count=2")
        whole = _ids(client.get(f"/fhir/Observation?_sort={sort}", headers=doctor).json())
        assert paged == whole, sort
        assert sorted(paged) == [f"t-{n}" for n in range(7)], sort
    newest = _ids(client.get("/fhir/Observation?_sort=-_lastUpdated", headers=doctor).json())
    assert newest[:1] == ["t-6"]
    assert newest[-3:] == ["t-0", "t-1", "t-2"]


def test_sort_by_clinical_date(client: TestClient, doctor: dict[str, str]) -> None:
    ascending = _all_pages(client, doctor, "/fhir/Observation?_sort=date&_count=3")
    assert ascending == [*DATES, "o-undated"], "undated last"
    descending = _all_pages(client, doctor, "/fhir/Observation?_sort=-date&_count=3")
    assert descending == [*reversed(DATES), "o-undated"]
    ranged = client.get("/fhir/Observation?_sort=-date&date=2020-03", headers=doctor).json()
    assert _ids(ranged) == ["o-0331", "o-0315", "o-0301"]
    assert ranged["total"] == 3


def test_a_date_sort_puts_each_time_in_its_place_whatever_its_zone(
    runtime: Runtime, client: TestClient
) -> None:
    # As written, "2024-03-01T23:00-05:00" sorts first; in time it is 04:00 UTC on the 2nd.
    written = {
        "z-east": "2024-03-02T05:30:00+05:30",  # 00:00 UTC on the 2nd
        "z-west": "2024-03-01T23:00:00-05:00",  # 04:00 UTC on the 2nd
        "z-utc": "2024-03-02T01:00:00Z",
        "z-day": "2024-03-01",  # the whole day, from its first instant
        "z-year": "2023",
    }
    for logical_id, when in written.items():
        resource = fhir_resource("Observation", "p1", id=logical_id, effectiveDateTime=when)
        create_resource(runtime, SYSTEM, resource)
    doctor = bearer(runtime, Role.CLINICIAN)
    in_time = ["z-year", "z-day", "z-east", "z-utc", "z-west"]
    assert _all_pages(client, doctor, "/fhir/Observation?_sort=date&_count=2") == in_time
    newest = _all_pages(client, doctor, "/fhir/Observation?_sort=-date&_count=2")
    assert newest == in_time[::-1]


@pytest.mark.parametrize("sort", ["date,_lastUpdated", "code", "_id", "-birthdate"])
def test_unsupported_sorts_are_400(client: TestClient, doctor: dict[str, str], sort: str) -> None:
    response = client.get("/fhir/Observation", params={"_sort": sort}, headers=doctor)
    outcome(response, 400, "not-supported")
    twice = client.get("/fhir/Observation?_sort=date&_sort=-date", headers=doctor)
    outcome(twice, 400)


BORN = {
    "pt-1962": "1962-01-25",
    "pt-1962b": "1962-11-03",
    "pt-1999": "1999-12-31",
    "pt-80s": "1985",
}


@pytest.fixture
def desk(runtime: Runtime) -> dict[str, str]:
    for logical_id, born in BORN.items():
        create_resource(runtime, SYSTEM, fhir_resource("Patient", logical_id, birthDate=born))
    unknown = fhir_resource("Patient", "pt-unknown")
    del unknown["birthDate"]
    create_resource(runtime, SYSTEM, unknown)
    return bearer(runtime, Role.CLINICIAN)


def test_patients_sort_by_birthdate_under_its_own_name(
    client: TestClient, desk: dict[str, str]
) -> None:
    # FHIR's `_sort` names a search parameter: Patient's date is `birthdate`.
    oldest_first = ["pt-1962", "pt-1962b", "pt-80s", "pt-1999", "pt-unknown"]
    assert _all_pages(client, desk, "/fhir/Patient?_sort=birthdate&_count=2") == oldest_first
    assert _all_pages(client, desk, "/fhir/Patient?_sort=date&_count=2") == oldest_first
    newest = _all_pages(client, desk, "/fhir/Patient?_sort=-birthdate&_count=3")
    assert newest == [*oldest_first[-2::-1], "pt-unknown"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("birthdate=1962-01-25", ["pt-1962"]),
        ("birthdate=eq1962-01-25", ["pt-1962"]),  # `eq` is FHIR's default prefix
        ("birthdate=1962", ["pt-1962", "pt-1962b"]),
        ("birthdate=eq1962-01", ["pt-1962"]),
        ("birthdate=ge1962", ["pt-1962", "pt-1962b", "pt-1999", "pt-80s"]),
        ("birthdate=gt1962-01-25", ["pt-1962b", "pt-1999", "pt-80s"]),
        ("birthdate=lt2000-01-01", ["pt-1962", "pt-1962b", "pt-1999", "pt-80s"]),
        ("birthdate=le1985-06-01", ["pt-1962", "pt-1962b", "pt-80s"]),  # 1985 straddles it
        ("birthdate=sa1985", ["pt-1999"]),
        ("birthdate=eb1962-02", ["pt-1962"]),
        ("birthdate=ge1960&birthdate=lt1990", ["pt-1962", "pt-1962b", "pt-80s"]),
        ("birthdate=1962-01-25,1999", ["pt-1962", "pt-1999"]),
        ("birthdate=1962-01-26", []),
        ("birthdate=ge1962-01-25T00:00Z&birthdate=lt1962-01-26T00:00Z", ["pt-1962"]),
    ],
)
def test_birthdate_takes_prefixes_and_partial_dates(
    client: TestClient, desk: dict[str, str], query: str, expected: list[str]
) -> None:
    response = client.get(f"/fhir/Patient?{query}", headers=desk)
    assert response.status_code == 200, response.text
    assert sorted(_ids(response.json())) == expected
    assert response.json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("garbage", "give a date as YYYY, YYYY-MM or YYYY-MM-DD, after a prefix"),
        ("today", "give a date as YYYY, YYYY-MM or YYYY-MM-DD, after a prefix"),
        ("ne1962", "prefix 'ne' is not supported"),
        ("ap1962-01-25", "prefix 'ap' is not supported"),
        ("1962-13-01", "not a calendar date"),
        ("1962-02-30", "not a calendar date"),
        ("25/01/1962", "give a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ("eq62", "give a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ("", "give a date"),
    ],
)
def test_birthdate_values_it_cannot_answer_are_400(
    client: TestClient, desk: dict[str, str], value: str, problem: str
) -> None:
    response = client.get("/fhir/Patient", params={"birthdate": value}, headers=desk)
    body = outcome(response, 400)
    assert body["issue"][0]["expression"] == ["birthdate"]
    assert problem in body["issue"][0]["diagnostics"]


def test_a_birth_date_has_four_date_rows_and_no_exact_term(
    runtime: Runtime, desk: dict[str, str]
) -> None:
    """Birth dates are bucketed like clinical dates (padded below their precision); the
    exact `birthdate` term they replaced is no longer written."""
    per_patient = _date_params(runtime, "Patient")
    assert set(per_patient) == set(BORN)
    assert all(params == SINGLE_DATE_PARAMS for params in per_patient.values())
    with runtime.db.sessions() as session:
        exact = session.execute(
            select(FhirSearchIndex.param).where(FhirSearchIndex.param == "birthdate")
        ).all()
    assert not exact


def test_the_capability_statement_documents_birthdate_as_a_date(
    client: TestClient, desk: dict[str, str]
) -> None:
    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    birthdate = next(p for p in patient["searchParam"] if p["name"] == "birthdate")
    assert birthdate["type"] == "date"
    assert "prefixes eq, lt, le, gt, ge, sa, eb" in birthdate["documentation"]
    assert "refused with 400" in birthdate["documentation"]
