"""How long a large FHIR transaction Bundle holds the database's write lock.

Run by hand: `uv run python bench/bundle_lock.py [--entries 1000] [--runs 3]
[--database sqlite|postgresql|both] [--postgres-url URL]`.

A `transaction` Bundle of `--entries` entries (new Observations, and updates of
as many existing ones, so both creates and version changes are measured) is
processed in-process as `POST /fhir/` would process it. Every writing
transaction is timed from its BEGIN (IMMEDIATE on SQLite: the moment it holds
the write lock) to its COMMIT or ROLLBACK. The table shows the longest hold
and the whole request's time in the same run: the ratio is the share of the
request during which every other writer (and, before issue 9, every reader)
waited.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Connection, event

import harness  # bench/ is on sys.path when run
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.records import Purpose
from carewall.records import prepare_keys as prepare_record_keys
from carewall.records.bundles.entries import read_bundle
from carewall.records.bundles.transactions import process_bundle
from carewall.records.services import create_resource
from carewall.records.store.search import PageRequest

console = Console(width=120)
BASE = "http://127.0.0.1:8000/fhir"
PATIENT = "lock-patient"
CODE = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}


class WriteLockClock:
    """Times each writing transaction of an engine, BEGIN to COMMIT/ROLLBACK."""

    def __init__(self, runtime: Runtime) -> None:
        self.holds: list[float] = []
        self._began: dict[int, float] = {}
        engine = runtime.db.engine
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, connection: Connection) -> None:
        if _writes(connection):
            self._began[id(connection)] = time.perf_counter()

    def _end(self, connection: Connection) -> None:
        began = self._began.pop(id(connection), None)
        if began is not None:
            self.holds.append(time.perf_counter() - began)


def _writes(connection: Connection) -> bool:
    """Whether the connection is a writer's (the marker changed with issue 9)."""
    options = connection.get_execution_options()
    return bool(options.get("carewall_writes", True))  # before issue 9 every BEGIN was IMMEDIATE


def observation(logical_id: str | None, value: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": CODE,
        "subject": {"reference": f"Patient/{PATIENT}"},
        "valueQuantity": {"value": value, "unit": "/min"},
    }
    if logical_id is not None:
        body["id"] = logical_id
    return body


def bundle(existing: list[str], creates: int, value: int) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": observation(None, value),
            "request": {"method": "POST", "url": "Observation"},
        }
        for _ in range(creates)
    ]
    entries += [
        {
            "resource": observation(logical_id, value),
            "request": {"method": "PUT", "url": f"Observation/{logical_id}"},
        }
        for logical_id in existing
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def no_searches(resource_type: str, query: Sequence[tuple[str, str]]) -> PageRequest:
    """The search parser `process_bundle` asks for: the bench's Bundles only write, so it
    is never called (the web passes one that reads a page as the caller)."""
    raise AssertionError(f"the bench Bundle has no searches ({resource_type} {list(query)})")


def run(database: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, harness.scratch_database(database, args) as url:
        runtime = open_runtime(Settings(home=Path(tmp) / "home", database_url=url))
        try:
            measure(database, runtime, args)
        finally:
            runtime.close()


def measure(database: str, runtime: Runtime, args: argparse.Namespace) -> None:
    prepare_record_keys(runtime.keys)
    system = Caller.cli("bench")
    create_resource(runtime, system, {"resourceType": "Patient", "id": PATIENT})
    half = args.entries // 2
    existing = [f"lock-obs-{n}" for n in range(half)]
    for logical_id in existing:
        create_resource(runtime, system, observation(logical_id, 0))
    clock = WriteLockClock(runtime)
    holds, totals = [], []
    for run_number in range(1, args.runs + 1):
        asked = read_bundle(bundle(existing, args.entries - half, run_number), BASE)
        clock.holds.clear()
        began = time.perf_counter()
        done = process_bundle(runtime, system, asked, Purpose.SYSTEM, no_searches)
        totals.append(time.perf_counter() - began)
        assert all(result.status in {200, 201} for result in done.results)
        holds.append(max(clock.holds))
    table = harness.results_table(
        f"{args.entries}-entry transaction Bundle ({database})",
        ("run", "longest write-lock hold ms", "whole request ms", "hold / request"),
    )
    for number, (hold, total) in enumerate(zip(holds, totals, strict=True), start=1):
        cells = (f"{hold * 1000:.0f}", f"{total * 1000:.0f}", f"{hold / total:.2f}")
        table.add_row(str(number), *cells)
    table.add_row(
        "median",
        f"{statistics.median(holds) * 1000:.0f}",
        f"{statistics.median(totals) * 1000:.0f}",
        f"{statistics.median(holds) / statistics.median(totals):.2f}",
    )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    harness.add_database_options(parser)
    args = parser.parse_args()
    for database in harness.chosen_databases(args):
        run(database, args)


if __name__ == "__main__":
    main()
