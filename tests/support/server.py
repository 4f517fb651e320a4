"""A real `carewall serve` process on loopback, and a TOTP generator that is not ours.

Browser tests drive Chromium against it; functional tests use it where only a
real server shows the behaviour (start-up on restored data, signals, logs).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DEMO_COMPLETE = "demo: every seeding step has run"


@dataclass
class LiveServer:
    """A `carewall serve` process and how to reach it."""

    url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def stop(self) -> None:
        """Terminate the server and close its log."""
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()

    def output(self) -> str:
        """What the server printed so far."""
        self.log.flush()
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def wait_for_demo(self, timeout: float = 300) -> None:
        """Wait until the demo's later seeding steps (a queued task) have all run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if DEMO_COMPLETE in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            time.sleep(0.5)
        raise RuntimeError(f"the demo was not complete in {timeout:.0f} s: {self.output()}")


def start_server(
    home: Path, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 60
) -> LiveServer:
    """Start `carewall serve` and wait for /healthz (a patience, not a speed test: the
    demo seeds its first steps before it serves, and CI machines are shared).

    One worker process unless `args` say `--workers`: a test watches one server's
    behaviour, and a worker per core would start each server several times over on a
    shared machine (`test_serve_workers.py` covers the default of several).
    """
    port = free_port()
    if "--workers" not in args:
        args = ("--workers", "1", *args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    env.update({"CAREWALL_HOME": str(home), **(extra_env or {})})
    log = (home.parent / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "carewall", "serve", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    server = LiveServer(url, home, env, process, log)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"server exited: {server.output()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    server.stop()
    raise RuntimeError(f"server did not become healthy in {timeout:.0f} s")


def oathtool(secret: str, when: str = "now") -> str:
    """A TOTP code from an implementation that is not ours (the person's phone)."""
    return subprocess.run(
        ["oathtool", "--totp", "-b", f"--now={when}", secret],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
