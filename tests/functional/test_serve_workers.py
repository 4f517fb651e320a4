"""`carewall serve --workers N`: several worker processes behind one port, which stop
with the serving process however it ends."""

from __future__ import annotations

import os
import signal
import socket
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


def _connections_held(pids: set[int], port: int) -> dict[int, int]:
    """How many established connections to `port` each process holds (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "01":  # ESTABLISHED
            inodes.add(f"socket:[{inode}]")
    held = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        held[pid] = sum(1 for fd in fds.iterdir() if fd.readlink().as_posix() in inodes)
    return held


def test_keep_alive_clients_that_connect_at_once_spread_over_the_workers(
    tmp_path: Path,
) -> None:
    # asyncio's accept takes every waiting connection at once, and a new worker built
    # its routes at its first request: 8 clients connecting together ended 7 on one
    # worker and 1 on the other, leaving a core idle for as long as they stayed. (Both
    # workers must be serving first: until then one rightly takes every connection.)
    server = start_server(tmp_path / "home", "--workers", "2", timeout=180)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        workers = {
            pid
            for pid in _children(server.process.pid)
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
        }
        deadline = time.monotonic() + 180
        while server.output().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.2)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
        try:
            for client in clients:
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            for client in clients:
                assert client.recv(100).startswith(b"HTTP/1.1 200")
            held = _connections_held(workers, port)
        finally:
            for client in clients:
                client.close()
        assert sum(held.values()) == 8
        assert min(held.values()) >= 3, held
    finally:
        server.stop()
