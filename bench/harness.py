"""What the benchmarks share: a server child process, timed GET loops, a scratch
PostgreSQL database per run, the `--database` options, the results tables and
signing in through the pages.

Each HTTP benchmark script re-runs itself with `--serve HOME PORT` to serve its own
app (the real one plus bench-only routes); the parent measures over loopback.
Nothing here is measured: it is the scaffolding around what each script times.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyotp
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DATABASES = ("sqlite", "postgresql")


def start_server(script: str, home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Run `script --serve HOME PORT [EXTRA...]` on a free loopback port; returns it and its
    URL (`extra`: more arguments for the child, e.g. the database it must use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, script, "--serve", str(home), str(port), *extra]
    process = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


@contextmanager
def served(script: str, home: Path, database_url: str | None) -> Iterator[str]:
    """`start_server` on the store prepared in `home` (and in `database_url`, which the
    child reads from CAREWALL_DATABASE_URL); yields its URL, stops it afterwards."""
    if database_url:
        os.environ["CAREWALL_DATABASE_URL"] = database_url
    try:
        process, base = start_server(script, home)
        try:
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        os.environ.pop("CAREWALL_DATABASE_URL", None)


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """`--database sqlite|postgresql|both` (default both) and `--postgres-url`."""
    parser.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "CAREWALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="an administrative URL; each run creates and drops its own database",
    )


def chosen_databases(args: argparse.Namespace) -> tuple[str, ...]:
    """The databases `--database` asks for, SQLite first."""
    return DATABASES if args.database == "both" else (args.database,)


@contextmanager
def scratch_database(database: str, args: argparse.Namespace) -> Iterator[str | None]:
    """The URL to run on: None for SQLite (the data directory's file, fresh with each
    temporary home), a fresh PostgreSQL database for `postgresql`."""
    if database == "sqlite":
        yield None
        return
    with postgres_database(args.postgres_url) as url:
        yield url


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    name = f"cw_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def results_table(title: str, columns: Collection[str], left: Collection[str] = ()) -> Table:
    """A table with these columns, numbers right-aligned, the `left` ones (labels) not."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in left else "right")
    return table


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (every page has it in a meta tag)."""
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert match, "every page carries the CSRF token"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str, totp_secret: str) -> None:
    """Sign `client` in through the pages as a browser does: the password form, then the
    TOTP form it is redirected to. The password step rotates the session and the CSRF
    token is bound to the session, so the TOTP form must be posted with the token of the
    page served after the rotation (the login page's token is refused with 403)."""
    token = csrf_of(client.get("/login").text)
    first = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert first.status_code == 303, first.text
    assert first.headers["location"] == "/login/mfa", first.text
    token = csrf_of(client.get(first.headers["location"]).text)
    code = pyotp.TOTP(totp_secret).now()
    done = client.post("/login/mfa", data={"code": code, "csrf_token": token})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/", done.text


Timing = tuple[float, float, float]  # requests/s, p50 ms, p99 ms


def timed_gets(client: httpx.Client, path: str, count: int) -> Timing:
    """GET `path` `count` times: (requests/s, p50 ms, p99 ms)."""
    return _summary(_latencies(client, path, count))


def timed_pair(
    client: httpx.Client, first: str, second: str, count: int, rounds: int = 10
) -> tuple[Timing, Timing]:
    """Time two paths in alternating blocks, so the shared machine's load drifts
    across both alike instead of favouring whichever ran while it was quiet."""
    timings: tuple[list[float], list[float]] = ([], [])
    block = max(1, count // rounds)
    for _ in range(rounds):
        timings[0].extend(_latencies(client, first, block))
        timings[1].extend(_latencies(client, second, block))
    return _summary(timings[0]), _summary(timings[1])


def _latencies(client: httpx.Client, path: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return timings


def _summary(timings: list[float]) -> Timing:
    """Rate from the summed latencies (the time spent in these requests alone)."""
    ordered = sorted(timings)
    rate = len(ordered) / (sum(ordered) / 1000)
    return rate, statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
