"""Vital-sign trends as coordinates for a small inline SVG (no JavaScript, no `style=`).

The chart template draws each `Trend` as an `<svg>` with polylines; SVG
presentation attributes are allowed under the strict CSP, and drawing on the
server keeps the chart readable without scripts. Vitals are recognised by
their LOINC codes, which Synthea and most EHRs use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LOINC = "http://loinc.org"
BLOOD_PRESSURE = "85354-9"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
# Single-value vitals drawn as one line: LOINC code -> label.
SINGLE = {"8867-4": "Heart rate", "29463-7": "Body weight", "39156-5": "BMI"}
WIDTH, HEIGHT, PAD = 240, 72, 6
MAX_POINTS = 40


@dataclass(frozen=True)
class Series:
    """One line of a trend: its name (for the legend) and SVG polyline points."""

    name: str
    points: str
    css_class: str


@dataclass(frozen=True)
class Trend:
    """One small chart: label, latest value, readings count and the lines to draw."""

    key: str
    label: str
    latest: str
    first_date: str
    last_date: str
    count: int
    low: str
    high: str
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def description(self) -> str:
        """A text alternative for screen readers."""
        return (
            f"{self.label}: {self.count} readings from {self.first_date} to {self.last_date}, "
            f"ranging {self.low} to {self.high}; latest {self.latest}."
        )


Point = tuple[str, float]  # (date, value)


def trends(observations: Iterable[dict[str, Any]]) -> list[Trend]:
    """The vitals found among `observations`, each with its readings oldest first."""
    found: dict[str, list[Point]] = {}
    units: dict[str, str] = {}
    for obs in observations:
        code, when = _loinc(obs), str(obs.get("effectiveDateTime") or "")[:10]
        if not when:
            continue
        if code in SINGLE:
            value, unit = _quantity(obs.get("valueQuantity"))
            if value is not None:
                found.setdefault(code, []).append((when, value))
                units[code] = unit
        elif code == BLOOD_PRESSURE:
            for component in obs.get("component") or []:
                part = _loinc(component)
                value, unit = _quantity(component.get("valueQuantity"))
                if part in {SYSTOLIC, DIASTOLIC} and value is not None:
                    found.setdefault(part, []).append((when, value))
                    units[BLOOD_PRESSURE] = unit
    result = []
    if found.get(SYSTOLIC) and found.get(DIASTOLIC):
        result.append(_blood_pressure(found[SYSTOLIC], found[DIASTOLIC], units[BLOOD_PRESSURE]))
    for code, label in SINGLE.items():
        if found.get(code):
            result.append(_single(code, label, found[code], units[code]))
    return result


def _blood_pressure(systolic: list[Point], diastolic: list[Point], unit: str) -> Trend:
    sys_pts, dia_pts = _recent(systolic), _recent(diastolic)
    values = [v for _, v in sys_pts + dia_pts]
    dates = sorted(d for d, _ in sys_pts + dia_pts)
    low, high = min(values), max(values)
    return Trend(
        key="blood-pressure",
        label="Blood pressure",
        latest=f"{_num(sys_pts[-1][1])}/{_num(dia_pts[-1][1])} {unit}".strip(),
        first_date=dates[0],
        last_date=dates[-1],
        count=len(sys_pts),
        low=f"{_num(low)}",
        high=f"{_num(high)} {unit}".strip(),
        series=[
            Series("Systolic", _polyline(sys_pts, dates, low, high), "trend-line"),
            Series("Diastolic", _polyline(dia_pts, dates, low, high), "trend-line-2"),
        ],
    )


def _single(code: str, label: str, points: list[Point], unit: str) -> Trend:
    pts = _recent(points)
    values, dates = [v for _, v in pts], [d for d, _ in pts]
    low, high = min(values), max(values)
    return Trend(
        key=f"loinc-{code}",
        label=label,
        latest=f"{_num(pts[-1][1])} {unit}".strip(),
        first_date=dates[0],
        last_date=dates[-1],
        count=len(pts),
        low=_num(low),
        high=f"{_num(high)} {unit}".strip(),
        series=[Series(label, _polyline(pts, dates, low, high), "trend-line")],
    )


def _recent(points: list[Point]) -> list[Point]:
    return sorted(points)[-MAX_POINTS:]


def _polyline(points: list[Point], dates: list[str], low: float, high: float) -> str:
    """Evenly spaced by reading order of the shared date axis; scaled to the value range."""
    axis = sorted(set(dates))
    span_x = max(len(axis) - 1, 1)
    span_y = (high - low) or 1.0
    coords = []
    for when, value in points:
        x = PAD + (WIDTH - 2 * PAD) * axis.index(when) / span_x
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value - low) / span_y
        coords.append(f"{x:.1f},{y:.1f}")
    if len(coords) == 1:  # one reading: draw a short flat dash so it is visible
        only_x, only_y = coords[0].split(",")
        coords = [f"{float(only_x) - 3:.1f},{only_y}", f"{float(only_x) + 3:.1f},{only_y}"]
    return " ".join(coords)


def _loinc(element: dict[str, Any]) -> str:
    for coding in (element.get("code") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == LOINC:
            return str(coding.get("code") or "")
    return ""


def _quantity(value: Any) -> tuple[float | None, str]:
    if not isinstance(value, dict) or not isinstance(value.get("value"), int | float):
        return None, ""
    return float(value["value"]), str(value.get("unit") or value.get("code") or "")


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
