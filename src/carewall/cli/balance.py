"""Spreading connections over the worker processes of `carewall serve --workers N`.

The workers share one listening socket, and asyncio accepts every waiting
connection each time that socket wakes a worker's loop. So after a burst of
connections one worker held nearly all of them: with 8 keep-alive clients, 7 on
one worker and 1 on the other, which left a core idle while 7 clients queued
behind one another. A keep-alive connection stays with the worker that accepted
it, so such a split lasts as long as the clients do.

Here each worker publishes how many connections it holds on a board the workers
share (`ConnectionBoard`, shared memory made by the serving process), and accepts
one connection per turn: at once while it holds no more than the least busy other
worker, otherwise only after a pause that leaves the connection to that worker (5
ms per connection it holds beyond that worker's, at most 50 ms). The pause is the
fallback that keeps a connection from waiting on a worker that is stuck or gone:
whoever is free takes it then. A worker that has exited is left out of the count.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable
from typing import Any

import uvicorn

# The pause per connection held beyond the least busy other worker's, and the longest.
PAUSE_PER_CONNECTION_SECONDS = 0.005
PAUSE_MAX_SECONDS = 0.05


class ConnectionBoard:
    """Each worker's count of open connections, in memory shared by the workers.

    One slot per worker: its pid and its count. A worker claims the slot of a
    worker that has exited (a replaced worker's), or a free one; there are twice
    as many slots as workers, since uvicorn starts a replacement before it stops
    the worker it replaces.
    """

    def __init__(self, workers: int) -> None:
        # Shared memory travels to the workers with their configuration, which uvicorn
        # hands to each spawned process.
        self._cells = multiprocessing.get_context("spawn").Array("q", 4 * workers)

    def claim(self, pid: int | None = None) -> int:
        """A slot for process `pid` (this one by default; its own if it has one already)."""
        pid = pid or os.getpid()
        with self._cells.get_lock():
            slots = range(len(self._cells) // 2)
            for slot in slots:
                if self._cells[2 * slot] == pid:
                    return slot
            for slot in slots:
                if not _alive(self._cells[2 * slot]):
                    self._cells[2 * slot], self._cells[2 * slot + 1] = pid, 0
                    return slot
        raise RuntimeError("more live workers than the connection board has slots")

    def publish(self, slot: int, held: int) -> None:
        """Say that the worker in `slot` holds `held` connections (one aligned write)."""
        self._cells[2 * slot + 1] = held

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections any other live worker holds (None: no other worker)."""
        counts = [
            self._cells[2 * other + 1]
            for other in range(len(self._cells) // 2)
            if other != slot and _alive(self._cells[2 * other])
        ]
        return min(counts, default=None)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its pid now another user's
        return False
    return True


class LeastConnectionsLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, except that it leaves a new connection to a worker
    holding fewer (see the module's docstring)."""

    def __init__(self, board: ConnectionBoard) -> None:
        super().__init__()
        self._board = board
        # Claimed now, not at the first connection: a worker must be on the board before
        # any connection arrives, or the first burst sees no other worker to leave it to.
        self._slot = board.claim()

    def _accept_connection(  # type: ignore[no-untyped-def]  # asyncio's private hook
        self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *rest
    ) -> None:
        watch = (protocol_factory, sock, sslcontext, server, backlog, *rest)
        excess = self._excess(server)
        if excess <= 0:
            self._accept_one(watch)
            return
        # Stop watching the socket during the pause (a watched one would wake this loop
        # in a spin), then take a connection if another worker has not, and watch again.
        self._remove_reader(sock.fileno())  # type: ignore[attr-defined]
        pause = min(excess * PAUSE_PER_CONNECTION_SECONDS, PAUSE_MAX_SECONDS)
        self.call_later(pause, self._accept_after_pause, watch)

    def _excess(self, server: Any) -> int:
        """How many more connections this worker holds than the least busy other one,
        having published its own count."""
        held = getattr(server, "_active_count", 0)
        self._board.publish(self._slot, held)
        fewest = self._board.fewest_elsewhere(self._slot)
        return 0 if fewest is None else held - fewest

    def _accept_after_pause(self, watch: tuple[Any, ...]) -> None:
        sock, server = watch[1], watch[3]
        if sock.fileno() == -1 or (server is not None and not server.is_serving()):
            return  # the server closed during the pause
        self._accept_one(watch)
        self._add_reader(sock.fileno(), self._accept_connection, *watch)  # type: ignore[attr-defined]

    def _accept_one(self, watch: tuple[Any, ...]) -> None:
        """asyncio's own accept, bounded to one connection this turn."""
        protocol_factory, sock, sslcontext, server, _backlog, *rest = watch
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *rest
        )


class BalancedConfig(uvicorn.Config):
    """uvicorn's configuration of worker processes, whose loops share one board."""

    def __init__(self, app: str, **options: Any) -> None:
        super().__init__(app, **options)
        self.board = ConnectionBoard(self.workers)

    def get_loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        return functools.partial(LeastConnectionsLoop, self.board)
