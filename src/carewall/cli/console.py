"""Shared Rich consoles and the runtime opener used by every command."""

from __future__ import annotations

from rich.console import Console

from carewall.cli.assembly import current_assembly
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime

console = Console()
err_console = Console(stderr=True)


#: Runtimes the running command opened, closed when it ends (`close_cli_runtimes`).
_opened: list[Runtime] = []


def open_cli_runtime(settings: Settings | None = None) -> Runtime:
    """Open the configured data directory (migrating it) for a command, every domain installed.

    Installing runs the data upgrades a migration scheduled but could not do without
    the keys (sealing, re-indexing), before any command or the server touches data.
    The command line closes it when the command ends, however it ends.
    """
    runtime = open_runtime(settings or Settings())
    _opened.append(runtime)
    current_assembly().install(runtime)
    return runtime


def close_cli_runtimes() -> None:
    """Release the database connections of every runtime the command opened.

    A process would drop them at exit; a command run inside a longer-lived
    process (the test suite runs the CLI in-process) must not leave them open.
    Closing twice is harmless, so commands that close their own runtime may.
    """
    while _opened:
        _opened.pop().close()
