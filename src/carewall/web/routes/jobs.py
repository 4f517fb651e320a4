"""`/admin/jobs`: what the job runner did, what failed, and a button to run a job now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.clock import utcnow
from carewall.core.errors import CarewallError
from carewall.identity import Role
from carewall.jobs import job_statuses, new_worker_id, recent_runs, run_now, task_counts
from carewall.web.auth import Caller, RuntimeDep, require
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
JOBS = "/admin/jobs"


@router.get(JOBS, response_class=HTMLResponse)
def jobs_page(request: Request, runtime: RuntimeDep, _caller: Admin) -> Response:
    """Each job's schedule and last outcome, queued work, and the latest runs."""
    with runtime.db.sessions() as session:
        statuses = job_statuses(session, request.app.state.jobs, runtime.settings, utcnow())
        counts = task_counts(session)
        runs = recent_runs(session, limit=30)
    context = {"statuses": statuses, "counts": counts, "runs": runs}
    return render(request, "admin/jobs.html", context)


@router.post(JOBS, response_class=HTMLResponse)
def run_job(
    request: Request, runtime: RuntimeDep, caller: Admin, name: Annotated[str, Form()]
) -> Response:
    """Run one job now (it runs in this request; jobs are short)."""
    registry = request.app.state.jobs
    try:
        result = run_now(runtime, registry, name, worker=new_worker_id(), requested_by=caller)
    except CarewallError as exc:
        message, level = exc.message, "error"
    else:
        outcome = result.summary or "nothing to do" if result.ok else result.error or "failed"
        message = f"{name}: {outcome}"
        level = "success" if result.ok else "error"
    response = RedirectResponse(JOBS, status_code=303)
    flash(request, response, message or name, level)
    return response
