"""Bulk Data export: throughput of a whole `$export` against a bare decrypt of the same rows.

Run by hand: `uv run python bench/bulk_export.py [--files 20]`. PostgreSQL is
included when CAREWALL_TEST_POSTGRES_URL is set.

The export is the real path: the kick-off (authorised and audited), the queued
task run by the job runner as the requester (matrix and restriction checks per
page, decryption, NDJSON, sealing each file under the `records-bulk` key, the
completion entry filed under every patient), then every file downloaded and
decrypted. The baseline reads the same current rows of the same database and
decrypts each one, with no checks, no files and no audit. The ratio is export
resources/s over baseline resources/s, measured in one run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.jobs import JobRegistry, run_pending
from carewall.records import RecordKeys
from carewall.records.bulk import (
    EXPORT_TASK,
    ExportRequest,
    Level,
    Scope,
    download_file,
    export_status,
    start_export,
)
from carewall.records.bundles.importer import import_file
from carewall.records.models import FhirResource
from carewall.records.store import open_row
from records import CLI, SYNTHEA, runtime_on, warm_up  # bench/ is on sys.path when run

console = Console(width=120)
FEED = Caller.for_user("bench-feed", Role.INTEGRATION)
#: The export task alone: no periodic job (detectors, checkpoints) runs inside the timing.
ONLY_EXPORTS = JobRegistry(tasks=[EXPORT_TASK])


def load(runtime: Runtime, files: list[Path]) -> None:
    for file in files:
        report = import_file(runtime, CLI, file)
        assert not report.failed, report.error


def export_seconds(runtime: Runtime) -> tuple[float, int, int]:
    """Seconds for kick-off, run and download of a Patient-level export; resources, files."""
    started = time.perf_counter()
    asked = ExportRequest(Scope(Level.PATIENTS), (), "bench")
    export_id = start_export(runtime, FEED, asked, stepped_up=False)
    while export_status(runtime, FEED, export_id).status in {"queued", "running"}:
        run_pending(runtime, ONLY_EXPORTS, worker="bench")
    state = export_status(runtime, FEED, export_id)
    assert state.status == "completed", state.error
    lines = sum(download_file(runtime, FEED, export_id, f.id).count(b"\n") for f in state.files)
    return time.perf_counter() - started, lines, len(state.files)


def bare_seconds(runtime: Runtime) -> tuple[float, int]:
    """Seconds to decrypt every current row once, with nothing else."""
    keys = RecordKeys.from_keystore(runtime.keys)
    started = time.perf_counter()
    with runtime.db.sessions() as session:
        rows = session.scalars(
            select(FhirResource).where(
                FhirResource.is_current.is_(True),
                FhirResource.deleted.is_(False),
                FhirResource.patient_ref.is_not(None),
            )
        )
        count = sum(1 for row in rows if open_row(keys, row))
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20, help="Synthea bundles to import")
    args = parser.parse_args()
    files = sorted(SYNTHEA.glob("*.json"))[: args.files]
    warm_up(files)
    table = Table(title=f"Bulk export of {len(files)} Synthea patients")
    for column in ("database", "resources", "files", "export s", "export/s", "bare/s", "ratio"):
        table.add_column(column, justify="right")
    targets = {"SQLite": None, "PostgreSQL": os.environ.get("CAREWALL_TEST_POSTGRES_URL")}
    for name, url in targets.items():
        if name == "PostgreSQL" and not url:
            continue
        with runtime_on(url) as runtime:
            load(runtime, files)
            bare, count = bare_seconds(runtime)
            spent, lines, parts = export_seconds(runtime)
            assert lines == count, (lines, count)
            table.add_row(
                name,
                str(lines),
                str(parts),
                f"{spent:.2f}",
                f"{lines / spent:.0f}",
                f"{count / bare:.0f}",
                f"{(lines / spent) / (count / bare):.2f}",
            )
    console.print(table)


if __name__ == "__main__":
    main()
