"""Finding patients by the first letters of a name, against an exact-name search, in one run.

Run by hand: `uv run python bench/patient_search.py [--patients 3000] [--searches 200]`.

Both searches go through the same chokepoint (`records.finder.find_patients_for`:
authorisation, restriction check, decryption of one page of 25, an audit entry)
on the same vault, alternating in blocks so the shared machine's load drifts
across both alike:
- exact: `family:exact=<name>` (one blind index per name);
- prefix: `family=<first 2 or 4 letters>` (the padded prefix terms).
It prints searches/s and the ratio prefix/exact, and the index rows per
patient the prefix and Soundex terms add (the storage they cost).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import Role
from carewall.records import Purpose
from carewall.records.bundles.importer import import_path
from carewall.records.finder import find_patients_for
from carewall.records.models import FhirSearchIndex

console = Console(width=120)
FAMILIES = (
    "Müller",
    "Mulligan",
    "Miller",
    "Okafor",
    "Nguyen",
    "Garcia",
    "Smith",
    "Schmidt",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Novak",
    "Ortiz",
    "Abara",
    "Brandt",
    "Zamora",
)
GIVEN = ("Anna", "Ben", "Cara", "Dov", "Eli", "Fatima", "Gus", "Hana", "Ivo", "Jun")
NEW_PARAMS = ("family:prefix", "given:prefix", "phonetic")


def _bundle_lines(count: int) -> str:
    """An NDJSON file of `count` synthetic patients (names from small lists, suffixed)."""
    rng = random.Random(7)
    lines = []
    for n in range(count):
        family = f"{rng.choice(FAMILIES)}{'' if n % 3 else 'son'}"
        patient = {
            "resourceType": "Patient",
            "id": f"p-{n:05}",
            "name": [{"family": family, "given": [rng.choice(GIVEN)]}],
            "birthDate": f"19{n % 90:02}-0{1 + n % 9}-1{n % 9}",
        }
        lines.append(json.dumps(patient, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _time(runtime, actor: Caller, params: dict[str, list[str]]) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    find_patients_for(runtime, actor, params, Purpose.TREATMENT, count=25)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--searches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = open_runtime(Settings(home=Path(tmp) / "home"))
        source = Path(tmp) / "patients.ndjson"
        source.write_text(_bundle_lines(args.patients), encoding="utf-8")
        import_path(runtime, Caller.cli("bench"), source, lambda _r: None)
        with runtime.db.sessions() as session:
            rows = dict(
                session.execute(
                    select(FhirSearchIndex.param, func.count()).group_by(FhirSearchIndex.param)
                ).all()
            )
        added = sum(rows.get(p, 0) for p in NEW_PARAMS)
        kept = sum(rows.values()) - added
        actor = Caller.for_user("bench", Role.CLINICIAN)
        cases = {
            "exact family": [{"family:exact": [f]} for f in FAMILIES],
            "prefix, 4 letters": [{"family": [f[:4]]} for f in FAMILIES],
            "prefix, 2 letters": [{"family": [f[:2]]} for f in FAMILIES],
        }
        timings: dict[str, list[float]] = {name: [] for name in cases}
        block = max(1, args.searches // 10)
        for _ in range(10):
            for name, queries in cases.items():
                for params in itertools.islice(itertools.cycle(queries), block):
                    timings[name].append(_time(runtime, actor, params))
        runtime.close()
    table = Table(title=f"Patient search over {args.patients} patients (page of 25)")
    for column in ("Search", "searches/s", "p50 ms", "ratio to exact"):
        table.add_column(column, justify="right")
    base = len(timings["exact family"]) / sum(timings["exact family"]) * 1000
    for name, values in timings.items():
        rate = len(values) / sum(values) * 1000
        table.add_row(name, f"{rate:.0f}", f"{statistics.median(values):.1f}", f"{rate / base:.2f}")
    console.print(table)
    console.print(
        f"Index rows per patient: {kept / args.patients:.1f} exact-match, "
        f"+{added / args.patients:.1f} prefix and Soundex "
        f"(x{(kept + added) / max(kept, 1):.1f} the index)."
    )


if __name__ == "__main__":
    main()
