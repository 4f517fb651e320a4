"""What a score means: how often legitimate mail scores that high.

The curve in ``data/calibration.json`` is measured by
``bench/analyzer_eval.py --write-calibration`` over the old ham and the
modern legitimate development set (each weighted equally), the same curve
the default thresholds were picked from. The verdict page turns it into one
sentence a person can weigh: "of 100 legitimate emails like yours, about N
score this high".
"""

from __future__ import annotations

import bisect
import json
from functools import cache
from importlib import resources

_DATA = "carewall.phishing.analyzer.data"


@cache
def _curve() -> tuple[tuple[float, ...], tuple[float, ...]]:
    text = resources.files(_DATA).joinpath("calibration.json").read_text(encoding="utf-8")
    points = sorted((float(s), float(share)) for s, share in json.loads(text)["curve"])
    return tuple(p[0] for p in points), tuple(p[1] for p in points)


def legitimate_share_at(score: float) -> float:
    """Share of legitimate mail that scores at least ``score`` (from the nearest step below)."""
    steps, shares = _curve()
    index = bisect.bisect_right(steps, score) - 1
    return 1.0 if index < 0 else shares[index]


def legitimate_per_100(score: float) -> str:
    """'about N' of 100 legitimate emails score this high, or 'fewer than 1'."""
    share = legitimate_share_at(score) * 100
    if share >= 1:
        return f"about {round(share)}"
    return "fewer than 1"


def rarity_sentence(score: float) -> str:
    """The sentence the verdict page shows under the score."""
    return f"Of 100 legitimate emails like yours, {legitimate_per_100(score)} score this high."
