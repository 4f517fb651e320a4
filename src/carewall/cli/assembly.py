"""What the composition root (`carewall.registry`) hands the command line.

Commands sit below the registry, so they cannot import it; `build_cli` keeps
the `Assembly` it was given instead, and `open_cli_runtime`, `serve` and the
jobs commands read it from there. One process builds one command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from carewall.core.runtime import Runtime
from carewall.demo import SeedReport
from carewall.jobs import JobRegistry


@dataclass(frozen=True)
class CliPart:
    """One domain's command groups (`carewall user ...`) and top-level commands."""

    groups: tuple[tuple[str, typer.Typer], ...] = ()
    commands: tuple[tuple[str, Callable[..., Any]], ...] = ()


@dataclass(frozen=True)
class Assembly:
    """The registered domains, as the CLI needs them."""

    install: Callable[[Runtime], Runtime]
    web_app: Callable[[Runtime], Any]
    seed_demo: Callable[[Runtime], SeedReport]
    start_demo: Callable[[Runtime], SeedReport]
    jobs: JobRegistry


_current: Assembly | None = None


def use_assembly(assembly: Assembly) -> None:
    """Make `assembly` the one the commands see (called by `build_cli`)."""
    global _current
    _current = assembly


def current_assembly() -> Assembly:
    """The assembly of the running `carewall` command."""
    if _current is None:
        raise RuntimeError("carewall commands run through carewall.registry.cli_app()")
    return _current
