"""Regression floor for the phishing analyzer on the reference mail and modern legitimate mail.

A quick version of ``bench/analyzer_eval.py``: a fixed sample (every third
message) of the phishing set, the 2002 ham and the modern legitimate
development set (``tests/data/modern_ham``), receiving-side headers
stripped, checked against floors a little below the figures measured when
the weights were last tuned, so a rule change that loses detection or adds
false alarms fails here. Each legitimate set has its own ceiling: tuning on
the old ham alone must not hide false alarms on today's mail. It asserts
quality, not timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carewall.phishing.analyzer import analyze_bytes, iter_messages, strip_receiving_headers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "email"
MODERN = ROOT / "tests" / "data" / "modern_ham"
SAMPLE_EVERY = 3
# Measured on this sample: recall 0.916 (suspicious) / 0.748 (phishing); FPR old ham 0.015 /
# 0.003, modern dev 0.000 / 0.000. The old-ham ceiling at "suspicious" is the target.
MIN_RECALL_SUSPICIOUS = 0.90
MIN_RECALL_PHISHING = 0.72
MAX_FPR_SUSPICIOUS = {"ham": 0.02, "modern": 0.006}
MAX_FPR_PHISHING = {"ham": 0.01, "modern": 0.003}


def _verdicts(folder: Path) -> list[str]:
    messages = list(iter_messages(folder))[::SAMPLE_EVERY]
    return [analyze_bytes(strip_receiving_headers(raw)).verdict for _, raw in messages]


@pytest.fixture(scope="module")
def results() -> dict[str, list[str]]:
    if not (DATA / "phish").is_dir() or not (DATA / "ham").is_dir():
        pytest.skip(f"evaluation mail not found at {DATA} (see shared/data/README.md)")
    return {
        "phish": _verdicts(DATA / "phish"),
        "ham": _verdicts(DATA / "ham"),
        "modern": _verdicts(MODERN),
    }


def _rate(verdicts: list[str], flagged: set[str]) -> float:
    return sum(v in flagged for v in verdicts) / len(verdicts)


def test_modern_set_is_in_the_repository() -> None:
    assert len(list(MODERN.glob("*.eml"))) >= 500


def test_recall_and_false_positives_at_suspicious(results: dict[str, list[str]]) -> None:
    flagged = {"suspicious", "phishing"}
    assert _rate(results["phish"], flagged) >= MIN_RECALL_SUSPICIOUS
    for legit, ceiling in MAX_FPR_SUSPICIOUS.items():
        assert _rate(results[legit], flagged) <= ceiling, legit


def test_recall_and_false_positives_at_phishing(results: dict[str, list[str]]) -> None:
    assert _rate(results["phish"], {"phishing"}) >= MIN_RECALL_PHISHING
    for legit, ceiling in MAX_FPR_PHISHING.items():
        assert _rate(results[legit], {"phishing"}) <= ceiling, legit
