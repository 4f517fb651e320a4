"""The `carewall` command: one Typer app built from the registered domains' command groups."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from carewall import __version__
from carewall.cli.assembly import Assembly, CliPart, use_assembly
from carewall.cli.console import close_cli_runtimes, err_console
from carewall.core.errors import CarewallError


class _CarewallGroup(TyperGroup):
    """The root command: a domain error anywhere below becomes a message and exit code 1,
    and the runtimes a command opened are closed when it ends."""

    # `Any`: Typer vendors its own Click, whose Context type it does not export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CarewallError as exc:
            err_console.print(f"[bold red]Error:[/] {exc.message}")
            ctx.exit(1)
        finally:
            close_cli_runtimes()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"carewall {__version__}")
        raise typer.Exit


def build_cli(assembly: Assembly, parts: Sequence[CliPart]) -> typer.Typer:
    """The root command, with each part's commands and groups, carrying `assembly`."""
    use_assembly(assembly)
    app = typer.Typer(
        name="carewall",
        help="Carewall: security for small healthcare providers.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=_CarewallGroup,
    )

    @app.callback()
    def main(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        """Carewall: strong sign-in, a protected record vault, phishing defence, risk reports."""

    for part in parts:
        for name, command in part.commands:
            app.command(name)(command)
        for name, group in part.groups:
            app.add_typer(group, name=name)
    return app


#: Files the command creates (database, key, exports of records or the audit trail) are
#: readable by this account only, whatever umask the shell or service manager set.
PRIVATE_UMASK = 0o077


def run(app: typer.Typer) -> None:
    """Run the command line (the console script): private files, errors as messages."""
    os.umask(PRIVATE_UMASK)
    app()
