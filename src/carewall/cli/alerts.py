"""`carewall alerts list|show|resolve|scan`: the detectors' alerts from the console.

`list --json` is a stable interface (one JSON array: `id`, `detector`,
`severity`, `status`, `user`, `created`, and more fields that may be added).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from carewall.alerts import CATALOGUE, AlertPublic, Resolution, queries, services
from carewall.alerts.engine import scan
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime

app = typer.Typer(help="Security alerts raised by the detectors.", no_args_is_help=True)


@contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = open_cli_runtime(load_settings())
    try:
        yield runtime
    finally:
        runtime.close()


@app.command("list")
def list_alerts(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
    status: Annotated[str, typer.Option(help="open, acknowledged or resolved")] = "",
    severity: Annotated[str, typer.Option(help="critical, high, medium or low")] = "",
    detector: Annotated[str, typer.Option(help="A detector id (see `alerts detectors`).")] = "",
) -> None:
    """Alerts, newest first."""
    wanted = queries.AlertFilter(status=status, severity=severity, detector=detector)
    with _runtime() as runtime, runtime.db.sessions() as session:
        alerts = [AlertPublic.of(a) for a in queries.list_alerts(session, wanted)]
    if as_json:
        typer.echo(json.dumps([a.model_dump(mode="json") for a in alerts], indent=2))
        return
    if not alerts:
        err_console.print("No alerts.")
        return
    table = Table("Opened (UTC)", "Id", "Severity", "Detector", "Status", "User", "Alert")
    for a in alerts:
        table.add_row(
            f"{a.created:%Y-%m-%d %H:%M}",
            a.id[:8],
            a.severity,
            a.detector,
            a.status,
            a.user,
            a.title,
        )
    console.print(table)


@app.command("show")
def show(alert_id: Annotated[str, typer.Argument(help="The alert's id.")]) -> None:
    """One alert with its history (JSON)."""
    with _runtime() as runtime, runtime.db.sessions() as session:
        detail = queries.alert_detail(session, _full_id(session, alert_id))
        if detail is None:
            raise NotFoundError("No such alert.")
        body = AlertPublic.of(detail.alert).model_dump(mode="json")
        body["explanation"] = detail.alert.explanation
        body["history"] = [
            {"at": s.at.isoformat(), "kind": s.kind, "actor": s.actor, "note": s.note}
            for s in detail.history
        ]
    typer.echo(json.dumps(body, indent=2))


@app.command("resolve")
def resolve(
    alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
    as_: Annotated[str, typer.Option("--as", help="true_incident, false_positive or expected")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Resolve an alert."""
    if as_ not in {r.value for r in Resolution}:
        err_console.print("--as must be one of: " + ", ".join(r.value for r in Resolution))
        raise typer.Exit(2)
    with _runtime() as runtime:
        with runtime.db.sessions() as session:
            full = _full_id(session, alert_id)
        services.resolve(runtime, Caller.cli(), full, as_, note)
    err_console.print(f"Alert {full} resolved as {as_}.")


@app.command("scan")
def scan_now() -> None:
    """Run the detectors over new audit entries now (the job does it every 30 s)."""
    with _runtime() as runtime:
        result = scan(runtime, Caller.cli())
    err_console.print(f"{result.entries} entries read, {len(result.opened)} alert(s) opened.")


@app.command("detectors")
def detectors() -> None:
    """What each kind of alert means."""
    for kind in CATALOGUE.values():
        console.print(f"[bold]{kind.id}[/bold] ({kind.severity}): {kind.explanation}")


def _full_id(session: object, alert_id: str) -> str:
    """An id or an unambiguous prefix of one (as `list` shows them)."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if len(alert_id) == 36:
        return alert_id
    matches = (
        [
            a.id
            for a in queries.list_alerts(session, queries.AlertFilter(), 10_000)
            if a.id.startswith(alert_id)
        ]
        if alert_id
        else []
    )
    if len(matches) != 1:
        raise NotFoundError("No such alert (give its full id or a longer prefix).")
    return matches[0]
