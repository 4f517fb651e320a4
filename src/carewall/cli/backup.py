"""`carewall backup init|create|list|verify|restore|drill`: encrypted backups from the console.

Machine-readable output goes to stdout alone (the password `init` generated,
the snapshot id `create` made, `list --json`); explanations and progress go
to stderr. `restore` is different from the rest: it never opens the data
directory in `CAREWALL_HOME` (there may be none yet, or it may be the empty
target), only the repository, with a password from `CAREWALL_BACKUP_PASSWORD`
or typed at the prompt.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from carewall.backup import PasswordUnavailableError, RepositoryDamagedError
from carewall.backup.queries import SnapshotView, snapshots
from carewall.backup.repository import open_store, store_for
from carewall.backup.restic import ResticStore
from carewall.backup.restore import RESTORED_SETTINGS, check_target, restore_into
from carewall.backup.services import (
    create_backup,
    drill_backups,
    init_repository,
    refresh_snapshots,
    verify_backups,
)
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime

app = typer.Typer(help="Encrypted, verified backups (restic) and restores.", no_args_is_help=True)


@contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = open_cli_runtime(load_settings())
    try:
        yield runtime
    finally:
        runtime.close()


@app.command("init")
def init() -> None:
    """Create the repository in CAREWALL_BACKUP_REPO and keep a sealed password for jobs."""
    with _runtime() as runtime:
        result = init_repository(runtime, Caller.cli())
    made = "Created" if result.created else "Using the existing"
    err_console.print(f"{made} backup repository at {result.location}.", highlight=False)
    if not result.generated:
        err_console.print(
            "The password it uses is sealed in the data directory for scheduled backups. "
            "Make sure you also keep it offline."
        )
        return
    err_console.print(
        "[bold]The backup password is printed below, once.[/] Write it down and keep it "
        "offline, away from this server (a safe, a sealed envelope with the practice owner). "
        "A restore on a new machine needs it; without it no backup can be read. The copy "
        "Carewall keeps for scheduled backups is lost with this server's data directory."
    )
    typer.echo(result.password)


@app.command("create")
def create() -> None:
    """Back up now; the snapshot id is printed alone on the last line."""
    with (
        _runtime() as runtime,
        Progress(
            TextColumn("Backing up"), BarColumn(), TaskProgressColumn(), console=err_console
        ) as bar,
    ):
        task = bar.add_task("backup", total=1.0)
        summary = create_backup(
            runtime,
            Caller.cli(),
            trigger="cli",
            progress=lambda done: bar.update(task, completed=done),
        )
        bar.update(task, completed=1.0)
    err_console.print(
        f"[green]Backed up[/]: {summary.bytes_processed / 1048576:.1f} MiB, "
        f"{summary.bytes_added / 1048576:.1f} MiB of it new to the repository."
    )
    typer.echo(summary.snapshot_id)


@app.command("list")
def list_snapshots(
    as_json: bool = typer.Option(False, "--json", help="One JSON array, for scripts."),
) -> None:
    """The snapshots in the repository, newest first, with their sizes.

    On a machine with no data directory yet (before a restore) the repository is
    read directly, with the password from the environment or the prompt, and
    `CAREWALL_HOME` is not created.
    """
    settings = load_settings()
    if settings.home.exists():
        with _runtime() as runtime:
            refresh_snapshots(runtime, open_store(runtime))
            with runtime.db.sessions() as session:
                found = snapshots(session)
    else:
        store_for(settings, "", cached=False)
        found = _straight_from(store_for(settings, _restore_password(settings), cached=False))
    if as_json:
        typer.echo(json.dumps([_as_json(s) for s in found], indent=2))
        return
    if not found:
        console.print("No snapshots yet. Make one with `carewall backup create`.")
        return
    table = Table("Taken (UTC)", "Snapshot", "Size", "New data", "Carewall", title="Snapshots")
    for snap in found:
        table.add_row(
            f"{snap.taken_at:%Y-%m-%d %H:%M:%S}",
            snap.short_id,
            _mib(snap.size_bytes),
            _mib(snap.added_bytes),
            snap.carewall_version or "",
        )
    console.print(table)


def _straight_from(store: ResticStore) -> list[SnapshotView]:
    """Snapshots as the repository lists them (sizes are not known without a database)."""
    return [
        SnapshotView(s.id, s.short_id, s.time, None, None, None, s.carewall_version)
        for s in reversed(store.snapshots())
    ]


def _mib(size: int | None) -> str:
    return "" if size is None else f"{size / 1048576:.1f} MiB"


def _as_json(snap: SnapshotView) -> dict[str, object]:
    return {
        "id": snap.snapshot_id,
        "short_id": snap.short_id,
        "time": snap.taken_at.isoformat(),
        "size_bytes": snap.size_bytes,
        "added_bytes": snap.added_bytes,
        "files": snap.files,
        "carewall_version": snap.carewall_version,
    }


@app.command("verify")
def verify(
    full: bool = typer.Option(False, "--full", help="Read every byte of the repository."),
) -> None:
    """Check the repository and the latest backup's manifest; exit 1 on any damage."""
    with _runtime() as runtime:
        try:
            result = verify_backups(runtime, Caller.cli(), full=full, trigger="cli")
        except RepositoryDamagedError as exc:
            _damage(exc.message, exc.problems)
    if not result.ok:
        _damage("The backup repository is damaged.", list(result.problems))
    depth = "every byte read" if full else "structure and the latest manifest"
    console.print(f"[green]OK[/]: no damage found ({depth}).")


