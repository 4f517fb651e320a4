"""`carewall mail analyze FILE_OR_DIR [--json]` and `carewall mail poll`.

``analyze`` opens no database and needs no data directory: it is meant to be
run anywhere, on a single .eml, an mbox or a folder of exported mail. Its
exit code is for scripts: 0 when every message is clean, 1 when any is
suspicious or phishing, 2 when there was nothing to analyze. With ``--json``
stdout carries one JSON object per line and nothing else; the progress bar
and messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.phishing import Verdict, analyze_bytes, iter_messages
from carewall.phishing.context import context_from
from carewall.phishing.imap import ImapMailbox, poll_report_mailbox
from carewall.phishing.simulation import marker

app = typer.Typer(help="Phishing e-mail analysis and the report mailbox.", no_args_is_help=True)

ORIGIN = Origin(ip="", user_agent="cli")
EXIT_CLEAN, EXIT_FLAGGED, EXIT_USAGE = 0, 1, 2
_STYLE = {"phishing": "bold red", "suspicious": "yellow", "clean": "green"}
_TOP = 3


def _usage_error(message: str) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(EXIT_USAGE)


def _looks_like_many(path: Path) -> bool:
    """Directories and mbox files get a progress display; a single .eml does not."""
    if path.is_dir():
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


class _LazyVerifier:
    """Checks simulation markers with this Carewall's key, opening the data directory once.

    Without a data directory there is no key, so no marker can be trusted (and
    none is created: `analyze` runs anywhere).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._check: Callable[[str], bool] | None = None

    def __call__(self, value: str) -> bool:
        if self._check is None:
            self._check = self._load()
        return self._check(value)

    def _load(self) -> Callable[[str], bool]:
        s = self._settings
        if s.database_url is None and not s.sqlite_path.exists():
            return lambda _value: False
        runtime = open_cli_runtime(s)
        try:
            return marker.verifier(runtime.keys.data_key(marker.SIMULATION_KEY))
        finally:
            runtime.close()


def _verdicts(path: Path, show_progress: bool) -> Iterator[tuple[str, Verdict]]:
    settings = load_settings()
    context = context_from(settings, _LazyVerifier(settings))
    if not show_progress:
        for label, raw in iter_messages(path):
            yield label, analyze_bytes(raw, context)
        return
    columns = (SpinnerColumn(), TextColumn("Analyzed {task.completed} message(s)"))
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("analyze", total=None)
        for label, raw in iter_messages(path):
            yield label, analyze_bytes(raw, context)
            progress.advance(task)


def _signals_cell(verdict: Verdict) -> Text:
    cell = Text()
    for signal in verdict.signals[:_TOP]:
        if cell:
            cell.append("\n")
        cell.append(f"{signal.id} (+{signal.weight:g})", style="bold")
        if signal.evidence:
            cell.append(f": {signal.evidence[:120]}")
    return cell


@app.command("analyze")
def analyze(
    path: Path = typer.Argument(..., metavar="FILE_OR_DIR", help=".eml, mbox or a directory."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per message on stdout, instead of a table."
    ),
) -> None:
    """Score suspicious e-mail and explain each verdict (no data directory needed)."""
    if not path.exists():
        raise _usage_error(f"{path} does not exist. Give an .eml file, an mbox or a directory.")
    try:
        show_progress = _looks_like_many(path)
        table = Table("File", "Verdict", "Score", "Top signals", title="Phishing analysis")
        count = flagged = 0
        for label, verdict in _verdicts(path, show_progress):
            count += 1
            flagged += verdict.verdict != "clean"
            if as_json:
                sys.stdout.write(json.dumps({"file": label, **verdict.to_dict()}) + "\n")
                sys.stdout.flush()
                continue
            shown = Text(verdict.verdict, style=_STYLE[verdict.verdict])
            if verdict.simulation:
                shown.append(" (simulation)", style="dim")
            table.add_row(Text(label), shown, f"{verdict.score:g}", _signals_cell(verdict))
    except OSError as exc:
        raise _usage_error(f"cannot read {exc.filename or path}: {exc.strerror}.") from exc
    if count == 0:
        raise _usage_error(f"no messages found in {path} (.eml, .mbox or files without suffix).")
    if not as_json:
        console.print(table)
        console.print(f"{count} message(s), {flagged} suspicious or phishing.", highlight=False)
    raise typer.Exit(EXIT_FLAGGED if flagged else EXIT_CLEAN)


@app.command("poll")
def poll() -> None:
    """Fetch unseen mail from the report mailbox once and file each message as a report."""
    settings = load_settings()
    runtime = open_cli_runtime(settings)
    try:
        source = ImapMailbox.from_settings(settings)
        try:
            results = poll_report_mailbox(runtime, source, ORIGIN)
        finally:
            source.close()
    finally:
        runtime.close()
    if not results:
        console.print("No new reported mail.")
        return
    table = Table("UID", "Reported by", "Verdict", "Status", title="Filed reports")
    for result in results:
        status = result.status if not result.problem else f"skipped: {result.problem}"
        table.add_row(result.uid, Text(result.reporter), result.verdict or "-", Text(status))
    console.print(table)
