"""The plan, the breach-cost figures, the evidence Carewall measures, and the report itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from carewall.core.clock import utcnow
from carewall.core.errors import CarewallError, ValidationError
from carewall.risk import Providers, collect, queries, services
from carewall.risk.catalogue import catalogue
from carewall.risk.costs import cost_model
from carewall.risk.report import InsuranceReport, build_report, cost_page
from carewall.risk.rules import rulebook
from carewall.risk.workspace import open_view
from carewall.web.auth import Caller, RuntimeDep, runtime_of
from carewall.web.reports import render_html, render_pdf
from carewall.web.routes.risk.common import Editor, Evidence, Reader, back, editing
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
AssessmentId = Annotated[str | None, Query(max_length=36)]


@router.get("/risk/plan", response_class=HTMLResponse)
def plan_page(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence
) -> Response:
    """Every gap of the current assessment, ranked by risk reduction per effort."""
    with runtime.db.sessions() as session:
        chosen = queries.current_draft(session) or queries.latest_completed(session)
    view = open_view(runtime, providers, chosen.id if chosen else None)
    context = {"view": view, "summary": view.summary, "catalogue": catalogue()}
    return render(request, "risk/plan.html", context)


@router.get("/risk/costs", response_class=HTMLResponse)
def costs_page(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence
) -> Response:
    """The breach-cost estimate, its figures and sources; the security officer edits them."""
    page = cost_page(runtime, providers)
    return render(request, "risk/costs.html", {"page": page, "can_edit": editing(caller)})


Figures = dict[str, tuple[float, float, float] | None]


def _figures_from(form: dict[str, str]) -> Figures:
    """Each figure from the form's `KEY.low|mode|high` fields: three numbers, or None (cited)."""
    figures: Figures = {}
    for figure in cost_model().figures:
        raw = [form.get(f"{figure.key}.{part}", "").strip() for part in ("low", "mode", "high")]
        if not any(raw) or form.get(f"{figure.key}.reset") == "on":
            figures[figure.key] = None
            continue
        try:
            low, mode, high = (float(v.replace(",", "").replace("$", "")) for v in raw)
        except ValueError as exc:
            raise ValidationError(f"{figure.label}: give all three numbers, or none.") from exc
        figures[figure.key] = (low, mode, high)
    return figures


@router.post("/risk/costs")
async def save_costs(request: Request, runtime: RuntimeDep, caller: Editor) -> Response:
    """Store the practice's own figures (only those that differ from what the form showed)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        figures = _figures_from(form)
        note = form.get("note", "")[:500]
        await run_in_threadpool(services.set_cost_figures, runtime, caller, figures, note=note)
    except CarewallError as exc:
        return back(request, "/risk/costs", exc.message, "error")
    return back(request, "/risk/costs", "Figures saved; the estimate below uses them.")


@router.get("/risk/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence
) -> Response:
    """Every evidence section: status, when measured, the figures, and the questions it answers."""
    found = collect(runtime, providers)
    book, rules = catalogue(), rulebook()
    answers_by_section: dict[str, list[str]] = {}
    for rule in rules.rules.values():
        for section in {c.section for c in rule.checks}:
            answers_by_section.setdefault(section, []).append(rule.question)
    context = {
        "evidence": found,
        "specs": {s.id: s for s in rules.sections},
        "auto": found.auto_answers(),
        "answers_by_section": answers_by_section,
        "catalogue": book,
    }
    return render(request, "risk/evidence.html", context)


def _report(
    request: Request, caller: Caller, providers: Providers, assessment: str | None, fmt: str
) -> InsuranceReport:
    """Build the report and audit that it was produced (with its fingerprint)."""
    runtime = runtime_of(request)
    report = build_report(runtime, providers, assessment)
    summary = report.view.summary
    assessment_id = summary.id if summary else None
    services.record_report(runtime, caller, fmt, assessment_id, report.fingerprint)
    return report


def _download(body: bytes | str, media_type: str, kind: str) -> Response:
    name = f"carewall-insurance-report-{utcnow():%Y-%m-%d}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/risk/report", response_class=HTMLResponse)
def report_page(
    request: Request, caller: Reader, providers: Evidence, assessment: AssessmentId = None
) -> Response:
    """The report in the browser (print it, or download the PDF)."""
    report = _report(request, caller, providers, assessment, "page")
    return HTMLResponse(render_html(report, standalone=False))


@router.get("/risk/report.pdf")
def report_pdf(
    request: Request, caller: Reader, providers: Evidence, assessment: AssessmentId = None
) -> Response:
    """The report as PDF, for the insurer and the board."""
    report = _report(request, caller, providers, assessment, "pdf")
    return _download(render_pdf(report), "application/pdf", "pdf")


@router.get("/risk/report.html")
def report_file(
    request: Request, caller: Reader, providers: Evidence, assessment: AssessmentId = None
) -> Response:
    """The report as one self-contained HTML file."""
    report = _report(request, caller, providers, assessment, "html")
    return _download(render_html(report, standalone=True), "text/html; charset=utf-8", "html")
