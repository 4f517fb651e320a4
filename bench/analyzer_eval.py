"""Evaluate the phishing analyzer per set, against SpamAssassin in the same run.

Run by hand: ``uv run python bench/analyzer_eval.py [--holdout] [--no-spamassassin]
[--write-calibration]``.

Sets: the 2002 SpamAssassin ham ("old ham"), the modern legitimate development
set (``tests/data/modern_ham``), the phishing set and, with ``--holdout``,
the kept-aside modern set (report it once, at the end: it is never tuned on).
Receiving-side headers (Authentication-Results, ARC, Received, X-MS-*, ...)
are stripped from every message first. For each set the bench prints recall
(phishing) or false-positive rate (legitimate) at each verdict, the
confusion matrix at the default threshold, recall at 1% and 2% FPR and the
AUC (against both legitimate sets together and against each), and the same
for SpamAssassin (``spamd -L`` on a loopback port, one ``spamc`` per
message) when it is installed, with the messages-per-second ratio.
``--write-calibration`` stores the score curve over both legitimate sets in
``calibration.json`` (the verdict page's "of 100 legitimate emails" line).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import os
import resource
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
MODERN = REPO / "tests" / "data" / "modern_ham"
HOLDOUT = REPO / "tests" / "data" / "modern_ham_holdout"
CALIBRATION = REPO / "src" / "carewall" / "phishing" / "analyzer" / "data" / "calibration.json"
LEGIT_SETS = ("old ham", "modern dev")


@dataclass(frozen=True)
class Speed:
    """Messages per second of wall-clock time and per second of CPU time.

    The machine may be shared: wall-clock rates of two programs measured
    minutes apart can differ with the load alone, CPU time much less so.
    """

    wall: float
    cpu: float


@dataclass(frozen=True)
class Sample:
    """One stripped message and whether it is phishing."""

    name: str
    raw: bytes
    phish: bool


def in_half(name: str, half: str) -> bool:
    """Stable split on the file name, independent of the message content."""
    if half == "all":
        return True
    bucket = hashlib.sha256(Path(name.split("#")[0]).name.encode()).digest()[0] % 2
    return (bucket == 0) == (half == "A")


def load_sets(data: Path, half: str, holdout: bool) -> dict[str, list[Sample]]:
    """Every set, stripped of receiving-side headers; missing sets are skipped with a note."""
    folders = {"old ham": (data / "ham", False), "modern dev": (MODERN, False),
               "phishing": (data / "phish", True)}  # fmt: skip
    if holdout:
        folders["modern holdout"] = (HOLDOUT, False)
    sets: dict[str, list[Sample]] = {}
    for label, (folder, phish) in folders.items():
        if not folder.is_dir():
            print(f"{label}: no data at {folder}, skipped")
            continue
        sets[label] = [
            Sample(name, strip_receiving_headers(raw), phish)
            for name, raw in iter_messages(folder)
            if in_half(name, half)
        ]
    return sets


def run_analyzer(samples: list[Sample]) -> tuple[list[Verdict], float, float]:
    """Analyze every sample in this process; returns verdicts, wall and CPU seconds."""
    context = AnalyzerContext()
    start, cpu = time.perf_counter(), time.process_time()
    verdicts = [analyze_bytes(s.raw, context) for s in samples]
    return verdicts, time.perf_counter() - start, time.process_time() - cpu


def rate_at(scores: list[float], threshold: float) -> float:
    """Share of scores at or above a threshold."""
    return sum(s >= threshold for s in scores) / len(scores) if scores else 0.0


def recall_at_fpr(phish: list[float], legit: list[float], fpr: float) -> tuple[float, float]:
    """(recall, threshold) at the lowest threshold whose FPR on ``legit`` stays within ``fpr``."""
    best = (0.0, float("inf"))
    for threshold in sorted(set(phish) | set(legit) | {float("inf")}):
        if rate_at(legit, threshold) <= fpr:
            return rate_at(phish, threshold), threshold
    return best


def auc(phish: list[float], legit: list[float]) -> float:
    """Probability that a random phishing message outscores a random legitimate one."""
    if not phish or not legit:
        return 0.0
    ranked = sorted([(s, 1) for s in phish] + [(s, 0) for s in legit])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2
        rank_sum += mean_rank * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    n_pos, n_neg = len(phish), len(legit)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def print_verdicts(sets: dict[str, list[Sample]], verdicts: dict[str, list[Verdict]]) -> None:
    """Recall or FPR at each verdict, and the confusion matrix at the default threshold."""
    print(f"\n{'set':16} {'n':>5} {'phishing':>9} {'>=susp.':>8} {'clean':>6}   (share flagged)")
    for label, group in verdicts.items():
        counts = collections.Counter(v.verdict for v in group)
        n = len(group)
        print(f"{label:16} {n:5} {counts['phishing'] / n:9.3f} "
              f"{(counts['phishing'] + counts['suspicious']) / n:8.3f} "
              f"{counts['clean'] / n:6.3f}")  # fmt: skip
    print("\nConfusion matrix at the default threshold (rows: truth, columns: verdict)")
    print(f"{'':16} {'phishing':>9} {'suspicious':>11} {'clean':>7}")
    for label, group in verdicts.items():
        counts = collections.Counter(v.verdict for v in group)
        print(f"{label:16} {counts['phishing']:9} {counts['suspicious']:11} {counts['clean']:7}")


def print_phishing_halves(
    sets: dict[str, list[Sample]], verdicts: dict[str, list[Verdict]]
) -> None:
    """The phishing set's two halves apart: misses were studied on A only, B checks that."""
    if "phishing" not in sets:
        return
    print("\nPhishing by half (misses studied on A only; B is the check)")
    print(f"{'':16} {'phishing':>9} {'suspicious':>11} {'clean':>7} {'recall':>7}")
    for half in ("A", "B"):
        group = [
            v for s, v in zip(sets["phishing"], verdicts["phishing"], strict=True)
            if in_half(s.name, half)
        ]  # fmt: skip
        counts = collections.Counter(v.verdict for v in group)
        recall = (counts["phishing"] + counts["suspicious"]) / max(len(group), 1)
        print(f"{'phishing ' + half:16} {counts['phishing']:9} {counts['suspicious']:11} "
              f"{counts['clean']:7} {recall:7.3f}")  # fmt: skip


