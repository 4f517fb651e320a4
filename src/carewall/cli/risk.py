"""`carewall risk evidence [--json]` and `carewall report insurance --out FILE.pdf|FILE.html`.

The command groups are built around a function that returns the registered
evidence providers (the registry hands it over: commands cannot import it).
Machine-readable output goes to stdout alone; messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.risk import Providers, collect, services
from carewall.risk.report import build_report
from carewall.risk.rules import rulebook

FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html"}


@contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = open_cli_runtime(load_settings())
    try:
        yield runtime
    finally:
        runtime.close()


def risk_app(providers: Callable[[], Providers]) -> typer.Typer:
    """The `carewall risk` group."""
    app = typer.Typer(help="Risk assessment: the evidence Carewall measures.", no_args_is_help=True)

    @app.command("evidence")
    def evidence(
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Measure every evidence section now; sections never measured say so."""
        with _runtime() as runtime:
            found = collect(runtime, providers())
        if as_json:
            sys.stdout.write(json.dumps(found.as_json(), indent=2) + "\n")
            return
        table = Table("Section", "Status", "Measured (UTC)", title="Carewall evidence")
        for name in found.sections:
            spec = rulebook().spec(name)
            as_of = str(found.sections[name].get("as_of") or "")
            table.add_row(spec.title if spec else name, found.status(name), as_of[:19])
        console.print(table)

    return app


def report_app(providers: Callable[[], Providers]) -> typer.Typer:
    """The `carewall report` group."""
    app = typer.Typer(help="Reports for the insurer and the board.", no_args_is_help=True)

    @app.command("insurance")
    def insurance(
        out: Path = typer.Option(..., "--out", help="FILE.pdf or FILE.html to write."),
        assessment: str | None = typer.Option(
            None, "--assessment", help="Assessment id (default: the latest completed one)."
        ),
    ) -> None:
        """Write the insurance-readiness report: board page, insurer packet, appendices."""
        fmt = FORMATS.get(out.suffix.lower())
        if fmt is None:
            err_console.print("[bold red]Error:[/] --out must end in .pdf or .html.")
            raise typer.Exit(2)
        if not out.parent.is_dir():
            err_console.print(f"[bold red]Error:[/] the folder {out.parent} does not exist.")
            raise typer.Exit(2)
        from carewall.web.reports import render_html, render_pdf  # the web stack only here

        with _runtime() as runtime:
            report = build_report(runtime, providers(), assessment)
            data = render_pdf(report) if fmt == "pdf" else render_html(report).encode()
            out.write_bytes(data)
            summary = report.view.summary
            services.record_report(
                runtime, Caller.cli(), fmt, summary.id if summary else None, report.fingerprint
            )
        state = "draft" if report.draft else "completed"
        err_console.print(
            f"Wrote {out} ({len(data) // 1024} KiB): grade {report.view.readiness.grade}, "
            f"{round(report.view.readiness.score * 100)}% of key controls, from the {state} "
            f"assessment '{report.title}'."
        )

    return app
