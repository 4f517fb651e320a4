"""A clinician's reads and searches under a flood of unauthenticated sign-ins.

Run by hand: `uv run python bench/login_flood.py [--flood 40] [--seconds 8] [--rounds 3]
[--database sqlite|postgresql|both] [--postgres-url URL]`.

One server process (the real app, as `carewall serve` runs it) serves a clinician
who reads a Patient, searches its Observations (FHIR, bearer token) and opens the
patient's chart page (browser session), one request after another. The run
alternates quiet phases (the clinician alone) with flood phases (the clinician
while `--flood` threads post unknown emails to `POST /login` as fast as they are
answered), so the shared machine's drift hits both alike. It prints the
clinician's p50/p99/max in each, the ratio of the p99s, and what the flood got.

Targets (issue 9): p99 under flood <= 5x p99 without, no staff request over 5 s,
zero 5xx and zero connection errors for the clinician; the flood sees only
200/401/429/503.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console

import harness  # bench/ is on sys.path when run
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import open_runtime
from carewall.identity import accounts, apitokens, factors, prepare_keys, queries
from carewall.identity.models import User
from carewall.records import prepare_keys as prepare_record_keys
from carewall.records.services import create_resource
from carewall.registry import create_app

console = Console(width=120)
CLI = Origin(user_agent="bench")
PASSWORD = "violet harbour lantern 1987"  # noqa: S105 - a throwaway bench account
EMAIL = "dr.flood@clinic.example"
PATIENT = "flood-patient"
OBSERVATIONS = 30
STAFF_LIMIT_S = 5.0
FLOOD_OK = frozenset({200, 401, 429, 503})


@dataclass
class Staff:
    """What the clinician saw in one kind of phase."""

    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> tuple[float, float, float]:
        """p50, p99 and max, in ms."""
        ordered = sorted(self.latencies)
        p99 = ordered[max(0, math.ceil(len(ordered) * 0.99) - 1)]
        return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


@dataclass
class Flood:
    """What the sign-in flood got."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def prepare(home: Path, database_url: str | None) -> tuple[str, str]:
    """A patient with observations, and a clinician with a TOTP device and a read token."""
    runtime = open_runtime(Settings(home=home, database_url=database_url))
    prepare_keys(runtime.keys)
    prepare_record_keys(runtime.keys)
    system = Caller.cli("bench")
    subject = {"reference": f"Patient/{PATIENT}"}
    create_resource(
        runtime,
        system,
        {"resourceType": "Patient", "id": PATIENT, "name": [{"family": "Flood"}]},
    )
    code = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}
    for n in range(OBSERVATIONS):
        observation = {"resourceType": "Observation", "status": "final", "code": code}
        observation["subject"] = subject
        observation["valueQuantity"] = {"value": 60 + n, "unit": "/min"}
        create_resource(runtime, system, observation)
    link = accounts.invite_user(runtime, Caller.cli("bench"), EMAIL, "clinician")
    accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PASSWORD, CLI)
    with runtime.db.transaction() as session:
        user = session.query(User).filter_by(email=EMAIL).one()
        device, secret = factors.start_totp(session, runtime.keys, user, "bench", utcnow())
        device.confirmed = True
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, EMAIL)
    assert user_id
    token, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "bench", ["fhir:read"])
    runtime.close()
    return token, secret


def serve(home: str, port: int) -> None:
    """Child process: the real application, served as `carewall serve` serves it."""
    app = create_app(open_runtime(Settings(home=Path(home))))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def browser_session(base: str, secret: str) -> httpx.Client:
    """The clinician signed in through the pages (password, then TOTP)."""
    client = httpx.Client(base_url=base, timeout=60)
    harness.sign_in(client, EMAIL, PASSWORD, secret)
    return client


def clinician(base: str, token: str, browser: httpx.Client, stop: threading.Event) -> Staff:
    """Read, search, open the chart, in turn, until `stop`; every request timed."""
    seen = Staff()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    paths = (f"/fhir/Patient/{PATIENT}", f"/fhir/Observation?patient={PATIENT}&_count=20")
    chart = f"/patients/{PATIENT}"
    with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
        turn = 0
        while not stop.is_set():
            client, path = (api, paths[turn % 3]) if turn % 3 < 2 else (browser, chart)
            turn += 1
            began = time.perf_counter()
            try:
                status = client.get(path).status_code
            except httpx.TransportError as exc:
                seen.errors[type(exc).__name__] += 1
                continue
            seen.latencies.append(time.perf_counter() - began)
            seen.statuses[status] += 1
    return seen


