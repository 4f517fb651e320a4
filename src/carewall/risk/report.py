"""What the insurance report says, ready for a template: board page, insurer packet, appendices.

The report is built from the latest completed assessment (a dated snapshot),
or from the draft in progress (marked as a draft), or, before any assessment,
from what the evidence alone answers. Charts are SVG text made here. The
report carries a fingerprint (SHA-256 of its evidence and answers) that is
also written to the audit trail when the report is generated, and the hash of
the latest signed audit checkpoint when the audit module provides one, so an
insurer can check later that the figures were not invented afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from carewall.identity.queries import display_names
from carewall.risk import charts, queries
from carewall.risk.catalogue import Catalogue, Control, Section, catalogue
from carewall.risk.costs import (
    CostEstimate,
    CostModel,
    Figure,
    cost_model,
    effective_figures,
    simulate,
)
from carewall.risk.evidence import Providers, collect
from carewall.risk.queries import AttachmentInfo, RiskView
from carewall.risk.rules import lookup, rulebook
from carewall.risk.scoring import ControlScore, heat_counts, risk_level
from carewall.risk.workspace import (
    AssessmentView,
    Comparison,
    Effective,
    TrendPoint,
    compare,
    open_view,
    trend,
)

ANSWER_LABELS = {
    "yes": "Yes",
    "partial": "Partly",
    "no": "No",
    "na": "Not applicable",
    "unknown": "Not answered",
}
TOOLING = {"cli": "the Carewall command line", "demo": "the demo set-up", "system": "Carewall"}
LEVELS = [[risk_level(li * im) for im in range(1, 6)] for li in range(1, 6)]


# The figures on the board page: (question, label). Each shows the deciding
# figures of that question's evidence rule, or "not measured yet".
KEY_FIGURES = (
    ("mfa-staff", "Staff with a second factor"),
    ("mfa-privileged", "Administrators with a second factor"),
    ("train-phishing", "Phishing simulations"),
    ("train-awareness", "Security training"),
    ("backup-regular", "Last successful backup"),
    ("backup-tested", "Last restore drill"),
    ("log-audit-trail", "Audit trail verification"),
    ("log-monitoring", "Open security alerts"),
)


@dataclass(frozen=True)
class KeyFigure:
    """A measured figure for the board page, with its date and what it says."""

    question: str
    label: str
    figure: str
    as_of: str | None
    answer: str
    stale: bool


@dataclass(frozen=True)
class EvidenceLine:
    """One evidence section's state, for the report's evidence table."""

    id: str
    title: str
    status: str
    as_of: str | None
    link: str


@dataclass(frozen=True)
class PacketControl:
    """An insurer key control with its questions' answers and evidence."""

    control: Control
    score: ControlScore
    answers: list[Effective]


@dataclass(frozen=True)
class AppendixSection:
    """A section of the full assessment as the appendix lists it."""

    section: Section
    answers: list[Effective]


@dataclass(frozen=True)
class InsuranceReport:
    """Everything the report template shows."""

    practice: str
    generated_at: datetime
    view: AssessmentView
    catalogue: Catalogue
    comparison: Comparison | None
    trend: list[TrendPoint]
    packet: list[PacketControl]
    appendix: list[AppendixSection]
    attachments: Mapping[str, list[AttachmentInfo]]
    top_risks: list[RiskView]
    costs: CostEstimate
    evidence_lines: list[EvidenceLine]
    checkpoint: Mapping[str, Any] | None
    audit: Mapping[str, Any]
    fingerprint: str
    charts: Mapping[str, str]
    key_figures: list[KeyFigure]
    cost_model: CostModel
    people: Mapping[str, str]

    @property
    def draft(self) -> bool:
        """True unless the report comes from a completed assessment."""
        summary = self.view.summary
        return summary is None or not summary.completed

    @property
    def title(self) -> str:
        """The assessment's title, or what the report is built from."""
        summary = self.view.summary
        return summary.title if summary else "Evidence-only readiness report (no assessment yet)"


