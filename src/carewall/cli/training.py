"""`carewall training modules|assign|status|link`: awareness training from the console."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.training import assign, members_named, modules, new_learner_link, queries

app = typer.Typer(help="Security-awareness training.", no_args_is_help=True)


@app.command("modules")
def list_modules(
    as_json: bool = typer.Option(False, "--json", help="A JSON list of modules."),
) -> None:
    """The training modules shipped with Carewall."""
    rows: list[dict[str, str | int]] = [
        {
            "id": m.id,
            "title": m.title,
            "minutes": m.minutes,
            "questions": len(m.questions),
            "pass_mark": m.pass_mark,
        }
        for m in modules().values()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("Id", "Title", "Minutes", "Questions", "Pass mark", title="Training modules")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["title"]),
            str(row["minutes"]),
            str(row["questions"]),
            f"{row['pass_mark']}%",
        )
    console.print(table)


@app.command("assign")
def assign_command(
    module_id: str = typer.Argument(
        ..., metavar="MODULE", help="Module id (see `training modules`)."
    ),
    to: str = typer.Option("", "--to", help="EMAIL[,EMAIL...] of people in the directory."),
    group: str = typer.Option("", "--group", help="A group, department or role; or 'everyone'."),
    due_days: int | None = typer.Option(
        None, "--due-days", help="Days until due (default CAREWALL_TRAINING_DUE_DAYS)."
    ),
) -> None:
    """Assign a module by hand."""
    emails = [e.strip().lower() for e in to.split(",") if e.strip()]
    if bool(emails) == bool(group):
        err_console.print("[bold red]Error:[/] give either --to EMAIL[,EMAIL...] or --group NAME.")
        raise typer.Exit(2)
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            if group:
                ids = [m.id for m in members_named(session, group)]
            else:
                ids = []
                for email in emails:
                    row = queries.member_by_email(session, email)
                    if row is None:
                        raise NotFoundError(
                            f"{email} is not in the staff directory (add it with `staff add`)."
                        )
                    ids.append(row.id)
        made = assign(runtime, Caller.cli(), ids, module_id, due_days=due_days)
    finally:
        runtime.close()
    console.print(f"Assigned to {made} person(s); {len(ids) - made} had it open already.")


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per assignment."),
) -> None:
    """Every assignment with its state; overdue ones are flagged."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            rows = queries.assignments(session)
    finally:
        runtime.close()
    if as_json:
        for r in rows:
            typer.echo(
                json.dumps(
                    {
                        "email": r.email,
                        "module": r.module_id,
                        "reason": r.reason,
                        "status": r.status,
                        "due": r.due_at.isoformat(),
                        "completed": r.completed_at.isoformat() if r.completed_at else None,
                        "score": r.best_score,
                        "overdue": r.overdue,
                    }
                )
            )
        return
    table = Table("Email", "Module", "Reason", "Status", "Due", title="Training assignments")
    for r in rows:
        state = "overdue" if r.overdue else r.status
        table.add_row(r.email, r.module_id, r.reason, state, f"{r.due_at:%Y-%m-%d}")
    console.print(table)


@app.command("link")
def link(email: str = typer.Argument(..., help="A person in the directory.")) -> None:
    """Print a personal, expiring training link for someone without a Carewall login."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            row = queries.member_by_email(session, email)
        if row is None:
            raise NotFoundError(f"{email} is not in the staff directory.")
        typer.echo(new_learner_link(runtime, Caller.cli(), row.id))
    finally:
        runtime.close()
