"""Answering an assessment: the overview, a section's questions, answers, attachments, completion.

Each question saves on its own (save and resume: nothing is lost between
visits); every save is a new version. Measured answers show their figures,
dates and sources; replacing one needs a reason. URLs carry assessment and
question ids only.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from carewall.core.errors import CarewallError
from carewall.risk import queries, services
from carewall.risk.catalogue import SIZES, catalogue
from carewall.risk.report import build_report
from carewall.risk.rules import rulebook
from carewall.risk.services import AnswerInput
from carewall.risk.workspace import compare, open_view
from carewall.web.auth import RuntimeDep
from carewall.web.routes.risk.common import Editor, Evidence, Reader, back, editing
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
BASE = "/risk/assessments"


@router.get("/risk", response_class=HTMLResponse)
def dashboard(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence
) -> Response:
    """Where things stand: grade, coverage, risks, trend, the draft's progress, history."""
    with runtime.db.sessions() as session:
        history = queries.assessments(session)
        draft = queries.current_draft(session)
    report = build_report(runtime, providers, draft.id if draft else None)
    context = {
        "report": report,
        "history": history,
        "draft": draft,
        "can_edit": editing(caller),
        "sizes": SIZES,
    }
    return render(request, "risk/dashboard.html", context)


@router.post(BASE)
def start(
    request: Request,
    runtime: RuntimeDep,
    caller: Editor,
    title: Annotated[str, Form(max_length=400)] = "",
    org_size: Annotated[str, Form(max_length=16)] = "small",
) -> Response:
    """Open a new draft (people's answers from the last assessment come along to confirm)."""
    try:
        assessment_id = services.start_assessment(runtime, caller, title=title, org_size=org_size)
    except CarewallError as exc:
        return back(request, "/risk", exc.message, "error")
    return back(
        request,
        f"{BASE}/{assessment_id}",
        "Assessment started. Answer a section at a time; every answer is saved as you go.",
    )


@router.get(BASE + "/{assessment_id}", response_class=HTMLResponse)
def overview(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence, assessment_id: str
) -> Response:
    """Sections with their progress, the scores so far, and completion."""
    view = open_view(runtime, providers, assessment_id)
    assert view.summary is not None
    context = {
        "view": view,
        "summary": view.summary,
        "can_edit": editing(caller, not view.summary.completed),
        "catalogue": catalogue(),
        "stale": [e for e in view.answers.values() if e.stale],
        "overrides": [e for e in view.answers.values() if e.source == "override"],
    }
    return render(request, "risk/assessment.html", context)


@router.get(BASE + "/{assessment_id}/sections/{section_id}", response_class=HTMLResponse)
def section_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Reader,
    providers: Evidence,
    assessment_id: str,
    section_id: str,
) -> Response:
    """One section's questions: measured figures, answers, reasons, owners, notes, files."""
    book = catalogue()
    section = book.section(section_id)
    view = open_view(runtime, providers, assessment_id)
    assert view.summary is not None
    with runtime.db.sessions() as session:
        versions = queries.answer_versions(session, assessment_id)
        files = queries.attachments(session, assessment_id)
    ids = [s.id for s in view.progress]
    position = ids.index(section.id) if section.id in ids else 0
    context = {
        "view": view,
        "summary": view.summary,
        "section": section,
        "control": book.controls.get(section.control or ""),
        "answers": [view.answers[q.id] for q in book.questions_in(section, view.org_size)],
        "versions": versions,
        "files": files,
        "measured": set(rulebook().rules),
        "can_edit": editing(caller, not view.summary.completed),
        "catalogue": book,
        "previous_section": view.progress[position - 1] if position > 0 else None,
        "next_section": view.progress[position + 1] if position + 1 < len(ids) else None,
        "max_upload": runtime.settings.risk_attachment_max_bytes,
    }
    return render(request, "risk/section.html", context)


@router.post(BASE + "/{assessment_id}/answers/{question_id}")
def save_answer(
    request: Request,
    runtime: RuntimeDep,
    caller: Editor,
    providers: Evidence,
    assessment_id: str,
    question_id: str,
    value: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    owner: Annotated[str, Form(max_length=300)] = "",
    note: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Store a new version of one answer, then back to the question."""
    question = catalogue().questions.get(question_id)
    target = f"{BASE}/{assessment_id}"
    if question is not None:
        target += f"/sections/{question.section}#q-{question_id}"
    given = AnswerInput(value=value, reason=reason, note=note, owner=owner)
    try:
        services.save_answer(runtime, caller, providers, assessment_id, question_id, given)
    except CarewallError as exc:
        return back(request, target, exc.message, "error")
    return back(request, target, "Answer saved.")


@router.post(BASE + "/{assessment_id}/attachments/{question_id}")
def upload(
    request: Request,
    runtime: RuntimeDep,
    caller: Editor,
    assessment_id: str,
    question_id: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Attach an evidence file to a question (encrypted, hashed, versioned by name)."""
    question = catalogue().questions.get(question_id)
    target = f"{BASE}/{assessment_id}" + (
        f"/sections/{question.section}#q-{question_id}" if question else ""
    )
    data = file.file.read(runtime.settings.risk_attachment_max_bytes + 1)
    try:
        info = services.add_attachment(
            runtime,
            caller,
            assessment_id,
            question_id,
            filename=file.filename or "attachment",
            content_type=file.content_type or "application/octet-stream",
            data=data,
        )
    except CarewallError as exc:
        return back(request, target, exc.message, "error")
    return back(request, target, f"{info.filename} attached (version {info.version}).")


@router.get("/risk/attachments/{attachment_id}")
def download(request: Request, runtime: RuntimeDep, caller: Reader, attachment_id: str) -> Response:
    """An attachment's bytes, as a download (never rendered inline); the download is audited."""
    info, data = services.attachment_for(runtime, caller, attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(info.filename)}"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition, "X-Content-SHA256": info.sha256},
    )


@router.post(BASE + "/{assessment_id}/complete")
def complete(
    request: Request, runtime: RuntimeDep, caller: Editor, providers: Evidence, assessment_id: str
) -> Response:
    """Freeze the assessment as a dated snapshot."""
    try:
        view = services.complete_assessment(runtime, caller, providers, assessment_id)
    except CarewallError as exc:
        return back(request, f"{BASE}/{assessment_id}", exc.message, "error")
    grade = view.readiness.grade
    return back(
        request,
        f"{BASE}/{assessment_id}",
        f"Assessment completed: grade {grade}. The report now uses it.",
    )


@router.get(BASE + "/{assessment_id}/compare", response_class=HTMLResponse)
def comparison(
    request: Request, runtime: RuntimeDep, caller: Reader, providers: Evidence, assessment_id: str
) -> Response:
    """This assessment against the one completed before it."""
    view = open_view(runtime, providers, assessment_id)
    assert view.summary is not None
    found = None
    if view.summary.previous_id:
        found = compare(view, open_view(runtime, providers, view.summary.previous_id))
    context = {"view": view, "summary": view.summary, "comparison": found, "catalogue": catalogue()}
    return render(request, "risk/compare.html", context)
