"""Demo seeder for the record vault: a few Synthea patients and one restricted record.

The bundles are read from the shared reference data next to the repository
(never copied into it); when they are absent the step logs that and does
nothing. Bundle file names carry patient names, so nothing here prints or
logs a file name: only counts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import carewall
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.records import Purpose
from carewall.records.access import search_for
from carewall.records.bundles.importer import import_file
from carewall.records.services import restrict_compartment

log = logging.getLogger(__name__)
BUNDLES = 5
_SYSTEM = Caller.cli("demo", user_agent="demo-seed")


def synthea_dir() -> Path:
    """`shared/data/fhir` beside the repository checkout."""
    return Path(carewall.__file__).resolve().parents[2].parent / "shared" / "data" / "fhir"


def _records(runtime: Runtime) -> None:
    """Import the first bundles (by name), then restrict the last imported patient by id."""
    folder = synthea_dir()
    files = sorted(folder.glob("*.json"))[:BUNDLES] if folder.is_dir() else []
    if not files:
        log.info("demo: no Synthea bundles found; the practice starts without imported patients")
        return
    reports = [import_file(runtime, _SYSTEM, file) for file in files]
    failed = sum(1 for report in reports if report.error is not None)
    log.info("demo: imported %d Synthea bundle(s), %d failed", len(reports) - failed, failed)
    patients = sorted(
        str(p["id"]) for p in search_for(runtime, _SYSTEM, "Patient", {}, Purpose.SYSTEM)
    )
    # The portal seeder links the first patient by id; restrict another one, so the
    # demo shows both an open chart and the break-glass screen.
    if len(patients) >= 2:
        restrict_compartment(runtime, _SYSTEM, patients[-1], "vip")


RECORDS_SEEDER = Seeder("records-synthea", _records)
