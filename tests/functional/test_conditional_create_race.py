"""Two identical conditional creates at the same moment make one resource, not two.

Without the identifier locks (`records.bundles.identifier_locks`) PostgreSQL made
two in every pair: both transactions searched before either committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from carewall.core.context import Purpose
from carewall.core.runtime import Runtime
from carewall.records.bundles.conditional_create import conditional_create
from carewall.records.bundles.entries import read_bundle
from carewall.records.bundles.transactions import process_bundle
from carewall.records.models import FhirResource
from carewall.records.store.search import PageRequest
from tests.support.factories import SYSTEM, fhir_resource

BASE = "http://clinic.example/fhir"
PAIRS = 5


def _patient(mrn: str) -> dict[str, Any]:
    resource = fhir_resource("Patient", "unused", identifier=[{"system": "urn:mrn", "value": mrn}])
    return {k: v for k, v in resource.items() if k != "id"}


def _at_once(work: Callable[[], int]) -> list[int]:
    """`work` in two threads released together; their statuses."""
    barrier, statuses = threading.Barrier(2), []

    def run() -> None:
        barrier.wait()
        statuses.append(work())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def _patients(runtime: Runtime) -> int:
    query = select(func.count()).where(FhirResource.resource_type == "Patient")
    with runtime.db.sessions() as session:
        return int(session.scalar(query) or 0)


def _no_search(resource_type: str, query: Any) -> PageRequest:
    raise AssertionError("no entry searches")


def test_single_conditional_creates_at_once_make_one(runtime: Runtime) -> None:
    for pair in range(PAIRS):
        mrn = f"S-{pair}"

        def create(mrn: str = mrn) -> int:
            condition = (("identifier", f"urn:mrn|{mrn}"),)
            done = conditional_create(
                runtime, SYSTEM, _patient(mrn), condition, BASE, Purpose.SYSTEM
            )
            return done.status

        assert _at_once(create) == [200, 201]
    assert _patients(runtime) == PAIRS


def test_batch_conditional_creates_at_once_make_one(runtime: Runtime) -> None:
    for pair in range(PAIRS):
        entry = {
            "resource": _patient(f"B-{pair}"),
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier=B-{pair}"},
        }
        body = {"resourceType": "Bundle", "type": "batch", "entry": [entry]}

        def send(body: dict[str, Any] = body) -> int:
            done = process_bundle(
                runtime, SYSTEM, read_bundle(body, BASE), Purpose.SYSTEM, _no_search
            )
            return done.results[0].status

        assert _at_once(send) == [200, 201]
    assert _patients(runtime) == PAIRS
