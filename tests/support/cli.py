"""Running the `carewall` command from tests: in-process by default, a real process when it matters.

`carewall(env, *args)` runs the command line that `registry.cli_app()` builds
inside the test process, through Click's runner: the same commands, options,
error handling and exit codes as the console script, without paying for a
Python start-up and a full import of Carewall on every call (that was about
half of the suite's time). `env` is the environment the command sees, exactly
as a subprocess would: variables missing from it are removed for the call.

`carewall_process(env, *args)` starts the real console script. Keep it for what
only a process shows: the entry point itself, the exit code a shell sees, the
umask, signals, and `serve`.

An exception the command does not turn into a message escapes the in-process
runner and fails the test with its traceback, where a subprocess would have
printed one on stderr. Log records of WARNING and above reach stderr as plain
messages, as Python's last-resort handler prints them in a process where
nothing configured logging (every command but `serve`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import typer
from typer.testing import CliRunner

from carewall.cli.console import console, err_console
from carewall.cli.main import PRIVATE_UMASK
from carewall.core.config import Settings
from carewall.registry import cli_app

#: Rich wraps at the terminal width; tests read messages whole, on one line.
COLUMNS = "300"


@dataclass(frozen=True)
class CliResult:
    """What a finished command left behind, named as `subprocess.CompletedProcess` names it."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def cli_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a command working on `settings`' data directory and database.

    Every `CAREWALL_` (and `RESTIC_`) variable of the test process is dropped, so
    what the command sees is exactly what the test says.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREWALL_", "RESTIC_"))}
    env["CAREWALL_HOME"] = str(settings.home)
    env["CAREWALL_DATABASE_URL"] = settings.effective_database_url
    env["COLUMNS"] = COLUMNS
    env.update(extra)
    return env


@cache
def _app() -> typer.Typer:
    """One command line per test process, as one per `carewall` process."""
    return cli_app()


class _StderrHandler(logging.Handler):
    """Python's last-resort handler: WARNING and above, bare messages, to the current stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # a handler must never raise into the code it logs for
            self.handleError(record)


@contextmanager
def _as_a_process() -> Iterator[None]:
    """What the console script has that the test process lacks: its umask and stderr logging."""
    handler = _StderrHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    widths = console.width, err_console.width
    # Rich reads COLUMNS once, when the console module is first imported, which may
    # be before any test set it: give the command the width a process would see.
    console.width = err_console.width = int(COLUMNS)
    try:
        with _private_umask():
            yield
    finally:
        console.width, err_console.width = widths
        root.removeHandler(handler)


@contextmanager
def _private_umask() -> Iterator[None]:
    """The umask the console script sets before any command runs (`cli.main.run`)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _changes(env: Mapping[str, str]) -> dict[str, str | None]:
    """What to set and unset in `os.environ` for the command to see `env` exactly."""
    wanted = {"COLUMNS": COLUMNS, **env}
    changes: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    changes.update({k: v for k, v in wanted.items() if os.environ.get(k) != v})
    return changes


def carewall(env: Mapping[str, str], *args: str, stdin: str | None = None) -> CliResult:
    """Run `carewall ARGS` in this process with `env` as its whole environment.

    Standard input is never a terminal (`stdin`, or empty), as in a pipe.
    """
    runner = CliRunner()
    with _as_a_process():
        result = runner.invoke(
            _app(), list(args), input=stdin or "", env=_changes(env), catch_exceptions=False
        )
    return CliResult(tuple(args), result.exit_code, result.stdout, result.stderr)


def carewall_process(
    env: Mapping[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real console script (`python -m carewall ARGS`) as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "carewall", *args],
        env={"COLUMNS": COLUMNS, **env},
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
