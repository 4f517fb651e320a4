"""Record vault benchmark: import throughput and encrypted search latency.

Run by hand: `uv run python bench/records.py [--files 10] [--patients 10000]`.
PostgreSQL is included for the import figures when CAREWALL_TEST_POSTGRES_URL
is set. Ratios compare with a baseline measured in the same run on the same
database, so the noisy shared machine cancels out.

(a) Import of Synthea bundles (validation, reference resolution, encryption,
    blind indexes, audit) vs a plain insert of the same resource JSON into a
    scratch table of the same database (target ratio >= 0.3).
(a') The same bundles over HTTP, as a feed sends them: each file one
    transaction `POST /fhir/` with an integration account's token to a live
    server (a child process, as bench/harness.py starts it) on a fresh
    database, alternating with the plain insert into that database. Medplum
    on this machine: 148 resources/s over HTTP (42/s into an empty database).
(b) Search by family name + birth date over N patients: p50/p99 latency of
    the full access path (matrix check, blind-index lookup, decrypt, audit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role, accounts, apitokens
from carewall.records import Purpose, prepare_keys
from carewall.records.access import search_for
from carewall.records.bundles.importer import import_file
from carewall.records.services import create_resource
from carewall.records.store.compartments import canonicalise
from carewall.records.store.validation import SUPPORTED_TYPES, validate_resource
from carewall.registry import create_app
from harness import start_server  # bench/ is on sys.path when run

console = Console(width=120)
SYNTHEA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fhir"
CLI = Caller.cli("bench")
CLINICIAN = Caller(ref="bench-clinician", role=Role.CLINICIAN)
FAMILIES = ["Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Tanaka", "Silva", "Brennan"]


@contextmanager
def runtime_on(url: str | None) -> Iterator[Runtime]:
    """A fresh data directory on SQLite, or a scratch PostgreSQL database."""
    with tempfile.TemporaryDirectory() as tmp:
        name = f"cw_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT") if url else None
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        database_url = (
            make_url(url).set(database=name).render_as_string(hide_password=False) if url else None
        )
        runtime = open_runtime(Settings(home=Path(tmp) / "home", database_url=database_url))
        prepare_keys(runtime.keys)
        try:
            yield runtime
        finally:
            runtime.close()
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def import_rates(runtime: Runtime, files: list[Path]) -> tuple[float, float, int]:
    """Resources per second through the real importer and through a plain insert.

    File by file, alternately, so that the shared machine's changing load falls
    on both alike. The plain insert puts the same resource JSON as is into a
    scratch table of the same database, one transaction per file.
    """
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE bench_plain (id VARCHAR(64), type VARCHAR(40), body TEXT)")
        )
    spent = {"import": 0.0, "plain": 0.0}
    count = 0
    for file in track(files, description="Importing", console=console):
        entries = json.loads(file.read_text())["entry"]
        count += len(entries)
        started = time.perf_counter()
        report = import_file(runtime, CLI, file)
        spent["import"] += time.perf_counter() - started
        assert not report.failed, report.error
        spent["plain"] += plain_insert(runtime, entries)
    return count / spent["import"], count / spent["plain"], count


def plain_insert(runtime: Runtime, entries: list[dict[str, object]]) -> float:
    """Seconds to insert the entries' JSON as is into `bench_plain`, one transaction."""
    rows = [
        {"id": str(uuid.uuid4()), "type": e["resource"]["resourceType"], "body": json.dumps(e)}  # type: ignore[index]
        for e in entries
    ]
    started = time.perf_counter()
    with runtime.db.engine.begin() as connection:
        connection.execute(text("INSERT INTO bench_plain VALUES (:id, :type, :body)"), rows)
    return time.perf_counter() - started


def feed_token(runtime: Runtime) -> str:
    """A token of a new integration account, as an interface engine would hold."""
    feed = accounts.create_integration(runtime, CLI, "bench-feed@clinic.example")
    secret, _ = apitokens.create_token(runtime, CLI, feed.id, "bench", ["fhir:write"])
    return secret


def http_import_rates(runtime: Runtime, files: list[Path]) -> tuple[float, float]:
    """Resources per second posted over HTTP (one transaction per file, integration token,
    live server on this runtime's database) and through the plain insert, alternately.

    The first file is posted once untimed, so that the server process loads the
    FHIR model classes (lazily imported) before the clock runs.
    """
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE bench_plain (id VARCHAR(64), type VARCHAR(40), body TEXT)")
        )
    token = feed_token(runtime)
    database = ("--serve-db", runtime.settings.effective_database_url)
    process, base = start_server(__file__, runtime.settings.home, *database)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    spent, count = {"http": 0.0, "plain": 0.0}, 0
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            _post_bundle(client, files[0].read_bytes())
            for file in track(files, description="Posting over HTTP", console=console):
                body = file.read_bytes()
                entries = json.loads(body)["entry"]
                count += len(entries)
                started = time.perf_counter()
                _post_bundle(client, body)
                spent["http"] += time.perf_counter() - started
                spent["plain"] += plain_insert(runtime, entries)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return count / spent["http"], count / spent["plain"]


def _post_bundle(client: httpx.Client, body: bytes) -> None:
    response = client.post("/fhir/", content=body)
    assert response.status_code == 200, response.text[:1000]


