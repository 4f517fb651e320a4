"""Extension points: a lower layer announces an event, a higher layer acts on it.

`records` may not import `alerts`, yet the alerts domain must see every record
write on the request path (to stop a ransomware-like mass delete before it
finishes). So `records` fires a `RecordChanged` event through the runtime's
`Hooks`, and the alerts domain's registration subscribes a handler. Handlers
run synchronously inside the firing transaction: they may write (their rows
commit or roll back with the change) and they may refuse by raising a
`CarewallError`, which aborts the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E")
Handler = Callable[[Session, E], None]


class Hooks:
    """Handlers by event type; events are plain frozen dataclasses of the firing layer."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Handler[Any]]] = {}

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> None:
        """Call `handler(session, event)` for every `event_type` fired from now on.

        Subscribing the same handler again is a no-op: a runtime may be installed
        twice (`carewall serve` installs it for the command, then for the web app),
        and a handler must still run once per event.
        """
        handlers = self._handlers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)

    def fire(self, session: Session, event: object) -> None:
        """Run the handlers of `event`'s type in subscription order, in `session`."""
        for handler in self._handlers.get(type(event), ()):
            handler(session, event)

    def has(self, event_type: type[Any]) -> bool:
        """Whether anything listens (lets a hot path skip building an event)."""
        return bool(self._handlers.get(event_type))
