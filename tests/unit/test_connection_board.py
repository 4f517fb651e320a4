"""The board on which `carewall serve` workers say how many connections each holds."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from carewall.cli.balance import ConnectionBoard


@pytest.fixture
def other_worker() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing for another worker."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_each_worker_sees_the_fewest_connections_another_live_worker_holds(
    other_worker: subprocess.Popen[bytes],
) -> None:
    board = ConnectionBoard(workers=2)
    mine = board.claim()
    assert board.claim() == mine  # a worker keeps its slot
    assert board.fewest_elsewhere(mine) is None  # alone: nobody to leave a connection to
    theirs = board.claim(other_worker.pid)
    board.publish(mine, 4)
    board.publish(theirs, 1)
    assert (board.fewest_elsewhere(mine), board.fewest_elsewhere(theirs)) == (1, 4)


def test_a_worker_that_has_exited_is_left_out_and_its_slot_reused(
    other_worker: subprocess.Popen[bytes],
) -> None:
    board = ConnectionBoard(workers=1)
    mine = board.claim()
    theirs = board.claim(other_worker.pid)
    board.publish(theirs, 0)
    other_worker.kill()
    other_worker.wait()
    # Its stale count no longer holds this worker back, and its replacement takes its slot.
    assert board.fewest_elsewhere(mine) is None
    with subprocess.Popen(["sleep", "60"]) as replacement:
        try:
            assert board.claim(replacement.pid) == theirs
        finally:
            replacement.kill()
