"""Hooks: handlers run in subscription order, once each, however often they subscribe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carewall.core.hooks import Hooks


@dataclass(frozen=True)
class Happened:
    seen: list[str] = field(default_factory=list)


def _first(_session: Any, event: Happened) -> None:
    event.seen.append("first")


def _second(_session: Any, event: Happened) -> None:
    event.seen.append("second")


def test_each_handler_runs_once_in_order_even_when_installed_twice() -> None:
    hooks = Hooks()
    for _ in range(2):  # `carewall serve` installs the domains for the command, then the app
        hooks.subscribe(Happened, _first)
        hooks.subscribe(Happened, _second)
    event = Happened()
    hooks.fire(None, event)  # type: ignore[arg-type]
    assert event.seen == ["first", "second"]
    assert hooks.has(Happened)
    assert not hooks.has(int)
