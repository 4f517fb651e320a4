"""Training pages: learners (`/training` or a personal link) and the admin (`/admin/training`).

Learners with a Carewall login use `/training`; everyone else uses the
personal link they were mailed (`/training/l/<token>/...`), where the token is
the credential. Both resolve to a `Learner` through `training.access`, and
every assignment is fetched through its chokepoint, so nobody reaches
anyone else's training.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall import training
from carewall.core.errors import CarewallError, NotFoundError, ValidationError
from carewall.identity import Role, Stage
from carewall.training import Learner, queries
from carewall.training.directory import StaffInput, parse_date
from carewall.training.errors import LearnerLinkError
from carewall.training.learning import record_link_refusal
from carewall.web.auth import (
    STAFF,
    Caller,
    RuntimeDep,
    current_session,
    origin_of,
    require,
    runtime_of,
)
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Staff = Annotated[Caller, Depends(require(STAFF))]
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
FormStr = Annotated[str, Form()]
ADMIN = "/admin/training"
MAX_CSV_BYTES = 2 * 1024 * 1024
PUBLIC_ROUTES = {
    ("GET", "/training/l/{token}"),
    ("GET", "/training/l/{token}/m/{assignment_id}"),
    ("POST", "/training/l/{token}/m/{assignment_id}/quiz"),
    ("GET", "/training/l/{token}/q/{attempt_id}"),
    ("POST", "/training/l/{token}/q/{attempt_id}"),
    ("GET", "/training/l/{token}/m/{assignment_id}/certificate.pdf"),
}


def _back(request: Request, target: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, level)
    return response


def _signed_in(request: Request, caller: Caller) -> Learner | None:
    with runtime_of(request).db.sessions() as session:
        return training.learner_for_user(session, caller)


def _by_link(request: Request, token: str) -> Learner:
    # Audited as `learner-link`, then as `staff:<id>` once the link resolves; the
    # holder has no account and no role, and the link reaches only its own assignments.
    caller = Caller.link_holder("learner-link", origin_of(request))
    try:
        with runtime_of(request).db.sessions() as session:
            return training.learner_for_link(session, token, caller)
    except LearnerLinkError:
        record_link_refusal(runtime_of(request), caller)
        raise


def _home(request: Request, learner: Learner | None) -> Response:
    rows = []
    if learner is not None:
        with runtime_of(request).db.sessions() as session:
            rows = queries.assignments(session, member_id=learner.member_id)
    return render(request, "training/home.html", {"learner": learner, "rows": rows})


def _lesson(request: Request, learner: Learner, assignment_id: str) -> Response:
    with runtime_of(request).db.sessions() as session:
        rows = [
            r
            for r in queries.assignments(session, member_id=learner.member_id)
            if r.id == assignment_id
        ]
    if not rows:
        raise NotFoundError("There is no such assignment in your training.")
    row = rows[0]
    lesson = training.module(row.module_id)
    return render(
        request, "training/lesson.html", {"learner": learner, "row": row, "lesson": lesson}
    )


def _quiz(request: Request, learner: Learner, paper: Any) -> Response:
    return render(request, "training/quiz.html", {"learner": learner, "paper": paper})


def _start(request: Request, learner: Learner, assignment_id: str) -> Response:
    paper = training.start_quiz(runtime_of(request), learner, assignment_id)
    return RedirectResponse(f"{learner.base_path}/q/{paper.attempt_id}", status_code=303)


async def _submit(request: Request, learner: Learner, attempt_id: str) -> Response:
    form = await request.form()
    answers: dict[str, int | None] = {}
    for key, value in form.items():
        if key.startswith("q_") and isinstance(value, str):
            if not value.isdigit():
                raise ValidationError("Choose one of the answers offered.")
            answers[key[2:]] = int(value)
    result = training.submit_quiz(runtime_of(request), learner, attempt_id, answers)
    return render(request, "training/result.html", {"learner": learner, "result": result})


def _certificate(
    request: Request, learner: Learner | None, assignment_id: str, caller: Caller
) -> Response:
    pdf = training.certificate(runtime_of(request), learner, assignment_id, caller)
    headers = {"content-disposition": f'attachment; filename="certificate-{assignment_id[:8]}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _require_learner(learner: Learner | None) -> Learner:
    if learner is None:
        raise NotFoundError(
            "You are not in the staff directory yet; ask the security officer to add you."
        )
    return learner


# Learners with a login.
@router.get("/training", response_class=HTMLResponse)
def my_training(request: Request, caller: Staff) -> Response:
    """The signed-in person's assignments."""
    return _home(request, _signed_in(request, caller))