def _damage(message: str, problems: list[str]) -> None:
    err_console.print(f"[bold red]DAMAGED[/]: {message}", highlight=False)
    for problem in problems:
        err_console.print(f"  - {problem}", highlight=False)
    raise typer.Exit(1)


@app.command("restore")
def restore(
    snapshot: str = typer.Argument("latest", help="Snapshot id (or short id); default latest."),
    to: Path = typer.Option(..., "--to", help="A new (or empty) directory for the data."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="For a PostgreSQL backup: an empty database (default CAREWALL_DATABASE_URL).",
    ),
) -> None:
    """Restore a backup into a new data directory, needing only the repository and password."""
    settings = load_settings()  # reads the environment only: CAREWALL_HOME is not touched
    check_target(to)
    store_for(settings, "", cached=False)  # repository configured and restic installed
    password = _restore_password(settings)
    store = store_for(settings, password, cached=False)
    with Progress(TextColumn("Restoring and verifying…"), console=err_console) as bar:
        bar.add_task("restore", total=None)
        report = restore_into(
            store,
            snapshot,
            to,
            password,
            Caller.cli(),
            database_url=database_url or settings.database_url,
        )
    manifest = report.manifest
    err_console.print(
        f"[green]Restored[/] snapshot {report.snapshot[:8]} (taken "
        f"{manifest.created_at:%Y-%m-%d %H:%M} UTC by Carewall {manifest.carewall_version}) into "
        f"{report.target}: {report.chain_entries} audit entries verified, the chain head matches "
        "the backup, and the restore is in the audit trail.",
        highlight=False,
    )
    start = f"CAREWALL_HOME={report.target}"
    if manifest.database.engine != "sqlite":
        start += " CAREWALL_DATABASE_URL=<the database you restored into>"
    err_console.print(
        f"Start Carewall on it with: {start} carewall serve\n"
        f"The backed-up server's settings (without secrets) are in {RESTORED_SETTINGS}; set "
        "CAREWALL_BACKUP_REPO there too to keep backing up.",
        highlight=False,
    )


def _restore_password(settings: Settings) -> str:
    """CAREWALL_BACKUP_PASSWORD, else one line of stdin (scripts) or a hidden prompt."""
    if settings.backup_password is not None and settings.backup_password.get_secret_value():
        return settings.backup_password.get_secret_value()
    if sys.stdin.isatty():
        typed: str = typer.prompt("Backup password", hide_input=True, err=True)
    else:
        typed = sys.stdin.readline().rstrip("\r\n")
    if not typed:
        raise PasswordUnavailableError(
            "No backup password: set CAREWALL_BACKUP_PASSWORD or type it at the prompt."
        )
    return typed


@app.command("drill")
def drill() -> None:
    """Restore the latest backup into a scratch copy, check it, delete it; exit 1 if it fails."""
    with _runtime() as runtime:
        report = drill_backups(runtime, Caller.cli(), trigger="cli")
    for check in report.checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]failed[/]"
        err_console.print(f"  {mark} {check.name}: {check.detail}", highlight=False)
    if not report.ok:
        _damage("The restore drill failed.", list(report.problems))
    console.print(
        f"[green]Drill passed[/] in {report.duration_seconds:.1f} s: snapshot "
        f"{report.snapshot[:8]} restored, {report.chain_entries} audit entries verified, "
        f"{report.records_checked} records decrypted.",
        highlight=False,
    )