def print_curves(verdicts: dict[str, list[Verdict]]) -> None:
    """Recall at 1%/2% FPR and AUC, against each legitimate set and both together."""
    phish = [v.score for v in verdicts.get("phishing", [])]
    legit_sets = {k: [v.score for v in g] for k, g in verdicts.items() if k != "phishing"}
    together = [s for k in LEGIT_SETS for s in legit_sets.get(k, [])]
    print(
        f"\n{'legitimate set':22} {'recall@1%':>10} {'(thr)':>6} "
        f"{'recall@2%':>10} {'(thr)':>6} {'AUC':>6}"
    )
    for label, legit in [*legit_sets.items(), ("old ham + modern dev", together)]:
        r1, t1 = recall_at_fpr(phish, legit, 0.01)
        r2, t2 = recall_at_fpr(phish, legit, 0.02)
        print(f"{label:22} {r1:10.3f} {t1:6g} {r2:10.3f} {t2:6g} {auc(phish, legit):6.3f}")
    print("\nCurve (share at or above each score):")
    print(f"{'score':>6} " + " ".join(f"{k[:14]:>14}" for k in verdicts))
    for threshold in (2.5, 3.0, 3.25, 3.5, 3.75, 4.0, 4.5, 5.0, 5.5, 6.0):
        shares = " ".join(
            f"{rate_at([v.score for v in g], threshold):14.3f}" for g in verdicts.values()
        )
        print(f"{threshold:6g} {shares}")


def print_top_signals(verdicts: dict[str, list[Verdict]]) -> None:
    """The signals that fire most often in each set."""
    for label, group in verdicts.items():
        counter = collections.Counter(s.id for v in group for s in v.signals)
        print(f"\nTop signals on {label} ({len(group)} messages)")
        for signal_id, count in counter.most_common(8):
            print(f"  {signal_id:36} {count:5}  {100 * count / max(len(group), 1):5.1f}%")


def write_calibration(verdicts: dict[str, list[Verdict]]) -> None:
    """Store the share of legitimate mail at or above each score step (both sets, equal weight)."""
    sets = [[v.score for v in verdicts[k]] for k in LEGIT_SETS if k in verdicts]
    steps = [round(x * 0.25, 2) for x in range(0, 61)]
    curve = [[s, round(sum(rate_at(g, s) for g in sets) / len(sets), 5)] for s in steps]
    sizes = {k: len(verdicts[k]) for k in LEGIT_SETS if k in verdicts}
    document = {"_comment": "Share of legitimate mail scoring at or above each score, averaged "
                "over "
                f"the old ham and the modern development set ({sizes}). Written by "
                "bench/analyzer_eval.py --write-calibration.", "curve": curve}  # fmt: skip
    CALIBRATION.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"\ncalibration written to {CALIBRATION}")


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


