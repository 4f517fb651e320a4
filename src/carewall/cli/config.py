"""`carewall config show`."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.table import Table

from carewall.cli.console import console
from carewall.core.config import Settings
from carewall.core.errors import ConfigError

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


def load_settings() -> Settings:
    """Settings from the environment, with invalid values reported plainly."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CAREWALL_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}") from exc


@app.command("show")
def show() -> None:
    """Print the effective settings, secrets masked."""
    table = Table("Setting", "Environment variable", "Value", title="Carewall settings")
    for name, value in load_settings().masked().items():
        table.add_row(name, f"CAREWALL_{name.upper()}", str(value) if value is not None else "")
    console.print(table)
