"""Sign-in throughput and session-check overhead, through the real HTTP stack.

Run by hand: `uv run python bench/login.py [--users 40] [--requests 2000]
[--database sqlite|postgresql|both] [--postgres-url URL]`.

(a) Full sign-ins per second (GET /login, POST /login with the password, GET
    /login/mfa after the redirect, POST /login/mfa with a TOTP code) against a
    server process, as a ratio of the bare argon2 verification rate measured in
    this run on this machine. The hash dominates by design; the ratio shows what
    the rest of the stack costs.
(b) p50/p99 latency of the same small page with and without the session check,
    served by one process in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import uvicorn
from fastapi import Depends
from rich.console import Console

import harness  # bench/ is on sys.path when run
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import accounts, factors, prepare_keys
from carewall.identity.models import User
from carewall.identity.passwords import HASHER, hash_password
from carewall.registry import create_app
from carewall.web.auth import ALL, require

console = Console(width=120)
PASSWORD = "violet harbour lantern 1987"  # noqa: S105 - a throwaway bench account
CLI = Origin(user_agent="bench")


def argon2_rate(seconds: float = 3.0) -> float:
    """Bare verifications per second (one thread), the baseline."""
    stored = hash_password(PASSWORD)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        HASHER.verify(stored, PASSWORD)
        count += 1
    return count / (time.perf_counter() - started)


def make_users(runtime: Runtime, count: int) -> list[tuple[str, str]]:
    """Active clinicians, each with a confirmed TOTP device: (email, secret)."""
    prepare_keys(runtime.keys)
    people = []
    for n in range(count):
        email = f"bench{n}@clinic.example"
        link = accounts.invite_user(runtime, Caller.cli("bench"), email, "clinician")
        accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PASSWORD, CLI)
        with runtime.db.transaction() as session:
            user = session.query(User).filter_by(email=email).one()
            device, secret = factors.start_totp(session, runtime.keys, user, "bench", utcnow())
            device.confirmed = True
        people.append((email, secret))
    return people


def sign_in(base: str, email: str, secret: str) -> None:
    """One full sign-in by a fresh browser (its own client, so its own session)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        harness.sign_in(client, email, PASSWORD, secret)


def serve(home: str, port: int) -> None:
    """Child process: the real app plus two identical bench routes, one behind the check."""
    app = create_app(open_runtime(Settings(home=Path(home))))

    @app.get("/bench/with")
    def with_check(caller: Annotated[Caller, Depends(require(ALL))]) -> dict[str, str]:
        del caller
        return {"ok": "yes"}

    @app.get("/bench/without")
    def without_check() -> dict[str, str]:
        return {"ok": "yes"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


#: argon2 verifications/s, sign-ins/s, the page with the session check, without it
Measures = tuple[float, float, harness.Timing, harness.Timing]


def run(database: str, args: argparse.Namespace) -> Measures:
    """Make the users, serve, time the sign-ins and the session check."""
    with tempfile.TemporaryDirectory() as tmp, harness.scratch_database(database, args) as url:
        home = Path(tmp) / "home"
        runtime = open_runtime(Settings(home=home, database_url=url))
        console.print(f"Creating {args.users} users with TOTP devices ({database})…")
        # One user more than are timed, for the session check: signing in a timed user
        # again within the same 30 s would replay its TOTP code, which is refused.
        *people, (email, secret) = make_users(runtime, args.users + 1)
        runtime.close()
        with harness.served(__file__, home, url) as base:
            baseline = argon2_rate()
            started = time.perf_counter()
            for person in people:
                sign_in(base, *person)
            signins = len(people) / (time.perf_counter() - started)
            with httpx.Client(base_url=base, timeout=30) as client:
                harness.sign_in(client, email, PASSWORD, secret)
                harness.timed_gets(client, "/bench/with", 200)  # warm up both paths
                harness.timed_gets(client, "/bench/without", 200)
                with_check, without = harness.timed_pair(
                    client, "/bench/with", "/bench/without", args.requests
                )
    return baseline, signins, with_check, without


def report(database: str, measures: Measures) -> None:
    baseline, signins, (_, with_p50, with_p99), (_, without_p50, without_p99) = measures
    table = harness.results_table(
        f"Sign-in and session check ({database})", ("measure", "value"), left={"measure"}
    )
    table.add_row("bare argon2 verify / s (baseline)", f"{baseline:.2f}")
    table.add_row("full sign-ins / s (password + TOTP, HTTP)", f"{signins:.2f}")
    table.add_row("ratio (target >= 0.8)", f"{signins / baseline:.2f}")
    table.add_row("page p50 / p99 with session check (ms)", f"{with_p50:.2f} / {with_p99:.2f}")
    table.add_row("page p50 / p99 without (ms)", f"{without_p50:.2f} / {without_p99:.2f}")
    table.add_row("session check overhead p50 (target < 2 ms)", f"{with_p50 - without_p50:.2f} ms")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=40, help="timed sign-ins, one user each")
    parser.add_argument("--requests", type=int, default=2000, help="page requests per path")
    harness.add_database_options(parser)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    for database in harness.chosen_databases(args):
        report(database, run(database, args))


if __name__ == "__main__":
    main()
