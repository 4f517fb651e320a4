"""`carewall keys rotate`: a new master-key version, data keys re-wrapped."""

from __future__ import annotations

import typer
from rich.progress import Progress

from carewall.audit import AuditEvent, AuditTag, record
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime

app = typer.Typer(help="Master key management.", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Create a new master-key version and re-wrap every data key (resumable)."""
    settings = load_settings()
    runtime = open_cli_runtime(settings)
    with Progress(console=err_console) as bar:
        task = bar.add_task("Re-wrapping data keys", total=None)
        version = runtime.keys.rotate(
            settings, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(action=AuditTag.KEYS_ROTATED, actor="cli", details={"version": version}),
        )
    console.print(
        f"[green]Master key rotated[/] to version {version}. Back up the new "
        f"{settings.master_key_path.name} now: the old copy cannot read new data keys."
    )
