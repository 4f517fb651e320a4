"""`carewall serve --workers N`: several worker processes behind one port, which stop
with the serving process however it ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import start_server

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    """The live (not zombie) processes whose parent is `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_serve_and_stop_when_the_serving_process_is_killed(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", "--workers", "2", timeout=180)
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        # uvicorn's supervisor also keeps a resource tracker; the workers are the rest.
        workers = {
            pid
            for pid in _children(server.process.pid)
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
        }
        assert len(workers) == 2
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "an orphaned worker kept running"
            time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/healthz", timeout=2)
    finally:
        server.stop()