@router.get("/training/m/{assignment_id}", response_class=HTMLResponse)
def my_lesson(request: Request, caller: Staff, assignment_id: str) -> Response:
    """A module's lesson and the button to its quiz."""
    return _lesson(request, _require_learner(_signed_in(request, caller)), assignment_id)


@router.post("/training/m/{assignment_id}/quiz")
def my_quiz_start(request: Request, caller: Staff, assignment_id: str) -> Response:
    """Start an attempt (fresh questions from the bank)."""
    return _start(request, _require_learner(_signed_in(request, caller)), assignment_id)


@router.get("/training/q/{attempt_id}", response_class=HTMLResponse)
def my_quiz(request: Request, runtime: RuntimeDep, caller: Staff, attempt_id: str) -> Response:
    """An attempt's questions."""
    learner = _require_learner(_signed_in(request, caller))
    return _quiz(request, learner, training.open_paper(runtime, learner, attempt_id))


@router.post("/training/q/{attempt_id}", response_class=HTMLResponse)
async def my_quiz_submit(request: Request, caller: Staff, attempt_id: str) -> Response:
    """Mark an attempt and show what each answer should have been."""
    return await _submit(request, _require_learner(_signed_in(request, caller)), attempt_id)


@router.get("/training/m/{assignment_id}/certificate.pdf")
def my_certificate(request: Request, caller: Staff, assignment_id: str) -> Response:
    """The certificate of a passed module."""
    return _certificate(
        request, _require_learner(_signed_in(request, caller)), assignment_id, caller
    )


# Learners with a personal link (no login).
@router.get("/training/l/{token}", response_class=HTMLResponse)
def link_home(request: Request, token: str) -> Response:
    """A learner's assignments, reached by their personal link."""
    return _home(request, _by_link(request, token))


@router.get("/training/l/{token}/m/{assignment_id}", response_class=HTMLResponse)
def link_lesson(request: Request, token: str, assignment_id: str) -> Response:
    """A module's lesson (personal link)."""
    return _lesson(request, _by_link(request, token), assignment_id)


@router.post("/training/l/{token}/m/{assignment_id}/quiz")
def link_quiz_start(request: Request, token: str, assignment_id: str) -> Response:
    """Start an attempt (personal link)."""
    return _start(request, _by_link(request, token), assignment_id)


@router.get("/training/l/{token}/q/{attempt_id}", response_class=HTMLResponse)
def link_quiz(request: Request, runtime: RuntimeDep, token: str, attempt_id: str) -> Response:
    """An attempt's questions (personal link)."""
    learner = _by_link(request, token)
    return _quiz(request, learner, training.open_paper(runtime, learner, attempt_id))


@router.post("/training/l/{token}/q/{attempt_id}", response_class=HTMLResponse)
async def link_quiz_submit(request: Request, token: str, attempt_id: str) -> Response:
    """Mark an attempt (personal link)."""
    return await _submit(request, _by_link(request, token), attempt_id)


@router.get("/training/l/{token}/m/{assignment_id}/certificate.pdf")
def link_certificate(request: Request, token: str, assignment_id: str) -> Response:
    """The certificate of a passed module (personal link)."""
    learner = _by_link(request, token)
    return _certificate(request, learner, assignment_id, learner.caller)


# The administrator.
def _admin_context(request: Request) -> dict[str, Any]:
    with runtime_of(request).db.sessions() as session:
        rows = queries.assignments(session)
        return {
            "people": queries.directory(session),
            "groups": queries.groups(session),
            "departments": queries.departments(session),
            "by_module": queries.completion_by_module(rows),
            "by_department": queries.completion_by_department(rows),
            "by_group": queries.completion_by_group(session, rows),
            "by_person": queries.completion_by_person(rows),
            "overdue": [r for r in rows if r.overdue],
            "rows": rows,
            "modules": list(training.modules().values()),
            "evidence": queries.training_evidence(session),
        }


@router.get(ADMIN, response_class=HTMLResponse)
def admin_page(request: Request, _caller: Admin) -> Response:
    """The staff directory, groups, completion figures, overdue training and the forms."""
    return render(request, "training/admin.html", _admin_context(request))


def _guarded(request: Request, work: Callable[[], str]) -> Response:
    try:
        message = work()
    except CarewallError as exc:
        return _back(request, ADMIN, exc.message, "error")
    return _back(request, ADMIN, message)


@router.post(f"{ADMIN}/import")
def import_staff(
    request: Request, runtime: RuntimeDep, caller: Admin, file: Annotated[UploadFile, File()]
) -> Response:
    """Upsert people from a CSV file; refused rows are listed."""

    def work() -> str:
        raw = file.file.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise ValidationError("The file is larger than 2 MB.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text (save it as CSV UTF-8).") from None
        report = training.import_csv(runtime, caller, text)
        problems = "; ".join(f"line {e.line}: {e.message}" for e in report.errors[:10])
        summary = f"{report.created} added, {report.updated} updated, {len(report.errors)} refused."
        return f"{summary} {problems}".strip()

    return _guarded(request, work)