def flooder(base: str, stop: threading.Event, result: Flood, lock: threading.Lock) -> None:
    """Unknown emails, one attempt after another, until `stop`."""
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    with httpx.Client(base_url=base, timeout=120) as client:
        token = harness.csrf_of(client.get("/login").text)
        while not stop.is_set():
            form = {
                "email": f"nobody-{uuid.uuid4().hex[:12]}@example.org",
                "password": "not the password at all",
                "csrf_token": token,
            }
            try:
                statuses[client.post("/login", data=form).status_code] += 1
            except httpx.TransportError as exc:
                errors[type(exc).__name__] += 1
    with lock:
        result.statuses.update(statuses)
        result.errors.update(errors)


def phase(
    base: str, token: str, browser: httpx.Client, seconds: float, flood: int, result: Flood
) -> Staff:
    """One phase: the clinician for `seconds`, with `flood` sign-in threads alongside."""
    stop, lock = threading.Event(), threading.Lock()
    threads = [
        threading.Thread(target=flooder, args=(base, stop, result, lock)) for _ in range(flood)
    ]
    for thread in threads:
        thread.start()
    if flood:
        time.sleep(0.5)  # let the flood build up before measuring the clinician
    box: list[Staff] = []
    worker = threading.Thread(target=lambda: box.append(clinician(base, token, browser, stop)))
    worker.start()
    time.sleep(seconds)
    stop.set()
    worker.join()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds += seconds + (time.perf_counter() - began if flood else 0)
    return box[0]


def merge(into: Staff, part: Staff) -> None:
    into.latencies += part.latencies
    into.statuses.update(part.statuses)
    into.errors.update(part.errors)


def run(database: str, args: argparse.Namespace) -> None:
    """Prepare, serve, alternate quiet and flood phases, print the table."""
    with tempfile.TemporaryDirectory() as tmp, harness.scratch_database(database, args) as url:
        home = Path(tmp) / "home"
        token, secret = prepare(home, url)
        quiet, loud, flood = Staff(), Staff(), Flood()
        with (
            harness.served(__file__, home, url) as base,
            closing(browser_session(base, secret)) as browser,
        ):
            phase(base, token, browser, 1.0, 0, Flood())  # warm up
            for _ in range(args.rounds):
                merge(quiet, phase(base, token, browser, args.seconds, 0, Flood()))
                merge(loud, phase(base, token, browser, args.seconds, args.flood, flood))
    report(database, args, quiet, loud, flood)


def report(
    database: str, args: argparse.Namespace, quiet: Staff, loud: Staff, flood: Flood
) -> None:
    q50, q99, qmax = quiet.summary()
    f50, f99, fmax = loud.summary()
    staff_5xx = sum(n for status, n in (quiet.statuses + loud.statuses).items() if status >= 500)
    staff_errors = sum((quiet.errors + loud.errors).values())
    unexpected = sum(n for status, n in flood.statuses.items() if status not in FLOOD_OK)
    attempts = sum(flood.statuses.values())
    table = harness.results_table(
        f"Clinician under a sign-in flood ({database}, {args.flood} concurrent)",
        ("measure", "no flood", "flood"),
        left={"measure"},
    )
    table.add_row("clinician requests", f"{len(quiet.latencies)}", f"{len(loud.latencies)}")
    table.add_row("p50 ms", f"{q50:.1f}", f"{f50:.1f}")
    table.add_row("p99 ms", f"{q99:.1f}", f"{f99:.1f}")
    table.add_row("max ms", f"{qmax:.1f}", f"{fmax:.1f}")
    table.add_row("statuses", _counts(quiet.statuses), _counts(loud.statuses))
    table.add_row("connection errors", _counts(quiet.errors), _counts(loud.errors))
    console.print(table)
    console.print(
        f"flood: {attempts} sign-in attempts ({attempts / max(flood.seconds, 1e-9):.1f}/s) "
        f"{_counts(flood.statuses)}; connection errors {_counts(flood.errors) or 0}"
    )
    verdicts = [
        (f"p99 ratio flood/quiet {f99 / q99:.2f} (target <= 5)", f99 <= 5 * q99),
        (
            f"slowest staff request {max(qmax, fmax) / 1000:.2f} s (target <= 5 s)",
            max(qmax, fmax) <= STAFF_LIMIT_S * 1000,
        ),
        (
            f"staff 5xx {staff_5xx}, staff connection errors {staff_errors} (target 0)",
            staff_5xx == 0 and staff_errors == 0,
        ),
        (f"flood answers outside 200/401/429/503: {unexpected} (target 0)", unexpected == 0),
    ]
    for text_, ok in verdicts:
        console.print(f"  [{'green' if ok else 'red'}]{'PASS' if ok else 'FAIL'}[/] {text_}")


def _counts(counter: Counter[int] | Counter[str]) -> str:
    return " ".join(f"{key}:{value}" for key, value in sorted(counter.items(), key=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=40, help="concurrent sign-in threads")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/flood phase pairs")
    harness.add_database_options(parser)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    for database in harness.chosen_databases(args):
        run(database, args)


if __name__ == "__main__":
    main()
