"""`carewall records import|export`: FHIR data in and out, as the operator (actor "cli")."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.records.bundles.importer import UnitReport, import_path
from carewall.records.bundles.units import find_files
from carewall.records.portal.export import export_patient_bundle
from carewall.records.store.reindex import reindex_references, schedule_reindex

app = typer.Typer(help="The encrypted patient-record vault (FHIR R4).", no_args_is_help=True)


@app.command("import")
def import_command(
    source: Path = typer.Argument(..., exists=True, help="A Bundle/NDJSON file or a directory."),
) -> None:
    """Import FHIR Bundles (JSON) and NDJSON; each file is imported whole or not at all."""
    runtime = open_cli_runtime(load_settings())
    files = find_files(source)
    with Progress(
        TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), console=err_console
    ) as bar:
        task = bar.add_task("import", total=len(files))
        reports = import_path(runtime, Caller.cli(), source, lambda _r: bar.advance(task))
    console.print(_summary(reports))
    for report in reports:
        if report.error:
            err_console.print(f"[bold red]Failed[/] {report.name}: {report.error}")
    if any(report.failed for report in reports):
        raise typer.Exit(1)


@app.command("export")
def export_command(
    patient: str = typer.Option(..., "--patient", help="Logical id of the Patient resource."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Write one patient's compartment as a FHIR Bundle (type collection)."""
    runtime = open_cli_runtime(load_settings())
    bundle = export_patient_bundle(runtime, Caller.cli(), patient)
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    err_console.print(f"Wrote {len(bundle['entry'])} resources to {out}")


@app.command("reindex")
def reindex_command() -> None:
    """Re-derive every stored version's patient index and search terms (resumable; `serve`
    and `init` finish one a migration scheduled by themselves)."""
    runtime = open_cli_runtime(load_settings())
    schedule_reindex(runtime)
    err_console.print("Re-indexing the record vault (resumes if interrupted)...")
    report = reindex_references(runtime)
    err_console.print(
        f"Re-indexed: {report.examined} versions examined, "
        f"{report.changed} re-filed (patient or search terms)."
    )


def _summary(reports: list[UnitReport]) -> Table:
    table = Table(title="Import summary")
    for column in ("Files", "Imported", "Updated", "Unchanged", "Invalid files", "Unsupported"):
        table.add_column(column, justify="right")
    unsupported: dict[str, int] = {}
    for report in reports:
        for resource_type, count in report.unsupported.items():
            unsupported[resource_type] = unsupported.get(resource_type, 0) + count
    table.add_row(
        str(len(reports)),
        str(sum(r.created for r in reports)),
        str(sum(r.updated for r in reports)),
        str(sum(r.unchanged for r in reports)),
        str(sum(r.failed for r in reports)),
        ", ".join(f"{t} x{n}" for t, n in sorted(unsupported.items())) or "0",
    )
    return table