def build_report(
    runtime: Runtime, providers: Providers, assessment_id: str | None = None
) -> InsuranceReport:
    """The report for one assessment, by default the latest completed one (else the draft)."""
    with runtime.db.sessions() as session:
        if assessment_id is None:
            chosen = queries.latest_completed(session) or queries.current_draft(session)
            assessment_id = chosen.id if chosen else None
        summary = None if assessment_id is None else queries.assessment(session, assessment_id)
        files = [] if summary is None else queries.attachments(session, summary.id)
        practice = queries.cost_overrides(session)
        frozen = queries.snapshot(session, summary.id) if summary and summary.completed else None
        people = display_names(session)
    view = open_view(runtime, providers, assessment_id)
    comparison = _comparison(runtime, providers, view)
    costs = _costs(view, practice, frozen)
    points = trend(runtime)
    latest: dict[str, list[AttachmentInfo]] = {}
    for info in files:
        latest.setdefault(info.question_id, []).append(info)
    audit = dict(view.evidence.sections.get("audit") or {})
    checkpoint = audit.get("checkpoint") if isinstance(audit.get("checkpoint"), Mapping) else None
    return InsuranceReport(
        practice=runtime.settings.practice_name,
        generated_at=utcnow(),
        view=view,
        catalogue=catalogue(),
        comparison=comparison,
        trend=points,
        packet=_packet(view),
        appendix=_appendix(view),
        attachments=latest,
        top_risks=[r for r in view.risks if r.is_open][:5],
        costs=costs,
        evidence_lines=_evidence_lines(view),
        checkpoint=checkpoint,
        audit=audit,
        fingerprint=fingerprint(view),
        charts=_charts(view, points, costs),
        key_figures=_key_figures(view),
        cost_model=cost_model(),
        people={**TOOLING, **people},
    )


def _key_figures(view: AssessmentView) -> list[KeyFigure]:
    """The board page's measured figures, from the answers' evidence (frozen or live)."""
    live = view.evidence.auto_answers()
    found = []
    for question, label in KEY_FIGURES:
        effective = view.answers.get(question)
        auto = effective.auto if effective and effective.auto else live.get(question)
        if auto is None:
            continue
        deciding = [m for m in auto.measured if not m.info]
        measured = [m for m in deciding if m.as_of]
        figure = " · ".join(m.figure for m in deciding) if measured else "not measured yet"
        found.append(KeyFigure(question, label, figure, auto.as_of, auto.answer, auto.stale))
    return found


def _comparison(runtime: Runtime, providers: Providers, view: AssessmentView) -> Comparison | None:
    summary = view.summary
    if summary is None or summary.previous_id is None:
        return None
    previous = open_view(runtime, providers, summary.previous_id)
    return compare(view, previous)


def _costs(
    view: AssessmentView,
    practice: Mapping[str, tuple[float, float, float, str]],
    frozen: Mapping[str, Any] | None,
) -> CostEstimate:
    """The estimate frozen with a completed assessment (re-drawn: same seed), else from now."""
    figures = effective_figures(practice, view.evidence.sections)
    saved = ((frozen or {}).get("costs") or {}).get("figures")
    if isinstance(saved, Mapping):
        figures = tuple(_frozen_figure(f, saved.get(f.key)) for f in cost_model().figures)
    return simulate(figures)


def _frozen_figure(default: Figure, saved: Any) -> Figure:
    if not isinstance(saved, list) or len(saved) != 4:
        return default
    low, mode, high, origin = saved
    return replace(default, low=float(low), mode=float(mode), high=float(high), origin=str(origin))


def _packet(view: AssessmentView) -> list[PacketControl]:
    book = catalogue()
    scores = {c.control.id: c for c in view.readiness.controls}
    return [
        PacketControl(
            control=control,
            score=scores[control.id],
            answers=[view.answers[q] for q in control.question_ids if q in view.answers],
        )
        for control in book.controls.values()
    ]


