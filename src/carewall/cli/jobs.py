"""`carewall jobs list|run|worker`: the job runner from the console, cron or a worker host."""

from __future__ import annotations

import json
import time
from datetime import datetime

import typer
from rich.table import Table

from carewall.cli.assembly import current_assembly
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.jobs import JobStatus, RunResult, job_statuses, new_worker_id, run_now, run_pending
from carewall.jobs.queries import task_counts

app = typer.Typer(help="Periodic jobs and queued background work.", no_args_is_help=True)


@app.command("list")
def list_jobs(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per job."),
) -> None:
    """Every job with its schedule, last run, outcome and next run."""
    runtime = open_cli_runtime(load_settings())
    try:
        with runtime.db.sessions() as session:
            statuses = job_statuses(session, current_assembly().jobs, runtime.settings, utcnow())
            counts = task_counts(session)
    finally:
        runtime.close()
    if as_json:
        for status in statuses:
            typer.echo(json.dumps(_as_dict(status)))
        return
    console.print(_table(statuses))
    console.print(
        f"Queued tasks: {counts.queued} waiting, {counts.running} running, "
        f"{counts.failed} abandoned."
    )


@app.command("run")
def run(
    name: str | None = typer.Argument(None, help="Run this job now; without it, what is due."),
) -> None:
    """Run one job now, or every due job and queued task once (for cron)."""
    runtime = open_cli_runtime(load_settings())
    registry = current_assembly().jobs
    worker = new_worker_id()
    try:
        if name is not None:
            results = [run_now(runtime, registry, name, worker=worker, requested_by=Caller.cli())]
        else:
            results = run_pending(runtime, registry, worker=worker)
    finally:
        runtime.close()
    _report(results)
    if any(not result.ok for result in results):
        raise typer.Exit(1)


@app.command("worker")
def worker(
    interval: int = typer.Option(5, min=1, max=60, help="Seconds between looks for work."),
) -> None:
    """Run due jobs and queued tasks until stopped (a separate worker at scale)."""
    runtime = open_cli_runtime(load_settings())
    registry = current_assembly().jobs
    me = new_worker_id()
    err_console.print(f"Job worker {me} started; Ctrl+C to stop.")
    try:
        while True:
            _report(run_pending(runtime, registry, worker=me), quiet=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        err_console.print("Job worker stopped.")
    finally:
        runtime.close()


def _report(results: list[RunResult], *, quiet: bool = False) -> None:
    if not results and not quiet:
        err_console.print("Nothing was due.")
    for result in results:
        if result.ok and (result.summary or not quiet):
            err_console.print(f"[green]ok[/] {result.name}: {result.summary or 'nothing to do'}")
        elif result.deferred:
            err_console.print(f"[yellow]deferred[/] {result.name}: {result.summary}")
        elif not result.ok:
            err_console.print(f"[bold red]failed[/] {result.name}: {result.error}")


def _table(statuses: list[JobStatus]) -> Table:
    table = Table("Every", "Last run (UTC)", "Outcome", "Next run (UTC)")
    table.add_column("Job", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for status in statuses:
        outcome = status.last_outcome or "never run"
        if status.failing:
            outcome = f"[red]failure[/]: {status.last_error}"
        elif status.last_summary:
            outcome = f"{outcome}: {status.last_summary}"
        table.add_row(
            status.name,
            status.every_text,
            _when(status.last_started_at),
            outcome,
            "running now" if status.running else _when(status.next_run_at),
        )
    return table


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _as_dict(status: JobStatus) -> dict[str, object]:
    return {
        "name": status.name,
        "every_seconds": status.every_seconds,
        "last_started_at": status.last_started_at.isoformat() if status.last_started_at else None,
        "last_outcome": status.last_outcome,
        "last_summary": status.last_summary,
        "last_error": status.last_error,
        "next_run_at": status.next_run_at.isoformat() if status.next_run_at else None,
        "running": status.running,
    }
