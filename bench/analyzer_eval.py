"""Evaluate the phishing analyzer against SpamAssassin on the reference mail.

Run by hand: ``uv run python bench/analyzer_eval.py [--half A|B|all] [--no-spamassassin]``.

Receiving-side headers (Authentication-Results, Received, X-MS-*, ...) are
stripped from every message first, so neither tool can read the verdicts
of the mailbox that collected the corpus. ``--half`` selects a fixed,
name-hashed half of the data (A for tuning, B held out). SpamAssassin runs
as ``spamd -L`` (local tests only) on a free loopback port, one ``spamc``
per message, and is skipped with a message when ``spamd`` is not installed.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from carewall.phishing.analyzer import (
    AnalyzerContext,
    Verdict,
    analyze_bytes,
    fit_weights,
    iter_messages,
    strip_receiving_headers,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "email"


@dataclass(frozen=True)
class Sample:
    """One stripped message and whether it is phishing."""

    name: str
    raw: bytes
    phish: bool


@dataclass(frozen=True)
class Rates:
    """Detection figures at one decision point."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0


def in_half(name: str, half: str) -> bool:
    """Stable split on the file name, independent of the message content."""
    if half == "all":
        return True
    bucket = hashlib.sha256(Path(name.split("#")[0]).name.encode()).digest()[0] % 2
    return (bucket == 0) == (half == "A")


def load(data: Path, half: str) -> list[Sample]:
    """Read and strip every message of the selected half."""
    samples = []
    for label, phish in (("phish", True), ("ham", False)):
        for name, raw in iter_messages(data / label):
            if in_half(name, half):
                samples.append(Sample(name, strip_receiving_headers(raw), phish))
    return samples


def rates(flags: list[tuple[bool, bool]]) -> Rates:
    """Confusion counts from (flagged, is_phish) pairs."""
    tp = sum(f and p for f, p in flags)
    fp = sum(f and not p for f, p in flags)
    fn = sum(not f and p for f, p in flags)
    tn = sum(not f and not p for f, p in flags)
    return Rates(tp, fp, fn, tn)


def run_analyzer(samples: list[Sample]) -> tuple[list[Verdict], float]:
    """Analyze every sample in this process; returns verdicts and messages/s."""
    context = AnalyzerContext()
    start = time.perf_counter()
    verdicts = [analyze_bytes(s.raw, context) for s in samples]
    elapsed = time.perf_counter() - start
    return verdicts, len(samples) / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def run_spamassassin(samples: list[Sample]) -> tuple[list[bool], float] | None:
    """Score with spamd/spamc; returns (flagged per sample, messages/s) or None."""
    if not shutil.which("spamd") or not shutil.which("spamc"):
        print(
            "SpamAssassin skipped: spamd/spamc not installed (apt-get install spamassassin spamc)"
        )
        return None
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        cmd = ["spamd", "-L", "--listen", f"127.0.0.1:{port}", "--allowed-ips", "127.0.0.1",
               "--max-children", "1", "--min-children", "1", "--helper-home-dir", home,
               "-u", "nobody", "--syslog", "stderr"]  # fmt: skip
        spamd = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not _wait_for(port, 120):
                print("SpamAssassin skipped: spamd did not start")
                return None
            start = time.perf_counter()
            flagged = [_spamc(port, s.raw) for s in samples]
            elapsed = time.perf_counter() - start
        finally:
            spamd.terminate()
            spamd.wait(timeout=30)
    return flagged, len(samples) / elapsed


def _spamc(port: int, raw: bytes) -> bool:
    result = subprocess.run(
        ["spamc", "-d", "127.0.0.1", "-p", str(port), "-c", "-s", str(30 * 1024 * 1024)],
        input=raw,
        capture_output=True,
        check=False,
        timeout=120,
    )
    score, _, threshold = result.stdout.decode().strip().partition("/")
    try:
        return float(score) >= float(threshold)
    except ValueError:
        return result.returncode == 1


