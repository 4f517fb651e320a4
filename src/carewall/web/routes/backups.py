"""`/admin/backups`: backup health at a glance, snapshots, drills, and "do it now" buttons.

The page reads Carewall's own record of the repository (never the repository
itself), so it opens at once even when the repository is offline. "Back up
now", "Run a drill now" and "Verify now" queue the work for the job runner
and come back straight away.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.backup import RESTIC_INSTALL_HINT
from carewall.backup.queries import BackupStatus, SnapshotView, status
from carewall.backup.schedule import request_backup, request_drill, request_verify
from carewall.core.clock import utcnow
from carewall.core.errors import CarewallError
from carewall.identity import Role
from carewall.web.auth import Caller, RuntimeDep, require, runtime_of
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
PAGE = "/admin/backups"
_CHART_W, _CHART_H, _CHART_BARS = 600, 120, 30


@dataclass(frozen=True)
class Bar:
    """One snapshot in the size chart: total height and the part that was new."""

    x: int
    width: int
    total_y: int
    total_h: int
    added_y: int
    added_h: int
    label: str


def backup_status(request: Request) -> BackupStatus:
    """The backup picture for this server."""
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        return status(session, runtime.settings, utcnow())


def home_panel(request: Request) -> Mapping[str, Any]:
    """The admin home's backup panel."""
    return {"backup": backup_status(request), "ago": ago}


@router.get(PAGE, response_class=HTMLResponse)
def backups_page(request: Request, _caller: Admin) -> Response:
    """Health, schedule, last verification and drill, snapshots with sizes, recent runs."""
    current = backup_status(request)
    context = {
        "backup": current,
        "bars": size_bars(current.snapshots),
        "chart": {"width": _CHART_W, "height": _CHART_H},
        "install_hint": RESTIC_INSTALL_HINT,
        "size": human_size,
        "ago": ago,
    }
    return render(request, "backups/page.html", context)


@router.post(f"{PAGE}/create", response_class=HTMLResponse)
def back_up_now(request: Request, runtime: RuntimeDep, caller: Admin) -> Response:
    """Queue a backup now."""
    return _queued(request, lambda: request_backup(runtime, caller), "Backup started")


@router.post(f"{PAGE}/drill", response_class=HTMLResponse)
def drill_now(request: Request, runtime: RuntimeDep, caller: Admin) -> Response:
    """Queue a restore drill now."""
    return _queued(request, lambda: request_drill(runtime, caller), "Restore drill started")


@router.post(f"{PAGE}/verify", response_class=HTMLResponse)
def verify_now(
    request: Request, runtime: RuntimeDep, caller: Admin, full: Annotated[str | None, Form()] = None
) -> Response:
    """Queue a repository check now (`full`: read every byte of the repository)."""
    deep = full == "on"
    label = "Full verification started" if deep else "Verification started"
    return _queued(request, lambda: request_verify(runtime, caller, full=deep), label)


def _queued(request: Request, work: Callable[[], None], started: str) -> Response:
    response = RedirectResponse(PAGE, status_code=303)
    try:
        work()
    except CarewallError as exc:
        flash(request, response, exc.message, "error")
    else:
        message = f"{started}: it runs in the background; reload in a moment."
        flash(request, response, message, "success")
    return response


def size_bars(snapshots: list[SnapshotView]) -> list[Bar]:
    """The newest snapshots, oldest on the left, as bars scaled to the biggest."""
    shown = [s for s in reversed(snapshots[:_CHART_BARS]) if s.size_bytes is not None]
    if not shown:
        return []
    biggest = max(s.size_bytes or 0 for s in shown) or 1
    width = _CHART_W // max(len(shown), 8)
    bars = []
    for index, snap in enumerate(shown):
        total = round((snap.size_bytes or 0) / biggest * (_CHART_H - 4))
        added = min(total, round((snap.added_bytes or 0) / biggest * (_CHART_H - 4)))
        label = f"{snap.taken_at:%Y-%m-%d %H:%M}: {human_size(snap.size_bytes)}"
        if snap.added_bytes is not None:
            label += f", {human_size(snap.added_bytes)} new"
        bars.append(
            Bar(
                x=index * width + 2,
                width=max(width - 4, 2),
                total_y=_CHART_H - total,
                total_h=total,
                added_y=_CHART_H - added,
                added_h=added,
                label=label,
            )
        )
    return bars


def human_size(size: int | None) -> str:
    """1.4 MiB, 320 KiB, 12 B; an em dash when unknown."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'3 hours ago' for people; 'never' when there is no moment."""
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - moment).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
