"""Regression floor for the phishing analyzer on the reference mail.

A quick version of ``bench/analyzer_eval.py``: a fixed sample (every
third message) with receiving-side headers stripped, checked against
floors a little below the figures measured when the weights were last
tuned, so a rule change that loses detection or adds false alarms fails
here. It asserts quality, not timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carewall.phishing.analyzer import analyze_bytes, iter_messages, strip_receiving_headers

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "email"
SAMPLE_EVERY = 3
MIN_RECALL_SUSPICIOUS = 0.80
MAX_FPR_SUSPICIOUS = 0.02
MIN_RECALL_PHISHING = 0.60
MAX_FPR_PHISHING = 0.01


def _verdicts(kind: str) -> list[str]:
    folder = DATA / kind
    messages = list(iter_messages(folder))[::SAMPLE_EVERY]
    return [analyze_bytes(strip_receiving_headers(raw)).verdict for _, raw in messages]


@pytest.fixture(scope="module")
def results() -> dict[str, list[str]]:
    if not (DATA / "phish").is_dir() or not (DATA / "ham").is_dir():
        pytest.skip(f"evaluation mail not found at {DATA} (see shared/data/README.md)")
    return {"phish": _verdicts("phish"), "ham": _verdicts("ham")}


def _rate(verdicts: list[str], flagged: set[str]) -> float:
    return sum(v in flagged for v in verdicts) / len(verdicts)


def test_recall_and_false_positives_at_suspicious(results):
    flagged = {"suspicious", "phishing"}
    assert _rate(results["phish"], flagged) >= MIN_RECALL_SUSPICIOUS
    assert _rate(results["ham"], flagged) <= MAX_FPR_SUSPICIOUS


def test_recall_and_false_positives_at_phishing(results):
    assert _rate(results["phish"], {"phishing"}) >= MIN_RECALL_PHISHING
    assert _rate(results["ham"], {"phishing"}) <= MAX_FPR_PHISHING
