"""The insurance report as a document: HTML from a template, PDF from that HTML (WeasyPrint).

Used by the `/risk/report*` pages and by `carewall report insurance`, so it
builds its own Jinja environment instead of the request-bound one. The HTML
file and the PDF carry their stylesheet inline (a file must stand alone); the
page shown inside Carewall links it instead (the CSP forbids inline styles).
WeasyPrint may fetch nothing but `data:` URIs: the report never reaches the
network, whatever text the assessment holds.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from carewall.risk.charts import money
from carewall.risk.report import ANSWER_LABELS, InsuranceReport
from carewall.risk.scoring import risk_level

STYLESHEET = "risk-report.css"


def percent(value: float | None) -> str:
    """0.734 -> "73%"; None -> "—"."""
    return "—" if value is None else f"{round(value * 100)}%"


def day(value: datetime | date | str | None) -> str:
    """A date as YYYY-MM-DD (ISO text is cut to its date)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value[:10]
    return f"{value:%Y-%m-%d}"


def answer_label(value: str) -> str:
    """yes -> "Yes", partial -> "Partly", na -> "Not applicable"."""
    return ANSWER_LABELS.get(value, value)


def signed(value: float) -> str:
    """A change in points: +12, -3, 0."""
    points = round(value * 100)
    return f"+{points}" if points > 0 else str(points)


def svg(markup: str) -> Markup:
    """Chart markup made (and escaped) by `carewall.risk.charts`."""
    return Markup(markup)  # noqa: S704 - every text node was escaped when the SVG was built


FILTERS: dict[str, Any] = {
    "percent": percent,
    "day": day,
    "answer": answer_label,
    "money": money,
    "signed": signed,
    "svg": svg,
    "level": risk_level,
}


def install_filters(env: Environment) -> None:
    """Give an environment (the pages' too) the filters the risk templates use."""
    env.filters.update(FILTERS)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("carewall.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_filters(env)
    return env


def stylesheet() -> str:
    """The report's print stylesheet."""
    return (files("carewall.web") / "static" / STYLESHEET).read_text(encoding="utf-8")


def render_html(report: InsuranceReport, *, standalone: bool = True) -> str:
    """The report as one HTML document (stylesheet inline when `standalone`)."""
    template = _environment().get_template("risk/report.html")
    return template.render(
        report=report,
        inline_css=stylesheet() if standalone else None,
        stylesheet_url=f"/static/{STYLESHEET}",
    )


def render_pdf(report: InsuranceReport) -> bytes:
    """The report as PDF: the standalone HTML laid out by WeasyPrint, no network access."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    document = HTML(string=render_html(report), base_url=None, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf()
    return pdf
