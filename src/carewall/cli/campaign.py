"""`carewall campaign templates|launch|results|list`: simulated phishing from the console.

`launch` prints the new campaign's id alone on its last line and `results
--json` one object per recipient, so scripts can chain them. The mail goes
out through the job runner (a running `carewall serve`, `carewall jobs
worker`, or `carewall jobs run`).
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.phishing.simulation.campaigns import LaunchRequest, launch
from carewall.phishing.simulation.results import campaigns, figures, recipient_results
from carewall.phishing.simulation.templates import all_templates

app = typer.Typer(help="Simulated phishing campaigns.", no_args_is_help=True)


@app.command("templates")
def templates(
    as_json: bool = typer.Option(False, "--json", help="A JSON list of templates."),
) -> None:
    """The scenario library and edited templates: id, title, difficulty, landing page."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            found = all_templates(session)
    finally:
        runtime.close()
    rows = [
        {"id": t.id, "title": t.title, "difficulty": t.difficulty, "landing": t.landing}
        for t in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("Id", "Title", "Difficulty", "Landing", title="Simulation templates")
    for row in rows:
        table.add_row(row["id"], row["title"], row["difficulty"], row["landing"])
    console.print(table)


def _addresses(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@app.command("launch")
def launch_command(
    template: str = typer.Option(..., "--template", help="Template id (see `campaign templates`)."),
    to: list[str] = typer.Option([], "--to", help="EMAIL[,EMAIL...] in the practice's domains."),
    group: str = typer.Option("", "--group", help="A group, department or role; or 'everyone'."),
    name: str = typer.Option("", "--name", help="A name for the campaign."),
    now: bool = typer.Option(False, "--now", help="Send at once: no window, no spread."),
    no_training: bool = typer.Option(
        False, "--no-training", help="Do not assign training after a click."
    ),
) -> None:
    """Launch a campaign; prints its id alone on the last line."""
    addresses = _addresses(to)
    if bool(addresses) == bool(group):
        err_console.print("[bold red]Error:[/] give either --to EMAIL[,EMAIL...] or --group NAME.")
        raise typer.Exit(2)
    runtime = open_cli_runtime(load_settings())
    try:
        request = LaunchRequest(
            template, addresses, group, name, now, assign_training=not no_training
        )
        campaign_id = launch(runtime, Caller.cli(), request)
        with runtime.db.sessions() as session:
            count = len(recipient_results(session, campaign_id))
    finally:
        runtime.close()
    when = "now" if now else "within the send window"
    err_console.print(f"Campaign launched: {count} message(s) go out {when}.", highlight=False)
    typer.echo(campaign_id)


@app.command("results")
def results(
    campaign_id: str = typer.Argument(..., metavar="ID", help="The campaign's id."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per recipient."),
) -> None:
    """Per recipient: when the message was sent, opened, clicked, submitted and reported."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            rows = recipient_results(session, campaign_id)
            funnel = figures(session, campaign_id).funnel
    finally:
        runtime.close()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row.to_json()))
        return
    table = Table(
        "Email", "Sent", "Opened", "Clicked", "Submitted", "Reported", "Scanner", "Training"
    )
    for row in rows:
        data = row.to_json()
        cells = [
            (data[k] or "")[:16].replace("T", " ")
            for k in ("sent", "opened", "clicked", "submitted", "reported")
        ]
        table.add_row(row.email, *cells, str(row.scanner_events), ", ".join(row.training_assigned))
    console.print(table)
    console.print("  ".join(f"{k}: {v}" for k, v in funnel.items()))


@app.command("list")
def list_campaigns(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per campaign."),
) -> None:
    """Every campaign, newest first."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            found = [(c, figures(session, c.id)) for c in campaigns(session)]
    finally:
        runtime.close()
    for item, figure in found:
        data = {
            "id": item.id,
            "name": item.name,
            "template": item.template_id,
            "status": item.status,
            "created": item.created_at.isoformat(),
            **figure.funnel,
        }
        if as_json:
            typer.echo(json.dumps(data))
        else:
            console.print(
                f"{item.id}  {item.status:<9} {item.name}  ({figure.funnel})", highlight=False
            )
