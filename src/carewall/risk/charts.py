"""Charts drawn on the server as SVG text: coverage bars, the 5x5 heat map, trends, the cost spread.

The same markup goes into pages (where the CSP forbids inline styles, so only
presentation attributes are used, never `style=`) and into the PDF, which
WeasyPrint draws from inline SVG. Every chart has a title for screen readers;
the pages and the report also give the figures as text or tables. All text is
escaped here, so callers may mark the result safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
GOOD, FAIR, POOR = "#2e7d32", "#b26a00", "#c62828"
LEVEL_FILL = {"low": "#cfe8d3", "medium": "#fff0b3", "high": "#ffc999", "critical": "#f4a39b"}
SERIES = ("#1f5f8b", "#b26a00", "#2e7d32", "#7b3f99", "#c62828", "#4d4d4d")


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{FONT}" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(
    x: float, y: float, content: str, *, size: int = 12, anchor: str = "start", **attrs: str
) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(content)}</text>"
    )


def score_colour(score: float) -> str:
    """Green from 75%, amber from 50%, red below."""
    return GOOD if score >= 0.75 else FAIR if score >= 0.5 else POOR


def coverage_bars(rows: Sequence[tuple[str, float]], title: str, width: int = 560) -> str:
    """One horizontal bar per row (label, share 0..1), with the percentage at its end."""
    label_w, pct_w, row_h = 170, 52, 30
    bar_w = width - label_w - pct_w
    height = row_h * len(rows) + 10
    body: list[str] = []
    for i, (label, score) in enumerate(rows):
        y = 5 + i * row_h
        filled = max(0.0, min(score, 1.0)) * bar_w
        body.append(_text(label_w - 8, y + 19, label, anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="18" fill="#e6ebef"/>')
        body.append(
            f'<rect x="{label_w}" y="{y + 5}" width="{filled:.1f}" height="18" '
            f'fill="{score_colour(score)}"/>'
        )
        body.append(
            _text(width - 4, y + 19, f"{round(score * 100)}%", anchor="end", font_weight="bold")
        )
    return _svg(width, height, title, body)


def heat_map(grid: Sequence[Sequence[int]], title: str, levels: Sequence[Sequence[str]]) -> str:
    """A 5x5 grid, likelihood up the side and impact along the bottom, with counts in cells.

    `grid[l-1][i-1]` is the number of risks at likelihood l and impact i;
    `levels` names each cell's band (low, medium, high, critical) for its colour.
    """
    cell, left, top = 54, 64, 10
    size = cell * 5
    body: list[str] = []
    for likelihood in range(5, 0, -1):
        y = top + (5 - likelihood) * cell
        body.append(_text(left - 8, y + cell / 2 + 4, str(likelihood), anchor="end"))
        for impact in range(1, 6):
            x = left + (impact - 1) * cell
            level = levels[likelihood - 1][impact - 1]
            count = grid[likelihood - 1][impact - 1]
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="{LEVEL_FILL[level]}" stroke="#ffffff" stroke-width="2"/>'
            )
            if count:
                body.append(
                    f'<circle cx="{x + cell / 2}" cy="{y + cell / 2}" r="15" fill="#1b2a35"/>'
                )
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2 + 5,
                        str(count),
                        size=14,
                        anchor="middle",
                        fill="#ffffff",
                    )
                )
    for impact in range(1, 6):
        body.append(
            _text(left + (impact - 0.5) * cell, top + size + 16, str(impact), anchor="middle")
        )
    body.append(
        _text(left + size / 2, top + size + 34, "Impact", anchor="middle", font_weight="bold")
    )
    body.append(
        f'<text x="16" y="{top + size / 2:.1f}" font-size="12" font-weight="bold" '
        f'text-anchor="middle" transform="rotate(-90 16 {top + size / 2:.1f})">Likelihood</text>'
    )
    return _svg(left + size + 10, top + size + 44, title, body)


def trend(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    width: int = 560,
    plot_h: int = 170,
) -> str:
    """Lines on a 0-100% scale: a point per completed assessment, a line per series."""
    left, right, top, bottom = 44, 24, 12, 58
    plot_w = width - left - right
    columns = max(1, plot_w // 140)
    height = top + plot_h + bottom + 18 * ((len(series) + columns - 1) // columns)
    body: list[str] = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d9e0e5"/>'
        )
        body.append(_text(left - 6, y + 4, f"{pct}%", size=10, anchor="end"))
    step = plot_w / max(len(labels) - 1, 1)
    xs = [left + (i * step if len(labels) > 1 else plot_w / 2) for i in range(len(labels))]
    last = len(xs) - 1
    for i, (x, label) in enumerate(zip(xs, labels, strict=True)):
        anchor = "middle" if last == 0 else "start" if i == 0 else "end" if i == last else "middle"
        body.append(_text(x, top + plot_h + 16, label, size=10, anchor=anchor))
    for index, (name, values) in enumerate(series):
        colour = SERIES[index % len(SERIES)]
        points = [
            (x, top + plot_h * (1 - v)) for x, v in zip(xs, values, strict=True) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
            )
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in points)
        lx = left + (index % columns) * (plot_w / columns)
        ly = top + plot_h + 38 + 18 * (index // columns)
        body.append(f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="12" height="12" fill="{colour}"/>')
        body.append(_text(lx + 17, ly + 1, name, size=11))
    return _svg(width, height, title, body)


def cost_spread(
    bins: Sequence[tuple[float, int]],
    markers: Sequence[tuple[str, float]],
    title: str,
    width: int = 560,
) -> str:
    """A histogram of simulated breach costs with the percentile markers drawn over it."""
    left, top, plot_h, bottom = 10, 30, 140, 30
    plot_w = width - 2 * left
    if not bins:
        return _svg(width, top + plot_h + bottom, title, [])
    peak = max(count for _, count in bins) or 1
    bin_w = plot_w / len(bins)
    span = bins[-1][0] + (bins[1][0] - bins[0][0] if len(bins) > 1 else 1.0)
    body: list[str] = []
    for i, (_, count) in enumerate(bins):
        h = plot_h * count / peak
        body.append(
            f'<rect x="{left + i * bin_w + 1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{bin_w - 2:.1f}" height="{h:.1f}" fill="#9cb8cc"/>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#4d4d4d"/>'
    )
    for i, (label, value) in enumerate(markers):
        x = left + plot_w * min(value / span, 1.0)
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}" '
            f'stroke="#1b2a35" stroke-width="2" stroke-dasharray="4 3"/>'
        )
        body.append(
            _text(x, top - 8 - (i % 2) * 12, label, size=11, anchor="middle", font_weight="bold")
        )
    body.append(_text(left, top + plot_h + 18, "$0", size=10))
    body.append(_text(left + plot_w, top + plot_h + 18, money(span) + "+", size=10, anchor="end"))
    return _svg(width, top + plot_h + bottom, title, body)


def money(amount: float) -> str:
    """$1.2M, $350k, $900 - short enough for charts and the board page."""
    if amount >= 1_000_000:
        return f"${amount / 1_000_000:.1f}M"
    if amount >= 1_000:
        return f"${amount / 1_000:.0f}k"
    return f"${amount:.0f}"
