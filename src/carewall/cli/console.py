"""Shared Rich consoles and the runtime opener used by every command."""

from __future__ import annotations

from rich.console import Console

from carewall import identity, records
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime

console = Console()
err_console = Console(stderr=True)


def open_cli_runtime(settings: Settings | None = None) -> Runtime:
    """Open the configured data directory (migrating it) for a command."""
    runtime = open_runtime(settings or Settings())
    identity.prepare_keys(runtime.keys)
    records.prepare_keys(runtime.keys)
    return runtime
