"""FHIR date searches against the same-run exact-token search, on SQLite and PostgreSQL.

Run by hand: `uv run python bench/fhir_search.py [--patients 300] [--searches 100]`
(PostgreSQL too when CAREWALL_TEST_POSTGRES_URL names a server).

Every search goes through the chokepoint the FHIR route calls
(`records.access.search_page_for`: authorisation, restriction scope, the page
of 25 decrypted, the total counted, an audit entry), on one vault of
synthetic Observations with clinical dates spread over five years (and two
Encounters per patient, each dated by a Period of a day to two weeks, one in
twenty still open), written
in four batches so `_lastUpdated` has a spread too. The cases alternate in
blocks so the shared machine's load drifts across all alike:
- exact token: `code=system|code` (one blind index, the baseline);
- date ranges: six weeks (day and month buckets), one year (one bucket), and
  open-ended (`ge`: months, years and decades up to 2199);
- `_lastUpdated`: the middle half of the writes (the plain column);
- `_sort=-_lastUpdated` over everything (keyset page on the column);
- `_sort=date` of a six-week range (decrypts every match to sort, bounded);
- the six weeks and the year over the Encounters' Periods (each end looked
  up on its own: a Period that began before the range and ends after it is
  found by neither end's buckets near the range).
It prints searches/s, p50 and the ratio to the exact-token search per database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import Purpose
from carewall.records.access import search_page_for
from carewall.records.bundles.importer import import_path
from carewall.records.models import FhirResource
from records import runtime_on  # bench/ is on sys.path when run

console = Console(width=120)
LOINC = "http://loinc.org"
CODES = ("8867-4", "29463-7", "8302-2", "85354-9", "2339-0", "718-7", "4548-4", "2093-3")
CLINICIAN = Caller.for_user("bench", Role.CLINICIAN)
FIRST_DAY = date(2019, 1, 1)
BATCHES = 4
ENCOUNTERS = 2  # per patient, dated by a Period


def _batch_lines(patients: range, per_patient: int, rng: random.Random) -> str:
    """NDJSON of the patients and their observations (random code and day)."""
    lines = []
    for n in patients:
        lines.append(json.dumps({"resourceType": "Patient", "id": f"p-{n:05}"}))
        for k in range(per_patient):
            day = FIRST_DAY + timedelta(days=rng.randrange(5 * 365))
            observation = {
                "resourceType": "Observation",
                "id": f"o-{n:05}-{k:02}",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": rng.choice(CODES)}]},
                "subject": {"reference": f"Patient/p-{n:05}"},
                "effectiveDateTime": f"{day.isoformat()}T09:30:00Z",
            }
            lines.append(json.dumps(observation))
        for k in range(ENCOUNTERS):
            lines.append(json.dumps(_encounter(f"e-{n:05}-{k:02}", f"p-{n:05}", rng)))
    return "\n".join(lines) + "\n"


def _encounter(logical_id: str, patient: str, rng: random.Random) -> dict[str, object]:
    """A visit of a day, a stay of up to two weeks, or (one in twenty) one still open."""
    start = FIRST_DAY + timedelta(days=rng.randrange(5 * 365))
    period = {"start": f"{start.isoformat()}T08:00:00Z"}
    if rng.random() >= 0.05:
        end = start + timedelta(days=rng.choice([0, 0, 0, 1, 3, 14]))
        period["end"] = f"{end.isoformat()}T17:00:00Z"
    return {
        "resourceType": "Encounter",
        "id": logical_id,
        "status": "finished" if "end" in period else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient}"},
        "period": period,
    }


def _fill(runtime: Runtime, patients: int, per_patient: int, tmp: Path) -> None:
    rng = random.Random(11)
    step = -(-patients // BATCHES)
    for batch in range(BATCHES):
        source = tmp / f"batch-{batch}.ndjson"
        chunk = range(batch * step, min(patients, (batch + 1) * step))
        source.write_text(_batch_lines(chunk, per_patient, rng), encoding="utf-8")
        import_path(runtime, Caller.cli("bench"), source, lambda _r: None)
        time.sleep(0.05)  # batches a little apart in `last_updated`
    with runtime.db.transaction() as session:  # the statistics autovacuum gathers after a load
        session.execute(text("ANALYZE"))


def _quartiles(runtime: Runtime) -> tuple[str, str]:
    """The `last_updated` of the first and third quartile of the Observations."""
    with runtime.db.sessions() as session:
        stamps = list(
            session.scalars(
                select(FhirResource.last_updated)
                .where(FhirResource.resource_type == "Observation")
                .order_by(FhirResource.last_updated)
            )
        )
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    return low.isoformat(), high.isoformat()


def _cases(runtime: Runtime) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """Each case: the type searched and its parameters."""
    low, high = _quartiles(runtime)
    six_weeks = ["ge2021-03-10", "lt2021-04-21"]
    return {
        "exact token (baseline)": ("Observation", {"code": [f"{LOINC}|8867-4"]}),
        "date, six weeks": ("Observation", {"date": six_weeks}),
        "date, one year": ("Observation", {"date": ["2021"]}),
        "date, open-ended ge": ("Observation", {"date": ["ge2022-06-15"]}),
        "_lastUpdated, middle half": ("Observation", {"_lastUpdated": [f"ge{low}", f"lt{high}"]}),
        "_sort=-_lastUpdated, all": ("Observation", {"_sort": ["-_lastUpdated"]}),
        "_sort=date, six weeks": ("Observation", {"date": six_weeks, "_sort": ["date"]}),
        "Encounter periods, six weeks": ("Encounter", {"date": six_weeks}),
        "Encounter periods, one year": ("Encounter", {"date": ["2021"]}),
    }


def _measure(runtime: Runtime, searches: int) -> dict[str, tuple[list[float], int]]:
    cases = _cases(runtime)
    timings: dict[str, list[float]] = {name: [] for name in cases}
    totals: dict[str, int] = {}
    block = max(1, searches // 10)
    for _ in range(10):
        for name, (resource_type, params) in cases.items():
            for _ in range(block):
                began = time.perf_counter()
                page = search_page_for(
                    runtime, CLINICIAN, resource_type, params, Purpose.TREATMENT, count=25
                )
                timings[name].append((time.perf_counter() - began) * 1000)
                totals[name] = page.total
    return {name: (values, totals[name]) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--per-patient", type=int, default=10)
    parser.add_argument("--searches", type=int, default=100)
    args = parser.parse_args()
    backends: list[tuple[str, str | None]] = [("SQLite", None)]
    if os.environ.get("CAREWALL_TEST_POSTGRES_URL"):
        backends.append(("PostgreSQL", os.environ["CAREWALL_TEST_POSTGRES_URL"]))
    observations = args.patients * args.per_patient
    encounters = args.patients * ENCOUNTERS
    table = Table(
        title=f"FHIR search over {observations} Observations and {encounters} Encounters "
        "(page of 25)"
    )
    for column in ("Database", "Search", "matches", "searches/s", "p50 ms", "ratio to exact"):
        table.add_column(column, justify="right")
    for name, url in backends:
        with runtime_on(url) as runtime, tempfile.TemporaryDirectory() as tmp:
            _fill(runtime, args.patients, args.per_patient, Path(tmp))
            measured = _measure(runtime, args.searches)
        base_values = measured["exact token (baseline)"][0]
        base = len(base_values) / sum(base_values) * 1000
        for case, (values, total) in measured.items():
            rate = len(values) / sum(values) * 1000
            median = statistics.median(values)
            table.add_row(
                name, case, str(total), f"{rate:.0f}", f"{median:.1f}", f"{rate / base:.2f}"
            )
    console.print(table)


if __name__ == "__main__":
    main()
