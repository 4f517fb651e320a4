"""The `carewall` command: one Typer app, a module per command group."""

from __future__ import annotations

import os
import sys

import typer

from carewall import __version__
from carewall.cli import audit, config, keys, mail, records, server, users
from carewall.cli.console import err_console
from carewall.core.errors import CarewallError

app = typer.Typer(
    name="carewall",
    help="Carewall: security for small healthcare providers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve)
app.command("init")(server.init)
app.add_typer(config.app, name="config")
app.add_typer(audit.app, name="audit")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="user")
app.add_typer(mail.app, name="mail")
app.add_typer(records.app, name="records")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"carewall {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Carewall: strong sign-in, a protected record vault, phishing defence, risk reports."""


#: Files the command creates (database, key, exports of records or the audit trail) are
#: readable by this account only, whatever umask the shell or service manager set.
PRIVATE_UMASK = 0o077


def run() -> None:
    """Console-script entry point: domain errors become a message and exit code 1."""
    os.umask(PRIVATE_UMASK)
    try:
        app()
    except CarewallError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}")
        sys.exit(1)
