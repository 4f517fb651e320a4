"""Backup benchmark: restic backups and restores of a 10,000-patient practice vs plain `tar`.

Run by hand: `uv run python bench/backup.py [--patients 10000]` (needs restic).

The data directory is the demo practice's shape scaled up: the demo staff,
and N synthetic patients, each with encounters, observations, conditions,
medications, an allergy and an immunisation, written straight through the
vault's store (sealed, blind-indexed, audited per batch like an import) so the
set-up stays quick on two cores. Then, in the same run:

- `tar -cf` of the data directory (the baseline) and `tar -xf` of it;
- the first `carewall backup` (consistent copy, sealed key, manifest, restic);
- a second backup of unchanged data (target: a small fraction of the first);
- a third after a day's work (1% more observations);
- a restore into a new directory (checks every part's SHA-256, the audit chain
  and every table's row count) and a restore drill.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carewall.audit import AuditEvent, record
from carewall.backup.database import pg_environment
from carewall.backup.repository import open_store
from carewall.backup.restore import restore_into
from carewall.backup.services import create_backup, drill_backups, init_repository
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.demo.identity_seed import STAFF_SEEDER
from carewall.records.store import PreparedVersion, insert_versions, prepare_version
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag
from carewall.registry import install

console = Console(width=120)
CALLER = Caller.cli("bench")
REPOSITORY_KEY = "bench-backup-password-2291"  # the backup password of the scratch repository
BATCH = 250  # patients per transaction
T = TypeVar("T")
MB = 1e6
FAMILIES = ["Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Tanaka", "Silva", "Brennan"]
GIVEN = ["Alex", "Sam", "Noor", "Mika", "Ines", "Tomasz", "Aiko", "Rui", "Leila", "Jonas"]
VITALS = [("8867-4", "Heart rate", "/min", 55, 110), ("29463-7", "Body weight", "kg", 40, 130)]
CONDITIONS = [("44054006", "Diabetes mellitus type 2"), ("38341003", "Hypertension")]


@dataclass(frozen=True)
class Baseline:
    """The plain way of copying the same data, measured in the same run."""

    name: str
    seconds: float
    size: int
    restore_name: str
    restore_seconds: float
    extra: list[tuple[str, str]]


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """Run `work`; its result and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def du(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def patient_resources(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    """One synthetic patient's compartment."""
    pid = f"p-{n:06d}"
    subject = {"reference": f"Patient/{pid}"}
    yield {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": f"MRN{n:08d}"}],
        "name": [{"family": f"{rng.choice(FAMILIES)}{n % 997}", "given": [rng.choice(GIVEN)]}],
        "gender": rng.choice(["female", "male", "other", "unknown"]),
        "birthDate": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "telecom": [{"system": "phone", "value": f"+1 555 {rng.randint(1000000, 9999999)}"}],
        "address": [{"line": [f"{rng.randint(1, 999)} Main St"], "city": "Springfield"}],
    }
    for e in range(2):
        yield {
            "resourceType": "Encounter",
            "id": f"{pid}-enc-{e}",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": subject,
            "period": {"start": f"20{10 + e * 5}-0{e + 1}-15T09:00:00Z"},
        }
    for o in range(6):
        code, label, unit, low, high = VITALS[o % 2]
        yield observation(pid, o, code, label, unit, rng.uniform(low, high))
    for c, (code, label) in enumerate(CONDITIONS[: rng.randint(1, 2)]):
        yield {
            "resourceType": "Condition",
            "id": f"{pid}-cond-{c}",
            "subject": subject,
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}], "text": label},
        }
    yield {
        "resourceType": "MedicationRequest",
        "id": f"{pid}-med",
        "status": "active",
        "intent": "order",
        "subject": subject,
        "medicationCodeableConcept": {"text": "metformin 500 mg tablet, twice daily"},
    }
    yield {"resourceType": "AllergyIntolerance", "id": f"{pid}-allergy", "patient": subject}


def observation(
    pid: str, index: int, code: str, label: str, unit: str, value: float
) -> dict[str, Any]:
    """A vital-sign Observation."""
    return {
        "resourceType": "Observation",
        "id": f"{pid}-obs-{index}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": label},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": f"20{12 + index}-03-01T10:00:00Z",
        "valueQuantity": {"value": round(value, 1), "unit": unit},
    }