def serve(home: str, port: int, database_url: str | None) -> None:
    """Child process: the real app on the parent's database, over loopback."""
    runtime = open_runtime(Settings(home=Path(home), database_url=database_url))
    uvicorn.run(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def warm_up(files: list[Path]) -> None:
    """Load the FHIR model classes before timing (fhir.resources imports them lazily,
    about a second and a half once per process, which would dominate a short run)."""
    for entry in json.loads(files[0].read_text())["entry"]:
        if entry["resource"]["resourceType"] in SUPPORTED_TYPES:
            validate_resource(entry["resource"])


def validation_rate(files: list[Path]) -> float:
    """Resources per second through `fhir.resources` validation alone: the importer's ceiling."""
    resources = [
        e["resource"]
        for f in files
        for e in json.loads(f.read_text())["entry"]
        if e["resource"]["resourceType"] in SUPPORTED_TYPES
    ]
    started = time.perf_counter()
    for resource in resources:
        validate_resource(resource)
    return len(resources) / (time.perf_counter() - started)


def canonical_rate(files: list[Path]) -> float:
    """Resources per second through the canonical-reference pass alone (every write does it
    after validation), on the resources as the importer sees them (urn:uuid resolved)."""
    resources = [
        {**e["resource"], "subject": {"reference": "Patient/p"}}
        if "subject" in e["resource"]
        else e["resource"]
        for f in files
        for e in json.loads(f.read_text())["entry"]
        if e["resource"]["resourceType"] in SUPPORTED_TYPES
    ]
    started = time.perf_counter()
    for resource in resources:
        canonicalise(resource, "http://127.0.0.1:8000/fhir")
    return len(resources) / (time.perf_counter() - started)


def seed_patients(runtime: Runtime, count: int) -> list[tuple[str, str]]:
    """`count` synthetic patients; returns (family, birth date) pairs to search for."""
    rng = random.Random(7)
    keys = []
    for n in track(range(count), description=f"Creating {count:,} patients", console=console):
        family = f"{rng.choice(FAMILIES)}{n % 997}"
        birth = f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        create_resource(
            runtime,
            CLI,
            {
                "resourceType": "Patient",
                "name": [{"family": family, "given": ["Alex"]}],
                "birthDate": birth,
                "gender": "unknown",
            },
        )
        keys.append((family, birth))
    return keys


def search_latency(runtime: Runtime, keys: list[tuple[str, str]], count: int) -> list[float]:
    rng = random.Random(11)
    timings = []
    for _ in range(count):
        family, birth = rng.choice(keys)
        started = time.perf_counter()
        found = search_for(
            runtime,
            CLINICIAN,
            "Patient",
            {"family": [family], "birthdate": [birth]},
            Purpose.TREATMENT,
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert found, (family, birth)
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10, help="Synthea bundles to import")
    parser.add_argument("--patients", type=int, default=10_000, help="0 skips the search")
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--serve-db", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve_db)
        return
    if not SYNTHEA.is_dir():
        console.print(f"[yellow]Synthea bundles not found at {SYNTHEA}: nothing to measure.[/]")
        return
    files = sorted(SYNTHEA.glob("*.json"))[: args.files]
    table = Table(title="Record vault")
    for column in ("measure", "value"):
        table.add_column(column, justify="right" if column == "value" else "left")
    backends: list[tuple[str, str | None]] = [("SQLite", None)]
    if os.environ.get("CAREWALL_TEST_POSTGRES_URL"):
        backends.append(("PostgreSQL", os.environ["CAREWALL_TEST_POSTGRES_URL"]))
    warm_up(files)
    for name, url in backends:
        with runtime_on(url) as runtime:
            rate, baseline, count = import_rates(runtime, files)
        table.add_row(f"{name}: import, resources/s ({count:,} resources)", f"{rate:,.0f}")
        table.add_row(f"{name}: plain insert, resources/s", f"{baseline:,.0f}")
        table.add_row(f"{name}: ratio (target >= 0.3)", f"{rate / baseline:.3f}")
        with runtime_on(url) as runtime:
            http, http_baseline = http_import_rates(runtime, files)
        table.add_row(f"{name}: over HTTP, integration token, resources/s", f"{http:,.0f}")
        table.add_row(f"{name}: plain insert alongside, resources/s", f"{http_baseline:,.0f}")
        table.add_row(f"{name}: HTTP ratio to plain insert", f"{http / http_baseline:.3f}")
        table.add_row(f"{name}: HTTP / in-process import", f"{http / rate:.3f}")
        table.add_row(f"{name}: HTTP / Medplum over HTTP (148/s)", f"{http / 148:.2f}")
    table.add_row(
        "validation alone (fhir.resources), resources/s", f"{validation_rate(files):,.0f}"
    )
    table.add_row("canonical references alone, resources/s", f"{canonical_rate(files):,.0f}")
    if args.patients:
        search_rows(table, args.patients, args.searches)
    console.print(table)


def search_rows(table: Table, patients: int, searches: int) -> None:
    """Seed `patients` and add the search latency rows."""
    with runtime_on(None) as runtime:
        keys = seed_patients(runtime, patients)
        timings = search_latency(runtime, keys, searches)
    p99 = timings[int(len(timings) * 0.99) - 1]
    table.add_row(
        f"SQLite: name + birth date search over {patients:,} patients, p50 / p99 ms",
        f"{statistics.median(timings):.2f} / {p99:.2f} (target p99 < 50)",
    )


if __name__ == "__main__":
    main()
