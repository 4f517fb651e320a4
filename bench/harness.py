"""What the HTTP benchmarks share: a server child process and timed GET loops.

Each benchmark script re-runs itself with `--serve HOME PORT` to serve its own
app (the real one plus bench-only routes); the parent measures over loopback.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_server(script: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Run `script --serve HOME PORT` on a free loopback port; returns it and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, script, "--serve", str(home), str(port)])
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def timed_gets(client: httpx.Client, path: str, count: int) -> tuple[float, float, float]:
    """GET `path` `count` times: (requests/s, p50 ms, p99 ms)."""
    timings = []
    started = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    rate = count / (time.perf_counter() - started)
    timings.sort()
    return rate, statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