def _row(name: str, r: Rates, speed: float | None = None) -> str:
    speed_text = f"{speed:9.1f}" if speed is not None else f"{'':9}"
    return (
        f"{name:34} {r.precision:9.3f} {r.recall:7.3f} {r.f1:6.3f} {r.fpr:6.3f} "
        f"{r.tp:5} {r.fp:5} {r.fn:5} {r.tn:5} {speed_text}"
    )


def report(samples: list[Sample], verdicts: list[Verdict], speed: float) -> None:
    """Print the metrics table, confusion matrix and most frequent signals."""
    truth = [s.phish for s in samples]
    at_phish = rates([(v.verdict == "phishing", p) for v, p in zip(verdicts, truth, strict=True)])
    at_susp = rates([(v.verdict != "clean", p) for v, p in zip(verdicts, truth, strict=True)])
    print(f"\n{'':34} {'precision':>9} {'recall':>7} {'F1':>6} {'FPR':>6} "
          f"{'TP':>5} {'FP':>5} {'FN':>5} {'TN':>5} {'msg/s':>9}")  # fmt: skip
    print(_row("carewall  verdict = phishing", at_phish))
    print(_row("carewall  verdict >= suspicious", at_susp, speed))
    _spamassassin_rows(samples, truth, speed)
    print("\nConfusion matrix (rows: truth, columns: verdict)")
    print(f"{'':8} {'phishing':>9} {'suspicious':>11} {'clean':>7}")
    for label, value in (("phish", True), ("ham", False)):
        counts = collections.Counter(
            v.verdict for v, p in zip(verdicts, truth, strict=True) if p == value
        )
        print(f"{label:8} {counts['phishing']:9} {counts['suspicious']:11} {counts['clean']:7}")
    for label, value in (("phish", True), ("ham", False)):
        group = [v for v, p in zip(verdicts, truth, strict=True) if p == value]
        counter = collections.Counter(s.id for v in group for s in v.signals)
        print(f"\nTop signals on {label} ({len(group)} messages)")
        for signal_id, count in counter.most_common(10):
            print(f"  {signal_id:34} {count:5}  {100 * count / max(len(group), 1):5.1f}%")


def _spamassassin_rows(samples: list[Sample], truth: list[bool], speed: float) -> None:
    if _ARGS.no_spamassassin:
        print("SpamAssassin skipped (--no-spamassassin)")
        return
    result = run_spamassassin(samples)
    if result is None:
        return
    flagged, sa_speed = result
    print(
        _row(
            "spamassassin (default threshold)",
            rates(list(zip(flagged, truth, strict=True))),
            sa_speed,
        )
    )
    print(f"\nthroughput ratio carewall / spamassassin: {speed / sa_speed:.1f}x")


def suggest_weights(samples: list[Sample], verdicts: list[Verdict]) -> None:
    """Print logistic-regression weights, scaled to points, for review."""
    weights, bias = fit_weights([v.signal_ids() for v in verdicts], [s.phish for s in samples])
    print(f"\nSuggested weights (log-odds x 1.5; bias {bias:.2f}):")
    for signal_id, w in sorted(weights.items(), key=lambda kv: -kv[1]):
        print(f"  {signal_id:34} {1.5 * w:6.2f}")


def main() -> int:
    """Entry point."""
    if not _ARGS.data.is_dir():
        print(f"No evaluation data at {_ARGS.data}; nothing to do.")
        return 0
    samples = load(_ARGS.data, _ARGS.half)
    print(f"{len(samples)} messages ({sum(s.phish for s in samples)} phish), half={_ARGS.half}, "
          "receiving-side headers stripped")  # fmt: skip
    verdicts, speed = run_analyzer(samples)
    report(samples, verdicts, speed)
    if _ARGS.fit:
        suggest_weights(samples, verdicts)
    return 0


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--half", choices=("A", "B", "all"), default="all")
    parser.add_argument("--no-spamassassin", action="store_true")
    parser.add_argument("--fit", action="store_true", help="print suggested weights")
    return parser.parse_args()


_ARGS = _parse_args() if __name__ == "__main__" else argparse.Namespace(no_spamassassin=True)

if __name__ == "__main__":
    sys.exit(main())
