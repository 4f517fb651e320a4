"""`carewall audit verify` and `carewall audit export --format fhir`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import func, select

from carewall.audit import AuditEvent, AuditTag, Outcome, record, verify
from carewall.audit.events import parse_body
from carewall.audit.fhir import audit_event
from carewall.audit.models import AuditEntry
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.records.access.audit_patients import reveal_body
from carewall.records.store.keys import RecordKeys

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify_command(
    fast: bool = typer.Option(
        False, "--fast", help="Check the hash chain only, not the indexed columns."
    ),
) -> None:
    """Walk the hash chain; exit 1 and name the first broken entry if it is not intact."""
    runtime = open_cli_runtime(load_settings())
    with runtime.db.sessions() as session:
        total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    with Progress(
        TextColumn("Verifying"), BarColumn(), MofNCompleteColumn(), console=err_console
    ) as bar:
        task = bar.add_task("verify", total=total)
        result = verify(runtime.db, deep=not fast, progress=lambda n: bar.update(task, completed=n))
    outcome = Outcome.SUCCESS if result.ok else Outcome.FAILURE
    tag = AuditTag.CHAIN_VERIFIED if result.ok else AuditTag.CHAIN_BROKEN
    details: dict[str, str | int | None] = {"count": result.count, "position": result.position}
    with runtime.db.transaction() as session:
        record(session, AuditEvent(action=tag, outcome=outcome, actor="cli", details=details))
    if result.ok:
        console.print(f"[green]OK[/]: {result.count} audit entries verified.")
        return
    err_console.print(
        f"[bold red]BROKEN[/] at entry {result.position}: {result.reason}. "
        f"{result.count} entries before it are intact."
    )
    raise typer.Exit(1)


@app.command("export")
def export_command(
    fmt: str = typer.Option("fhir", "--format", help="Output format (only `fhir` for now)."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
) -> None:
    """Write every entry as a FHIR R4 AuditEvent, one JSON object per line (NDJSON)."""
    if fmt != "fhir":
        err_console.print("[bold red]Error:[/] only --format fhir is supported.")
        raise typer.Exit(2)
    runtime = open_cli_runtime(load_settings())
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with (
            Progress(
                TextColumn("Exporting"), BarColumn(), MofNCompleteColumn(), console=err_console
            ) as bar,
            runtime.db.sessions() as session,
        ):
            task = bar.add_task("export", total=total)
            rows = session.execute(
                select(AuditEntry.body, AuditEntry.entry_hash)
                .order_by(AuditEntry.seq)
                .execution_options(yield_per=2_000)
            )
            for count, (body, entry_hash) in enumerate(rows, 1):
                # Records entries name patients by keyed reference with the ids sealed:
                # the export holds the key and names them (IHE BALP patient entities).
                shown = reveal_body(keys, parse_body(bytes(body)))
                event = audit_event(shown, bytes(entry_hash))
                stream.write(json.dumps(event, separators=(",", ":")) + "\n")
                if count % 500 == 0 or count == total:
                    bar.update(task, completed=count)
    finally:
        if out:
            stream.close()
    if out:
        err_console.print(f"Wrote {total} AuditEvent resources to {out}.")
