"""Sign-in throughput and session-check overhead, through the real HTTP stack.

Run by hand: `uv run python bench/login.py [--users 40] [--requests 2000]`.

(a) Full sign-ins per second (GET /login, POST /login with the password, POST
    /login/mfa with a TOTP code) against a server process, as a ratio of the bare
    argon2 verification rate measured in this run on this machine. The hash
    dominates by design; the ratio shows what the rest of the stack costs.
(b) p50/p99 latency of the same small page with and without the session check,
    served by one process in the same run.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import pyotp
import uvicorn
from fastapi import Depends
from rich.console import Console
from rich.table import Table

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import accounts, factors, prepare_keys
from carewall.identity.models import User
from carewall.identity.passwords import HASHER, hash_password
from carewall.registry import create_app
from carewall.web.auth import ALL, require
from harness import start_server, timed_gets, timed_pair  # bench/ is on sys.path when run

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


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def sign_in(base: str, email: str, secret: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = csrf_of(client.get("/login").text)
        first = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert first.status_code == 303, first.text
        assert first.headers["location"] == "/login/mfa", first.text
        code = pyotp.TOTP(secret).now()
        done = client.post("/login/mfa", data={"code": code, "csrf_token": token})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/", done.text


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        runtime = open_runtime(Settings(home=home))
        console.print(f"Creating {args.users} users with TOTP devices…")
        people = make_users(runtime, args.users)
        runtime.close()
        process, base = start_server(__file__, home)
        try:
            baseline = argon2_rate()
            started = time.perf_counter()
            for email, secret in people:
                sign_in(base, email, secret)
            signins = len(people) / (time.perf_counter() - started)
            with httpx.Client(base_url=base, timeout=30) as client:
                token = csrf_of(client.get("/login").text)
                client.post(
                    "/login",
                    data={"email": people[0][0], "password": PASSWORD, "csrf_token": token},
                )
                step = int(time.time()) // 30 + 1
                code = pyotp.TOTP(people[0][1]).generate_otp(step)
                client.post("/login/mfa", data={"code": code, "csrf_token": token})
                timed_gets(client, "/bench/with", 200)  # warm up both paths
                timed_gets(client, "/bench/without", 200)
                (_, with_p50, with_p99), (_, without_p50, without_p99) = timed_pair(
                    client, "/bench/with", "/bench/without", args.requests
                )
        finally:
            process.terminate()
            process.wait(timeout=20)
    table = Table(title="Sign-in and session check")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("bare argon2 verify / s (baseline)", f"{baseline:.2f}")
    table.add_row("full sign-ins / s (password + TOTP, HTTP)", f"{signins:.2f}")
    table.add_row("ratio (target >= 0.8)", f"{signins / baseline:.2f}")
    table.add_row("page p50 / p99 with session check (ms)", f"{with_p50:.2f} / {with_p99:.2f}")
    table.add_row("page p50 / p99 without (ms)", f"{without_p50:.2f} / {without_p99:.2f}")
    table.add_row("session check overhead p50 (target < 2 ms)", f"{with_p50 - without_p50:.2f} ms")
    console.print(table)


if __name__ == "__main__":
    main()
