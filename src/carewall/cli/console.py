"""Shared Rich consoles and the runtime opener used by every command."""

from __future__ import annotations

from rich.console import Console

from carewall.cli.assembly import current_assembly
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime

console = Console()
err_console = Console(stderr=True)


def open_cli_runtime(settings: Settings | None = None) -> Runtime:
    """Open the configured data directory (migrating it) for a command, every domain installed.

    Installing runs the data upgrades a migration scheduled but could not do without
    the keys (sealing, re-indexing), before any command or the server touches data.
    """
    runtime = open_runtime(settings or Settings())
    current_assembly().install(runtime)
    return runtime