def _appendix(view: AssessmentView) -> list[AppendixSection]:
    """The sections beyond the insurer's key controls (those are in the packet)."""
    book = catalogue()
    return [
        AppendixSection(
            section, [view.answers[q] for q in section.question_ids if q in view.answers]
        )
        for section in book.sections
        if section.control is None and any(q in view.answers for q in section.question_ids)
    ]


def _evidence_lines(view: AssessmentView) -> list[EvidenceLine]:
    book = rulebook()
    lines = []
    for name, section in view.evidence.sections.items():
        spec = book.spec(name)
        lines.append(
            EvidenceLine(
                id=name,
                title=spec.title if spec else name.replace("_", " ").capitalize(),
                status=view.evidence.status(name),
                as_of=str(section.get("as_of")) if section.get("as_of") else None,
                link=spec.link if spec else "",
            )
        )
    return lines


def fingerprint(view: AssessmentView) -> str:
    """SHA-256 over the evidence and the answers as the report states them (canonical JSON)."""
    body = {
        "assessment": view.summary.id if view.summary else None,
        "evidence": view.evidence.as_json(),
        "answers": {qid: e.answer for qid, e in sorted(view.answers.items())},
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _charts(view: AssessmentView, points: list[TrendPoint], costs: CostEstimate) -> dict[str, str]:
    book = catalogue()
    rows = [(c.title, c.score) for c in view.coverage]
    rows.insert(0, ("Insurance readiness", view.readiness.score))
    made = {
        "coverage": charts.coverage_bars(rows, "Readiness and coverage per framework"),
        "controls": charts.coverage_bars(
            [(c.control.short, c.score) for c in view.readiness.controls],
            "Insurer key controls in place",
        ),
        **heat_maps(view.risks),
        "costs": charts.cost_spread(
            costs.histogram,
            [("P10", costs.p10), ("median", costs.p50), ("P90", costs.p90)],
            "Simulated cost of one breach",
        ),
    }
    if len(points) >= 2:
        series: list[tuple[str, list[float | None]]] = [
            ("Readiness", [p.readiness for p in points])
        ]
        series += [
            (book.frameworks[fid].short, [p.coverage.get(fid) for p in points])
            for fid in book.frameworks
        ]
        made["trend"] = charts.trend(
            [p.label for p in points], series, "Scores over time", width=400, plot_h=90
        )
    return made


@dataclass(frozen=True)
class CostPage:
    """The breach-cost estimate as of now, with its chart and the model's sources."""

    estimate: CostEstimate
    chart: str
    model: CostModel
    records_measured: bool


def cost_page(runtime: Runtime, providers: Providers) -> CostPage:
    """Simulate with the practice's figures and the vault's record count, now."""
    with runtime.db.sessions() as session:
        practice = queries.cost_overrides(session)
    evidence = collect(runtime, providers)
    estimate = simulate(effective_figures(practice, evidence.sections))
    chart = charts.cost_spread(
        estimate.histogram,
        [("P10", estimate.p10), ("median", estimate.p50), ("P90", estimate.p90)],
        "Simulated cost of one breach",
    )
    measured = any(f.origin == "evidence" for f in estimate.figures)
    return CostPage(estimate, chart, cost_model(), measured)


def heat_maps(risks: list[RiskView]) -> dict[str, str]:
    """The register's open risks on two 5x5 heat maps: before and after controls."""
    open_risks = [r for r in risks if r.is_open]
    return {
        "heat_inherent": charts.heat_map(
            heat_counts([(r.inherent_likelihood, r.inherent_impact) for r in open_risks]),
            "Open risks by inherent likelihood and impact",
            LEVELS,
        ),
        "heat_residual": charts.heat_map(
            heat_counts([(r.residual_likelihood, r.residual_impact) for r in open_risks]),
            "Open risks by residual likelihood and impact",
            LEVELS,
        ),
    }


def figure_of(report: InsuranceReport, section: str, path: str) -> Any:
    """A raw evidence figure for the template (dotted path)."""
    return lookup(report.view.evidence.sections.get(section) or {}, path)
