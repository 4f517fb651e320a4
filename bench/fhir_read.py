"""FHIR read through HTTP: the secure path against the same read without its layers,
by 1 and by 8 concurrent clients, on SQLite and PostgreSQL, in one run.

Run by hand: `uv run python bench/fhir_read.py [--requests 2000] [--database both]
[--postgres-url URL] [--workers N]`.

One server (the app `carewall serve` runs, with its default number of worker
processes unless `--workers` says otherwise) serves both routes, so the
machine's noise hits both alike:
- `GET /fhir/Patient/{id}`: bearer-token check, authorisation by the records
  matrix, decryption (AES-GCM), an audit entry appended to the hash chain;
- `GET /bench/plain/{id}`: the same resource JSON read from a plain table of the
  same database and returned with the same content type, with none of that. It
  costs what the read costs apart from those layers: it is matched at the read's
  place among the routes, and reads through the pool the read's own lookups use.

Targets (issue 16, "Reads that scale"): p99 at 8 clients <= 3x p99 at 1 client;
on PostgreSQL reads/s at 8 clients >= 1.5x reads/s at 1 client; secure/plain
reads/s >= 0.6 at both concurrencies.

Each client is a process of its own with one keep-alive connection
(`http.client`, the lightest client at hand, so the load generator takes as
little of the two cores as it can; processes, so that clients never queue for
one interpreter's lock). Rates are requests over wall time of the timed blocks.

Next to each rate: the CPU the server's processes spent per request (user and
system time from /proc, the database server's own processes not included). On
a shared machine it moves far less than the rates do, and it is what the
ratios at 8 clients come down to once the two cores are busy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from rich.console import Console
from sqlalchemy import text
from starlette.routing import Mount, Route

import harness  # bench/ is on sys.path when run
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import open_runtime
from carewall.identity import accounts, apitokens, prepare_keys, queries
from carewall.records import prepare_keys as prepare_record_keys
from carewall.records.services import create_resource

console = Console(width=120)
CLI = Origin(user_agent="bench")
PASSWORD = "violet harbour lantern 1987"  # noqa: S105 - a throwaway bench account
SECURE_PATH = "/fhir/Patient/bench-patient"
PLAIN_PATH = "/bench/plain/bench-patient"
CONCURRENCIES = (1, 8)
PATIENT = {
    "resourceType": "Patient",
    "id": "bench-patient",
    "name": [{"family": "Okafor", "given": ["Ada"]}],
    "birthDate": "1980-04-02",
    "gender": "female",
    "telecom": [{"system": "phone", "value": "555-0100"}],
}


def prepare(home: Path, url: str | None) -> str:
    """A stored patient, its plain copy, and a clinician's read token."""
    runtime = open_runtime(Settings(home=home, database_url=url))
    prepare_keys(runtime.keys)
    prepare_record_keys(runtime.keys)
    create_resource(runtime, Caller.cli("bench"), PATIENT)
    with runtime.db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_plain (id VARCHAR(64) PRIMARY KEY, body TEXT)"))
        connection.execute(
            text("INSERT INTO bench_plain VALUES (:id, :body)"),
            {"id": PATIENT["id"], "body": json.dumps(PATIENT)},
        )
    link = accounts.invite_user(runtime, Caller.cli("bench"), "dr@clinic.example", "clinician")
    accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PASSWORD, CLI)
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "dr@clinic.example")
    assert user_id
    token, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "bench", ["fhir:read"])
    runtime.close()
    return token


def bench_app() -> FastAPI:
    """The app `carewall serve` runs, plus the bare route (a factory: each worker builds it)."""
    from carewall.registry import create_app
    from carewall.web.app import prepare_routes

    runtime = open_runtime(Settings(home=Path(os.environ["BENCH_HOME"])))
    app = create_app(runtime)

    @app.get("/bench/plain/{logical_id}")
    def plain(request: Request, logical_id: str) -> Response:
        del request
        # The pool the secure read's own lookups use: on PostgreSQL in autocommit, one
        # round trip (through `engine.connect()` it took three: BEGIN, SELECT, ROLLBACK).
        with runtime.db.lookup() as connection:
            body = connection.execute(
                text("SELECT body FROM bench_plain WHERE id = :id"), {"id": logical_id}
            ).scalar_one()
        return Response(body, media_type="application/fhir+json")

    _match_where_the_read_is(app)
    prepare_routes(app)  # as `carewall serve` does (`registry.served_app`)
    return app


def _match_where_the_read_is(app: FastAPI) -> None:
    """Move the bare route (just added, so last) to where the FHIR read is matched: after
    the app's own routes (OpenAPI, static files), first among the routers.

    FastAPI tries routes in order, and a route's place is part of its cost: left last,
    the bare route was checked against every route of the app first (about 190, a
    third of its in-process work), which flattered the secure/plain ratio. In the same
    place as the read, routing costs both alike and the ratio measures the read's
    layers only.
    """
    routes = app.router.routes
    bare = routes.pop()
    first_router = next(
        index
        for index, route in enumerate(routes)
        if isinstance(route, APIRoute) or not isinstance(route, (Route, Mount))
    )
    routes.insert(first_router, bare)


def serve(home: str, port: int) -> None:
    """Child process: the real app plus the bare route, served as `carewall serve` does."""
    import uvicorn

    from carewall.cli.server import default_workers, serve_workers

    os.environ["BENCH_HOME"] = home
    workers = int(os.environ.get("BENCH_WORKERS") or default_workers())
    sys.path.insert(0, str(Path(__file__).parent))
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(bench_app(), **options)
        return
    serve_workers("fhir_read:bench_app", workers, **options)


