"""FHIR read through HTTP: the secure path against the same read without its layers.

Run by hand: `uv run python bench/fhir_read.py [--requests 2000]`.

One server process serves both routes, so the machine's noise hits both alike:
- `GET /fhir/Patient/{id}`: bearer-token check, authorisation by the records
  matrix, decryption (AES-GCM), an audit entry appended to the hash chain;
- `GET /bench/plain/{id}`: the same resource JSON read from a plain table of the
  same database and returned with the same content type, with none of that.
The ratio is secure reads/s over plain reads/s (target >= 0.6).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import httpx
import uvicorn
from fastapi import Request
from fastapi.responses import Response
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import open_runtime
from carewall.identity import accounts, apitokens, prepare_keys, queries
from carewall.records import prepare_keys as prepare_record_keys
from carewall.records.services import create_resource
from carewall.registry import create_app
from harness import start_server, timed_gets, timed_pair  # bench/ is on sys.path when run

console = Console(width=120)
CLI = Origin(user_agent="bench")
PASSWORD = "violet harbour lantern 1987"  # noqa: S105 - a throwaway bench account
SECURE_PATH = "/fhir/Patient/bench-patient"
PLAIN_PATH = "/bench/plain/bench-patient"
PATIENT = {
    "resourceType": "Patient",
    "id": "bench-patient",
    "name": [{"family": "Okafor", "given": ["Ada"]}],
    "birthDate": "1980-04-02",
    "gender": "female",
    "telecom": [{"system": "phone", "value": "555-0100"}],
}


def prepare(home: Path) -> str:
    """A stored patient, its plain copy, and a clinician's read token."""
    runtime = open_runtime(Settings(home=home))
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


def serve(home: str, port: int) -> None:
    """Child process: the real app plus the bare route."""
    runtime = open_runtime(Settings(home=Path(home)))
    app = create_app(runtime)

    @app.get("/bench/plain/{logical_id}")
    def plain(request: Request, logical_id: str) -> Response:
        del request
        with runtime.db.engine.connect() as connection:
            body = connection.execute(
                text("SELECT body FROM bench_plain WHERE id = :id"), {"id": logical_id}
            ).scalar_one()
        return Response(body, media_type="application/fhir+json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        token = prepare(home)
        process, base = start_server(__file__, home)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                timed_gets(client, SECURE_PATH, 200)  # warm up both paths
                timed_gets(client, PLAIN_PATH, 200)
                secure, plain = timed_pair(client, SECURE_PATH, PLAIN_PATH, args.requests)
        finally:
            process.terminate()
            process.wait(timeout=20)
    table = Table(title="FHIR read through HTTP (SQLite, one server process)")
    for column in ("path", "reads/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    table.add_row("secure (token, matrix, decrypt, audit)", *(f"{v:,.2f}" for v in secure))
    table.add_row("plain (same JSON, no layers)", *(f"{v:,.2f}" for v in plain))
    console.print(table)
    console.print(f"ratio secure/plain: {secure[0] / plain[0]:.2f} (target >= 0.6)")


if __name__ == "__main__":
    main()
