"""`carewall audit verify|checkpoint|pubkey|export`: the tamper-evident audit trail."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from carewall.audit import (
    entry_count,
    export_fhir,
    public_key,
    verify_and_record,
    write_checkpoint,
)
from carewall.audit.proof import fingerprint, public_key_pem
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.records.access.audit_patients import reveal_body
from carewall.records.store.keys import RecordKeys

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify_command(
    fast: bool = typer.Option(
        False, "--fast", help="Check the chain and its MACs only, not the indexed columns."
    ),
    checkpoint: list[Path] = typer.Option(
        [], "--checkpoint", help="Also compare with this signed checkpoint file (repeatable)."
    ),
) -> None:
    """Verify the chain, its MACs and every signed checkpoint; exit 1 naming what is wrong."""
    runtime = open_cli_runtime(load_settings())
    with runtime.db.sessions() as session:
        total = entry_count(session)
    with Progress(
        TextColumn("Verifying"), BarColumn(), MofNCompleteColumn(), console=err_console
    ) as bar:
        task = bar.add_task("verify", total=total)
        report = verify_and_record(
            runtime,
            Caller.cli(),
            deep=not fast,
            files=checkpoint,
            # Entries appended meanwhile (a running server keeps auditing) are checked
            # too: the bar's total grows with them rather than reading "574/547".
            progress=lambda n: bar.update(task, completed=n, total=max(n, total)),
        )
    if report.ok:
        console.print(
            f"[green]OK[/]: {report.chain.count} audit entries verified"
            f"{' with their MACs' if report.chain.keyed else ''}, "
            f"against {report.checkpoints} signed checkpoint(s)."
        )
        return
    for problem in report.problems:
        where = "" if problem.position is None else f" at entry {problem.position}"
        err_console.print(f"[bold red]BROKEN[/]{where}: {problem.text}.", highlight=False)
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_command(
    out: Path | None = typer.Option(None, "--out", help="Also write the checkpoint to FILE."),
) -> None:
    """Sign a checkpoint of the trail now (database, checkpoint directory, mail)."""
    runtime = open_cli_runtime(load_settings())
    made = write_checkpoint(runtime, Caller.cli(), trigger="cli", out=out)
    console.print(
        f"Checkpoint signed at entry {made.checkpoint.seq} "
        f"({made.checkpoint.created[:19]}Z, key {made.checkpoint.key})."
    )
    for path in made.files:
        console.print(f"Written to {path}", highlight=False)


@app.command("pubkey")
def pubkey_command(
    out: Path | None = typer.Option(None, "--out", help="Write the PEM key to FILE."),
) -> None:
    """Print the public key that checks signed checkpoints (PEM), e.g. for verify_offline."""
    runtime = open_cli_runtime(load_settings())
    key = public_key(runtime)
    pem = public_key_pem(key)
    if out is None:
        sys.stdout.write(pem.decode("ascii"))
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    err_console.print(f"Wrote the public key {fingerprint(key)} to {out}.", highlight=False)


@app.command("export")
def export_command(
    fmt: str = typer.Option("fhir", "--format", help="Output format (only `fhir` for now)."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
) -> None:
    """Write every entry as a FHIR R4 AuditEvent, one JSON object per line (NDJSON).

    Each line carries the entry's stored body, so the file can be checked with
    `python -m carewall.audit.verify_offline` against a signed checkpoint.
    """
    if fmt != "fhir":
        err_console.print("[bold red]Error:[/] only --format fhir is supported.")
        raise typer.Exit(2)
    runtime = open_cli_runtime(load_settings())
    # Records entries name patients by keyed reference with the ids sealed: the
    # export holds the key and names them (IHE BALP patient entities).
    reveal = partial(reveal_body, RecordKeys.from_keystore(runtime.keys))
    with runtime.db.sessions() as session:
        total = entry_count(session)
    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with Progress(
            TextColumn("Exporting"), BarColumn(), MofNCompleteColumn(), console=err_console
        ) as bar:
            task = bar.add_task("export", total=total)
            count = export_fhir(
                runtime.db, stream, reveal=reveal, progress=lambda n: bar.update(task, completed=n)
            )
    finally:
        if out:
            stream.close()
    if out:
        err_console.print(f"Wrote {count} AuditEvent resources to {out}.")