@router.post(f"{ADMIN}/staff")
def add_person(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    email: FormStr,
    name: FormStr = "",
    department: FormStr = "",
    role: FormStr = "",
    manager: FormStr = "",
    start_date: FormStr = "",
) -> Response:
    """Add or update one person by hand."""

    def work() -> str:
        data = StaffInput(email, name, department, role, manager, parse_date(start_date))
        training.add_member(runtime, caller, data)
        return f"{email.strip().lower()} is in the directory."

    return _guarded(request, work)


@router.post(f"{ADMIN}/sync")
def sync(request: Request, runtime: RuntimeDep, caller: Admin) -> Response:
    """Bring staff accounts into the directory."""

    def work() -> str:
        report = training.sync_accounts(runtime, caller)
        return f"{report.created} added from staff accounts."

    return _guarded(request, work)


@router.post(f"{ADMIN}/groups")
def add_group(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    name: FormStr,
    kind: FormStr,
    rule: FormStr = "",
) -> Response:
    """Create a group by department or role, or an empty hand-picked one."""

    def work() -> str:
        training.create_group(runtime, caller, name, kind, rule)
        return f"Group {name.strip()!r} created."

    return _guarded(request, work)


@router.post(f"{ADMIN}/groups/{{group_id}}/members")
def group_members(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    group_id: str,
    member_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Set a hand-picked group's members."""

    def work() -> str:
        size = training.set_members(runtime, caller, group_id, member_ids or [])
        return f"The group now has {size} people."

    return _guarded(request, work)


@router.post(f"{ADMIN}/assign")
def assign(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    module_id: FormStr,
    group: FormStr,
    due_days: FormStr = "",
) -> Response:
    """Assign a module to a group, department or role (or everyone)."""

    def work() -> str:
        with runtime.db.sessions() as session:
            ids = [m.id for m in training.members_named(session, group)]
        days = int(due_days) if due_days.strip().isdigit() else None
        made = training.assign(runtime, caller, ids, module_id, due_days=days)
        return f"Assigned to {made} person(s); {len(ids) - made} had it open already."

    return _guarded(request, work)


@router.post(f"{ADMIN}/staff/{{member_id}}/link")
def learner_link(request: Request, runtime: RuntimeDep, caller: Admin, member_id: str) -> Response:
    """A new personal training link for someone without a login (shown once, also mailed)."""

    def work() -> str:
        url = training.new_learner_link(runtime, caller, member_id)
        mailed = training.mail_training(
            runtime,
            caller,
            member_id,
            "Your security training",
            "Your security training is waiting for you.",
        )
        return f"Personal link{' (also mailed)' if mailed else ''}: {url}"

    return _guarded(request, work)


@router.get(f"{ADMIN}/export.csv")
def export(request: Request, runtime: RuntimeDep, _caller: Admin) -> Response:
    """Every assignment as CSV."""
    with runtime.db.sessions() as session:
        rows = queries.assignments(session)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "email",
            "name",
            "department",
            "module",
            "reason",
            "status",
            "assigned",
            "due",
            "completed",
            "score",
            "overdue",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.email,
                _safe(r.name),
                _safe(r.department),
                r.module_id,
                r.reason,
                r.status,
                r.assigned_at.date().isoformat(),
                r.due_at.date().isoformat(),
                r.completed_at.date().isoformat() if r.completed_at else "",
                r.best_score if r.best_score is not None else "",
                "yes" if r.overdue else "",
            ]
        )
    headers = {"content-disposition": 'attachment; filename="training.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@router.get(f"{ADMIN}/assignments/{{assignment_id}}/certificate.pdf")
def admin_certificate(request: Request, caller: Admin, assignment_id: str) -> Response:
    """Any passed assignment's certificate."""
    return _certificate(request, None, assignment_id, caller)


def home_panel(request: Request) -> Mapping[str, Any]:
    """The home page's panel: the signed-in staff member's unfinished training (if they
    are in the staff directory)."""
    active = current_session(request)
    if active is None or active.stage is not Stage.FULL or not active.role.is_staff:
        return {"rows": []}
    with runtime_of(request).db.sessions() as session:
        member = queries.member_by_email(session, active.user.email)
        if member is None:
            return {"rows": []}
        rows = queries.assignments(session, member_id=member.id)
    return {"rows": [row for row in rows if row.status == "assigned"]}
