"""History's parameters through HTTP: `_since`, `_count` with its `next` pages, and the
refusal of anything else (`_at`, unknown names, malformed values), as search refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.services import create_resource, update_resource
from tests.support.clock import FrozenClock
from tests.support.factories import SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

PATH = "/fhir/Patient/p-h/_history"


@pytest.fixture
def doctor(runtime: Runtime, clock: FrozenClock) -> dict[str, str]:
    """Patient p-h at versions 1 to 4, written on the first of January to April 2024."""
    clock.now = datetime(2024, 1, 1, 9, tzinfo=UTC)
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-h", gender="female"))
    for month, gender in ((2, "male"), (3, "other"), (4, "unknown")):
        clock.now = datetime(2024, month, 1, 9, tzinfo=UTC)
        update_resource(runtime, SYSTEM, fhir_resource("Patient", "p-h", gender=gender))
    return bearer(runtime, Role.CLINICIAN)


def _versions(bundle: dict[str, Any]) -> list[str]:
    return [e["response"]["etag"] for e in bundle["entry"]]


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def test_without_parameters_every_version_newest_first(
    client: TestClient, doctor: dict[str, str]
) -> None:
    bundle = client.get(PATH, headers=doctor).json()
    assert _versions(bundle) == ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']
    assert bundle["total"] == 4
    assert _next(bundle) is None


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2024-03-01T09:00:00Z", ['W/"4"', 'W/"3"']),  # at or after the instant
        ("2024-03-01T09:00:01Z", ['W/"4"']),
        ("2024-03-01T10:00:00%2B01:00", ['W/"4"', 'W/"3"']),  # its zone counts
        ("2023-01-01T00:00:00Z", ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']),
        ("2025-01-01T00:00:00Z", []),
    ],
)
def test_since_keeps_the_versions_written_at_or_after_it(
    client: TestClient, doctor: dict[str, str], since: str, expected: list[str]
) -> None:
    response = client.get(f"{PATH}?_since={since}", headers=doctor)
    assert response.status_code == 200, response.text
    assert _versions(response.json()) == expected
    assert response.json()["total"] == len(expected)


def test_count_pages_with_next_links(client: TestClient, doctor: dict[str, str]) -> None:
    first = client.get(f"{PATH}?_count=1", headers=doctor).json()
    assert (_versions(first), first["total"]) == (['W/"4"'], 4)
    pages, following = [_versions(first)], _next(first)
    while following is not None:
        assert "_count" not in following, "the cursor carries the page size, sealed"
        page = client.get(following, headers=doctor)
        assert page.status_code == 200, page.text
        pages.append(_versions(page.json()))
        assert page.json()["total"] == 4
        following = _next(page.json())
    assert pages == [['W/"4"'], ['W/"3"'], ['W/"2"'], ['W/"1"']]
    since = client.get(f"{PATH}?_since=2024-02-01T09:00:00Z&_count=2", headers=doctor).json()
    assert (_versions(since), since["total"]) == (['W/"4"', 'W/"3"'], 3)
    rest = client.get(str(_next(since)), headers=doctor).json()
    assert (_versions(rest), _next(rest)) == (['W/"2"'], None), "the cursor keeps _since"
    none = client.get(f"{PATH}?_count=0", headers=doctor).json()
    assert (none["entry"], none["total"], _next(none)) == ([], 4, None)


def test_a_cursor_opens_for_its_own_history_only(
    runtime: Runtime, client: TestClient, doctor: dict[str, str]
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-other"))
    following = _next(client.get(f"{PATH}?_count=1", headers=doctor).json())
    assert following is not None
    cursor = following.partition("_cursor=")[2]
    for path in ("/fhir/Patient/p-other/_history", "/fhir/Patient"):
        outcome(client.get(f"{path}?_cursor={cursor}", headers=doctor), 400)
    outcome(client.get(f"{PATH}?_cursor={cursor}&_count=2", headers=doctor), 400)
    outcome(client.get(f"{PATH}?_cursor={cursor}x", headers=doctor), 400)


@pytest.mark.parametrize(
    ("query", "expression", "problem"),
    [
        ("_at=2024-03-01T00:00:00Z", "_at", "not supported; use _since"),
        ("bogus=1", "bogus", "not a supported history parameter"),
        ("_count=abc", "_count", "must be a whole number"),
        ("_count=-1", "_count", "must be a whole number"),
        ("_count=1&_count=2", "_count", "give it once"),
        ("_since=2024-03-01", "_since", "must be a FHIR instant"),
        ("_since=yesterday", "_since", "must be a FHIR instant"),
        ("_since=2024-02-30T00:00:00Z", "_since", "is not a valid instant"),
        ("_since=ge2024-03-01T00:00:00Z", "_since", "must be a FHIR instant"),
        ("_summary=count", "_summary", "not a supported history parameter"),
        ("_elements=gender", "_elements", "not a supported history parameter"),
    ],
)
def test_what_history_cannot_honour_is_refused(
    client: TestClient, doctor: dict[str, str], query: str, expression: str, problem: str
) -> None:
    response = client.get(f"{PATH}?{query}", headers=doctor)
    body = outcome(response, 400)
    assert body["issue"][0]["expression"] == [expression]
    assert problem in body["issue"][0]["diagnostics"]


def test_the_capability_statement_lists_what_history_takes(client: TestClient) -> None:
    documentation = client.get("/fhir/metadata").json()["rest"][0]["documentation"]
    assert "History takes `_since`" in documentation
    assert "`_at` and any other parameter are refused with 400" in documentation


def test_the_history_of_a_whole_type_is_refused_as_not_supported(
    client: TestClient, doctor: dict[str, str]
) -> None:
    """`Patient/_history` is FHIR's type-level history, not a resource named `_history`."""
    body = outcome(client.get("/fhir/Patient/_history", headers=doctor), 400, "not-supported")
    assert "Patient/{id}/_history" in body["issue"][0]["diagnostics"]