@dataclass
class Timings:
    """Latencies (ms) of one path at one concurrency, and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU the server's processes spent meanwhile

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def cpu_us(self) -> float:
        """Server CPU per request, in microseconds (0 where /proc cannot tell)."""
        return self.server_cpu / len(self.latencies) * 1e6

    def p50(self) -> float:
        return statistics.median(self.latencies)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99) - 1]


def _client_process(port: int, token: str, orders: Connection) -> None:
    """One client: a process of its own (no GIL shared with the other clients) holding
    one keep-alive connection; for each order `(path, count)` it GETs `path` `count`
    times and sends back the latencies (ms), until it is sent None."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    while (order := orders.recv()) is not None:
        path, count = order
        latencies = []
        for _ in range(count):
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - began) * 1000)
            assert response.status == 200, body[:300]
        orders.send(latencies)
    connection.close()


class Clients:
    """`concurrency` client processes, all given the same order at once.

    Processes rather than threads: eight client threads in one interpreter queue for
    its one GIL between a response's arrival and its timestamp, and that wait (up to
    the interpreter's 5 ms switch interval) was a tail of the load generator's own,
    counted against the server.
    """

    def __init__(self, port: int, token: str, concurrency: int) -> None:
        context = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(concurrency):
            ours, theirs = context.Pipe()
            process = context.Process(target=_client_process, args=(port, token, theirs))
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)
        self.pids = {process.pid for process in self.processes if process.pid is not None}

    def block(self, path: str, count: int, into: Timings) -> None:
        """`count` GETs of `path` spread over the clients, all running at once."""
        per_client = max(1, count // len(self.pipes))
        cpu_before = _server_cpu(self.pids)
        began = time.perf_counter()
        for pipe in self.pipes:
            pipe.send((path, per_client))
        results = [pipe.recv() for pipe in self.pipes]
        into.seconds += time.perf_counter() - began
        into.server_cpu += _server_cpu(self.pids) - cpu_before
        for part in results:
            into.latencies.extend(part)

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(timeout=30)


def _server_cpu(clients: set[int]) -> float:
    """CPU seconds (user + system) used so far by this process's descendants other than
    `clients`: the server and its workers (0 without /proc)."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid = int(entry.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    ours, total = os.getpid(), 0.0
    for pid, seconds in used.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != ours and ancestor not in clients:
            ancestor = parents.get(ancestor)
        if ancestor == ours and pid not in clients:
            total += seconds
    return total


def measure(port: int, token: str, concurrency: int, count: int) -> tuple[Timings, Timings]:
    """Secure and plain in alternating blocks, so the shared machine's load drifts
    across both alike instead of favouring whichever ran while it was quiet."""
    clients = Clients(port, token, concurrency)
    try:
        clients.block(SECURE_PATH, 100 * concurrency, Timings())  # warm up both paths
        clients.block(PLAIN_PATH, 100 * concurrency, Timings())
        secure, plain = Timings(), Timings()
        rounds = 10
        for _ in range(rounds):
            clients.block(SECURE_PATH, count // rounds, secure)
            clients.block(PLAIN_PATH, count // rounds, plain)
    finally:
        clients.close()
    return secure, plain


Results = dict[int, tuple[Timings, Timings]]


def run(database: str, args: argparse.Namespace) -> Results:
    """Prepare a store on `database`, serve it, measure each concurrency."""
    with tempfile.TemporaryDirectory() as tmp, harness.scratch_database(database, args) as url:
        home = Path(tmp) / "home"
        token = prepare(home, url)
        if args.workers:
            os.environ["BENCH_WORKERS"] = str(args.workers)
        with harness.served(__file__, home, url) as base:
            port = int(base.rsplit(":", 1)[1])
            return {c: measure(port, token, c, args.requests) for c in CONCURRENCIES}


def report(results: dict[str, Results]) -> None:
    """One table of every measurement, then each target with its measured ratio."""
    table = harness.results_table(
        "FHIR read through HTTP (one server, both routes)",
        ("database", "clients", "path", "reads/s", "p50 ms", "p99 ms", "server CPU us/read"),
        left={"database", "path"},
    )
    for database, by_concurrency in results.items():
        for concurrency, (secure, plain) in by_concurrency.items():
            for name, timing in (("secure", secure), ("plain", plain)):
                table.add_row(
                    database,
                    str(concurrency),
                    name,
                    f"{timing.rate():,.0f}",
                    f"{timing.p50():.1f}",
                    f"{timing.p99():.1f}",
                    f"{timing.cpu_us():,.0f}",
                )
    console.print(table)
    targets = harness.results_table(
        "Targets", ("database", "measure", "value", "target", "met"), left={"database", "measure"}
    )
    for database, by_concurrency in results.items():
        (one, one_plain), (eight, eight_plain) = by_concurrency[1], by_concurrency[8]
        rows = [
            ("p99 8 clients / p99 1 client", eight.p99() / one.p99(), "<= 3", True),
            ("secure/plain reads/s, 1 client", one.rate() / one_plain.rate(), ">= 0.6", False),
            ("secure/plain reads/s, 8 clients", eight.rate() / eight_plain.rate(), ">= 0.6", False),
        ]
        if database == "postgresql":
            rows.append(
                ("reads/s 8 clients / 1 client", eight.rate() / one.rate(), ">= 1.5", False)
            )
        for measure_name, value, target, at_most in rows:
            bound = float(target.split()[1])
            met = value <= bound if at_most else value >= bound
            targets.add_row(database, measure_name, f"{value:.2f}", target, "yes" if met else "NO")
    console.print(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per path and concurrency")
    harness.add_database_options(parser)
    parser.add_argument("--workers", type=int, help="server worker processes (default: serve's)")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    report({database: run(database, args) for database in harness.chosen_databases(args)})


if __name__ == "__main__":
    main()
