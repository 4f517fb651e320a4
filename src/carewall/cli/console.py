"""Shared Rich consoles and the runtime opener used by every command."""

from __future__ import annotations

from rich.console import Console

from carewall import identity, records
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity.links import seal_patient_links
from carewall.phishing.services import seal_legacy_reports
from carewall.records.reindex import reindex_pending, reindex_references
from carewall.records.services import seal_restriction_reasons

console = Console()
err_console = Console(stderr=True)


def open_cli_runtime(settings: Settings | None = None) -> Runtime:
    """Open the configured data directory (migrating it) for a command.

    A re-index a migration scheduled (it needs the keys, which migrations do not
    have) runs here, before any command or the server touches records.
    """
    runtime = open_runtime(settings or Settings())
    identity.prepare_keys(runtime.keys)
    records.prepare_keys(runtime.keys)
    seal_legacy_plaintext(runtime)
    if reindex_pending(runtime):
        finish_reindex(runtime)
    return runtime


def seal_legacy_plaintext(runtime: Runtime) -> int:
    """Seal what databases from before revision 0009 kept in clear; returns how many rows.

    The data-migration half of 0009, which needs the master key that a
    migration cannot reach. Every command (`serve` first) runs it after
    migrating; it resumes where an interrupted run stopped and costs three
    empty queries once done.
    """
    return (
        seal_patient_links(runtime)
        + seal_restriction_reasons(runtime)
        + seal_legacy_reports(runtime)
    )


def finish_reindex(runtime: Runtime) -> None:
    """Run the scheduled re-index of the record vault to its end, saying what it did."""
    err_console.print("Re-indexing the record vault (resumes if interrupted)...")
    report = reindex_references(runtime)
    err_console.print(
        f"Re-indexed: {report.examined} versions examined, "
        f"{report.changed} filed under another patient."
    )