def write_batch(runtime: Runtime, keys: RecordKeys, resources: list[dict[str, Any]]) -> None:
    """Seal, index and insert one batch in one transaction, audited like an import."""
    now = datetime.now(UTC)
    prepared: list[PreparedVersion] = []
    for resource in resources:
        version = prepare_version(keys, resource, now, None)
        assert version is not None
        prepared.append(version)
    with runtime.db.transaction() as session:
        insert_versions(session, prepared, [])
        event = AuditEvent(
            action=RecordsTag.IMPORT_COMPLETED,
            actor="bench",
            subject="records",
            details={"created": len(prepared)},
        )
        record(session, event)


def seed(runtime: Runtime, patients: int) -> int:
    """The demo staff and `patients` synthetic patients; returns how many resources."""
    STAFF_SEEDER.run(runtime)
    keys = RecordKeys.from_keystore(runtime.keys)
    rng = random.Random(13)
    written = 0
    for start in track(range(0, patients, BATCH), description=f"Seeding {patients:,} patients"):
        batch = [
            r for n in range(start, min(start + BATCH, patients)) for r in patient_resources(rng, n)
        ]
        write_batch(runtime, keys, batch)
        written += len(batch)
    return written


def a_days_work(runtime: Runtime, patients: int) -> None:
    """New observations for 1% of the patients: what changes between two nightly backups."""
    keys = RecordKeys.from_keystore(runtime.keys)
    rng = random.Random(17)
    extra = [
        observation(f"p-{n:06d}", 100 + n, "8867-4", "Heart rate", "/min", rng.uniform(55, 110))
        for n in rng.sample(range(patients), max(1, patients // 100))
    ]
    write_batch(runtime, keys, extra)


def tar_baseline(home: Path, work: Path) -> Baseline:
    """`tar -cf` of the data directory and `tar -xf` of it back (and `tar -czf` for scale)."""
    archive, out, gz = work / "home.tar", work / "untarred", work / "home.tar.gz"
    _, create = timed(lambda: _sh("tar", "-cf", str(archive), "-C", str(home), "."))
    out.mkdir()
    _, extract = timed(lambda: _sh("tar", "-xf", str(archive), "-C", str(out)))
    _, gzip_time = timed(lambda: _sh("tar", "-czf", str(gz), "-C", str(home), "."))
    return Baseline(
        "tar -cf of the data directory",
        create,
        archive.stat().st_size,
        "tar -xf",
        extract,
        [("tar -czf: time / archive size", f"{gzip_time:.1f} s / {gz.stat().st_size / MB:.1f} MB")],
    )


def pg_dump_baseline(runtime: Runtime, work: Path) -> Baseline:
    """`pg_dump -Fc` (compressed, the usual PostgreSQL backup) and `pg_restore` of it."""
    url = runtime.db.engine.url
    dump = work / "plain.pgdump"
    _, create = timed(lambda: _sh("pg_dump", "-Fc", f"--file={dump}", env=pg_environment(url)))
    with scratch_database(url.render_as_string(hide_password=False)) as target:
        assert target is not None
        restore_env = pg_environment(target)
        name = restore_env["PGDATABASE"]
        _, restore = timed(
            lambda: _sh("pg_restore", f"--dbname={name}", str(dump), env=restore_env)
        )
    return Baseline("pg_dump -Fc", create, dump.stat().st_size, "pg_restore", restore, [])


def _sh(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, check=True, env=env)


@contextmanager
def scratch_database(url: str | None) -> Iterator[str | None]:
    """A new PostgreSQL database on the server of `url` (None: SQLite, nothing to make)."""
    if url is None:
        yield None
        return
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also on PostgreSQL (CAREWALL_TEST_POSTGRES_URL), against pg_dump -Fc",
    )
    args = parser.parse_args()
    if shutil.which("restic") is None:
        console.print(
            "[yellow]restic is not installed (sudo apt-get install restic): nothing to measure.[/]"
        )
        return
    servers: list[str | None] = [None]
    if args.postgres and os.environ.get("CAREWALL_TEST_POSTGRES_URL"):
        servers.append(os.environ["CAREWALL_TEST_POSTGRES_URL"])
    for server in servers:
        with (
            tempfile.TemporaryDirectory(prefix="cw-bench-backup-") as tmp,
            scratch_database(server) as url,
        ):
            bench_one(Path(tmp), url, args.patients)


def bench_one(work: Path, url: str | None, patients: int) -> None:
    """Seed, measure and print one database's table."""
    settings = Settings(
        home=work / "home",
        database_url=url,
        backup_repo=str(work / "repo"),
        backup_password=SecretStr(REPOSITORY_KEY),
        demo=False,
    )
    runtime = install(open_runtime(settings))
    try:
        resources, seed_time = timed(lambda: seed(runtime, patients))
        console.print(f"Seeded {resources:,} resources in {seed_time:.0f} s")
        baseline = pg_dump_baseline(runtime, work) if url else tar_baseline(settings.home, work)
        with scratch_database(url and str(make_url(url).set(database="postgres"))) as target:
            table = measure(runtime, work, patients, baseline, target)
        engine = "PostgreSQL" if url else "SQLite"
        table.title = (
            f"Backups of a {patients:,}-patient practice ({resources:,} records, {engine})"
        )
        console.print(table)
    finally:
        runtime.close()


def measure(
    runtime: Runtime, work: Path, patients: int, baseline: Baseline, target_db: str | None
) -> Table:
    """Three backups, a restore and a drill, against the baseline; the table of figures."""
    repo = work / "repo"
    init_repository(runtime, CALLER)
    first, first_time = timed(lambda: create_backup(runtime, CALLER, trigger="bench"))
    after_first = du(repo)
    second, second_time = timed(lambda: create_backup(runtime, CALLER, trigger="bench"))
    after_second = du(repo)
    a_days_work(runtime, patients)
    third, third_time = timed(lambda: create_backup(runtime, CALLER, trigger="bench"))
    after_third = du(repo)
    store = open_store(runtime)
    _, restore_time = timed(
        lambda: restore_into(
            store, "latest", work / "restored", REPOSITORY_KEY, CALLER, database_url=target_db
        )
    )
    drill, drill_time = timed(lambda: drill_backups(runtime, CALLER, trigger="bench"))
    assert drill.ok, drill.problems

    table = Table()
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        f"{baseline.name} (baseline): time / size",
        f"{baseline.seconds:.1f} s / {baseline.size / MB:.1f} MB",
    )
    for name, value in baseline.extra:
        table.add_row(name, value)
    table.add_row(
        f"{baseline.restore_name} (baseline restore)", f"{baseline.restore_seconds:.1f} s"
    )
    table.add_row(
        "first backup: time / repository size", f"{first_time:.1f} s / {after_first / MB:.1f} MB"
    )
    table.add_row(
        "  vs baseline: time / size",
        f"{first_time / baseline.seconds:.1f}x / {after_first / baseline.size:.2f}x",
    )
    table.add_row(
        "second backup, unchanged: time / repository growth",
        f"{second_time:.1f} s / {(after_second - after_first) / MB:.2f} MB",
    )
    table.add_row("  second / first backup time", f"{second_time / first_time:.2f}")
    table.add_row(
        f"third, after a day's work (+{max(1, patients // 100)} observations): time / growth",
        f"{third_time:.1f} s / {(after_third - after_second) / MB:.2f} MB",
    )
    table.add_row("restore into a new directory (verified)", f"{restore_time:.1f} s")
    table.add_row(
        "  vs baseline restore", f"{restore_time / max(baseline.restore_seconds, 0.01):.1f}x"
    )
    table.add_row("restore drill (restore, verify, decrypt, delete)", f"{drill_time:.1f} s")
    table.add_row(
        "data new to the repository: first / second / third (before compression)",
        f"{first.bytes_added / MB:.1f} / {second.bytes_added / MB:.2f} / "
        f"{third.bytes_added / MB:.2f} MB",
    )
    return table


if __name__ == "__main__":
    main()
