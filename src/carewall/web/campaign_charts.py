"""Server-drawn SVG geometry for the campaign pages (no script, no CDN, readable without colour).

Templates draw the shapes; this module only computes coordinates, so the
charts are plain SVG that screen readers get a text alternative for.
"""

from __future__ import annotations

from dataclasses import dataclass

from carewall.phishing.simulation.results import TrendPoint

WIDTH, BAR_HEIGHT, GAP, LABEL = 600, 26, 10, 110


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar of the funnel."""

    label: str
    value: int
    y: int
    width: float
    share: float


def funnel_bars(funnel: dict[str, int]) -> tuple[list[Bar], int]:
    """Bars for sent, opened, clicked, submitted, reported, scaled to `sent`; and the height."""
    top = max(funnel.get("sent", 0), 1)
    span = WIDTH - LABEL - 60
    bars = [
        Bar(name.capitalize(), count, index * (BAR_HEIGHT + GAP), span * count / top, count / top)
        for index, (name, count) in enumerate(funnel.items())
    ]
    return bars, len(bars) * (BAR_HEIGHT + GAP)


@dataclass(frozen=True, slots=True)
class TrendChart:
    """Two polylines (phish-prone and report rate, 0-100%) over campaigns in time order."""

    prone: str
    report: str
    labels: list[tuple[float, str]]
    height: int = 220


def trend_chart(points: list[TrendPoint]) -> TrendChart | None:
    """Coordinates of the across-campaigns chart (None with fewer than one point)."""
    if not points:
        return None
    left, right, top, bottom = 40, WIDTH - 20, 10, 180
    step = (right - left) / max(len(points) - 1, 1)

    def y(rate: float | None) -> float:
        return bottom - (bottom - top) * (rate or 0.0)

    xs = [left + step * i for i in range(len(points))]
    prone = " ".join(f"{x:.1f},{y(p.phish_prone):.1f}" for x, p in zip(xs, points, strict=True))
    report = " ".join(f"{x:.1f},{y(p.report_rate):.1f}" for x, p in zip(xs, points, strict=True))
    labels = [(x, f"{p.created_at:%d %b}") for x, p in zip(xs, points, strict=True)]
    return TrendChart(prone, report, labels)
