"""`carewall staff import|add|list|sync|group`: the staff directory training and campaigns use."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.training import (
    StaffInput,
    add_member,
    create_group,
    import_csv,
    queries,
    sync_accounts,
)
from carewall.training.directory import parse_date

app = typer.Typer(
    help="The staff directory: people trained and targeted by simulations.", no_args_is_help=True
)
group_app = typer.Typer(
    help="Groups of staff (by department, role or by hand).", no_args_is_help=True
)
app.add_typer(group_app, name="group")


@app.command("import")
def import_file(
    path: Path = typer.Argument(
        ..., metavar="FILE.csv", help="Columns: email, name, department, role, manager, start_date."
    ),
) -> None:
    """Add or update people from a CSV file (upsert by e-mail); bad rows are listed, not fatal.

    Exits 1 when any row was refused (the others are imported).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        err_console.print(f"[bold red]Error:[/] cannot read {path}: {exc.strerror}.")
        raise typer.Exit(2) from exc
    except UnicodeDecodeError as exc:
        err_console.print(f"[bold red]Error:[/] {path} is not UTF-8 text.")
        raise typer.Exit(2) from exc
    runtime = open_cli_runtime(load_settings())
    try:
        report = import_csv(runtime, Caller.cli(), text)
    finally:
        runtime.close()
    console.print(
        f"Imported {path.name}: {report.created} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.errors)} refused.",
        highlight=False,
    )
    for error in report.errors:
        err_console.print(f"  line {error.line}: {error.message}", highlight=False)
    if report.errors:
        raise typer.Exit(1)


@app.command("add")
def add(
    email: str = typer.Argument(..., help="Address in one of the practice's mail domains."),
    name: str = typer.Option("", help="Full name."),
    department: str = typer.Option("", help="Department (groups and figures use it)."),
    role: str = typer.Option("", help="Job role, e.g. Receptionist."),
    manager: str = typer.Option("", help="Manager's e-mail address."),
    start: str = typer.Option("", help="Start date, YYYY-MM-DD."),
) -> None:
    """Add or update one person."""
    runtime = open_cli_runtime(load_settings())
    try:
        data = StaffInput(email, name, department, role, manager, parse_date(start))
        member_id = add_member(runtime, Caller.cli(), data)
    finally:
        runtime.close()
    typer.echo(member_id)


@app.command("sync")
def sync() -> None:
    """Bring every active staff account inside the practice's domains into the directory."""
    runtime = open_cli_runtime(load_settings())
    try:
        report = sync_accounts(runtime, Caller.cli())
    finally:
        runtime.close()
    console.print(f"{report.created} added, {report.updated} updated from staff accounts.")
    for error in report.errors:
        err_console.print(f"  skipped: {error.message}", highlight=False)


@app.command("list")
def list_staff(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per person."),
) -> None:
    """Everyone in the directory."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            people = queries.directory(session)
    finally:
        runtime.close()
    if as_json:
        for person in people:
            typer.echo(
                json.dumps(
                    {
                        "email": person.email,
                        "name": person.name,
                        "department": person.department,
                        "role": person.role,
                        "manager": person.manager_email,
                        "start_date": person.start_date or None,
                        "has_login": person.has_login,
                        "active": person.active,
                    }
                )
            )
        return
    table = Table("Email", "Name", "Department", "Role", "Login", title="Staff directory")
    for person in people:
        table.add_row(
            person.email,
            person.name,
            person.department,
            person.role,
            "yes" if person.has_login else "",
        )
    console.print(table)


@group_app.command("create")
def group_create(
    name: str = typer.Argument(..., help="The group's name."),
    department: str = typer.Option("", help="Everyone in this department."),
    role: str = typer.Option("", help="Everyone with this job role."),
) -> None:
    """A group by department or role (a hand-picked group is made on /admin/training)."""
    if bool(department) == bool(role):
        err_console.print("[bold red]Error:[/] give exactly one of --department or --role.")
        raise typer.Exit(2)
    runtime = open_cli_runtime(load_settings())
    try:
        kind, rule = ("department", department) if department else ("role", role)
        typer.echo(create_group(runtime, Caller.cli(), name, kind, rule))
    finally:
        runtime.close()