def run_spamassassin(
    groups: dict[str, list[Sample]],
) -> tuple[dict[str, list[float]], Speed] | None:
    """Scores per set with spamd/spamc on loopback, and messages/s; None when not installed."""
    if not shutil.which("spamd") or not shutil.which("spamc"):
        print(
            "\nSpamAssassin skipped: spamd/spamc not installed (apt-get install spamassassin spamc)"
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
                print("\nSpamAssassin skipped: spamd did not start")
                return None
            _spamc(port, b"Subject: warm-up\n\nhello\n")  # the child loads its rules
            start, cpu = time.perf_counter(), _cpu_seconds(spamd.pid)
            scores = {k: [_spamc(port, s.raw) for s in g] for k, g in groups.items()}
            elapsed, cpu = time.perf_counter() - start, _cpu_seconds(spamd.pid) - cpu
        finally:
            spamd.terminate()
            spamd.wait(timeout=30)
    total = sum(len(g) for g in groups.values())
    return scores, Speed(total / elapsed, total / cpu if cpu > 0 else 0.0)


def _cpu_seconds(spamd_pid: int) -> float:
    """CPU seconds used so far by spamd and its children, plus the spamc processes we ran."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [spamd_pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{spamd_pid}/task/{spamd_pid}/children").read_text()
        pids += [int(p) for p in children.split()]
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            used = int(fields[11]) + int(fields[12])  # utime, stime
            if pid == spamd_pid:  # children that spamd already replaced and reaped
                used += int(fields[13]) + int(fields[14])  # cutime, cstime
            total += used / ticks
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + usage.ru_utime + usage.ru_stime


def _spamc(port: int, raw: bytes) -> float:
    result = subprocess.run(
        ["spamc", "-d", "127.0.0.1", "-p", str(port), "-c", "-s", str(30 * 1024 * 1024)],
        input=raw, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    score, _, _threshold = result.stdout.decode().strip().partition("/")
    try:
        return float(score)
    except ValueError:
        return 0.0


def print_spamassassin(sets: dict[str, list[Sample]], speed: Speed) -> None:
    """The same figures for SpamAssassin at its default threshold (5.0), and the speed ratio."""
    result = run_spamassassin(sets)
    if result is None:
        return
    scores, sa_speed = result
    print("\nSpamAssassin 4 (spamd -L, default threshold 5.0): share flagged per set")
    for label, group in scores.items():
        print(f"  {label:16} {rate_at(group, 5.0):.3f}")
    phish = scores.get("phishing", [])
    together = [s for k in LEGIT_SETS for s in scores.get(k, [])]
    for label, legit in [
        *((k, v) for k, v in scores.items() if k != "phishing"),
        ("old ham + modern dev", together),
    ]:
        r1, _ = recall_at_fpr(phish, legit, 0.01)
        r2, _ = recall_at_fpr(phish, legit, 0.02)
        print(
            f"  vs {label:22} recall@1% {r1:.3f}  recall@2% {r2:.3f}  AUC {auc(phish, legit):.3f}"
        )
    print(f"\nthroughput (wall clock): carewall {speed.wall:.1f} msg/s, spamassassin "
          f"{sa_speed.wall:.1f} msg/s, ratio {speed.wall / sa_speed.wall:.1f}x")  # fmt: skip
    if sa_speed.cpu > 0:
        print(f"throughput (per CPU second): carewall {speed.cpu:.1f} msg/s, spamassassin "
              f"{sa_speed.cpu:.1f} msg/s (spamd, its child and spamc), "
              f"ratio {speed.cpu / sa_speed.cpu:.1f}x")  # fmt: skip


def suggest_weights(sets: dict[str, list[Sample]], verdicts: dict[str, list[Verdict]]) -> None:
    """Print logistic-regression weights, scaled to points, for review."""
    examples = [v.signal_ids() for g in verdicts.values() for v in g]
    labels = [s.phish for g in sets.values() for s in g]
    weights, bias = fit_weights(examples, labels)
    print(f"\nSuggested weights (log-odds x 1.5; bias {bias:.2f}):")
    for signal_id, w in sorted(weights.items(), key=lambda kv: -kv[1]):
        print(f"  {signal_id:36} {1.5 * w:6.2f}")


def main() -> int:
    """Entry point."""
    sets = load_sets(_ARGS.data, _ARGS.half, _ARGS.holdout)
    if not sets:
        print("No evaluation data; nothing to do.")
        return 0
    print(f"half={_ARGS.half}, receiving-side headers stripped; "
          + ", ".join(f"{k}: {len(g)}" for k, g in sets.items()))  # fmt: skip
    verdicts: dict[str, list[Verdict]] = {}
    elapsed = cpu = total = 0.0
    for label, group in sets.items():
        verdicts[label], wall, used = run_analyzer(group)
        elapsed, cpu, total = elapsed + wall, cpu + used, total + len(group)
    speed = Speed(total / elapsed, total / cpu)
    print(f"carewall: {speed.wall:.1f} messages/s ({speed.cpu:.1f} per CPU second)")
    print_verdicts(sets, verdicts)
    print_phishing_halves(sets, verdicts)
    print_curves(verdicts)
    print_top_signals(verdicts)
    if _ARGS.write_calibration:
        write_calibration(verdicts)
    if _ARGS.fit:
        suggest_weights(sets, verdicts)
    if not _ARGS.no_spamassassin:
        print_spamassassin(sets, speed)
    return 0


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--half", choices=("A", "B", "all"), default="all")
    parser.add_argument("--holdout", action="store_true", help="also the kept-aside modern set")
    parser.add_argument("--no-spamassassin", action="store_true")
    parser.add_argument("--write-calibration", action="store_true")
    parser.add_argument("--fit", action="store_true", help="print suggested weights")
    return parser.parse_args()


_ARGS = _parse_args() if __name__ == "__main__" else argparse.Namespace(no_spamassassin=True)

if __name__ == "__main__":
    sys.exit(main())
