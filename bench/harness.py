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


def start_server(script: str, home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Run `script --serve HOME PORT [EXTRA...]` on a free loopback port; returns it and its
    URL (`extra`: more arguments for the child, e.g. the database it must use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, script, "--serve", str(home), str(port), *extra]
    process = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


Timing = tuple[float, float, float]  # requests/s, p50 ms, p99 ms


def timed_gets(client: httpx.Client, path: str, count: int) -> Timing:
    """GET `path` `count` times: (requests/s, p50 ms, p99 ms)."""
    return _summary(_latencies(client, path, count))


def timed_pair(
    client: httpx.Client, first: str, second: str, count: int, rounds: int = 10
) -> tuple[Timing, Timing]:
    """Time two paths in alternating blocks, so the shared machine's load drifts
    across both alike instead of favouring whichever ran while it was quiet."""
    timings: tuple[list[float], list[float]] = ([], [])
    block = max(1, count // rounds)
    for _ in range(rounds):
        timings[0].extend(_latencies(client, first, block))
        timings[1].extend(_latencies(client, second, block))
    return _summary(timings[0]), _summary(timings[1])


def _latencies(client: httpx.Client, path: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return timings


def _summary(timings: list[float]) -> Timing:
    """Rate from the summed latencies (the time spent in these requests alone)."""
    ordered = sorted(timings)
    rate = len(ordered) / (sum(ordered) / 1000)
    return rate, statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
