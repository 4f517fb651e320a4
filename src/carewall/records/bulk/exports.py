"""The lifecycle of a Bulk Data export: requested, run as a queued task, fetched, gone.

The kick-off decides and audits at once (`access.bulk.authorise_export`), then
queues the work in the transaction that records the request, so an export is
queued if and only if its request is on record. The task reads page by page as
the requester (rebuilt from the request: role, channel and origin), so the
matrix, compartments and restrictions apply as they would to that person's
searches; it writes sealed files of at most `FILE_RESOURCES` resources and one
completion entry naming every patient exported. Only the requester sees the
status and the files (anyone else: 404, as an export that does not exist).
Files expire `bulk_export_retention_minutes` after completion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record, record_about
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin
from carewall.core.db import new_id
from carewall.core.errors import CarewallError, NotFoundError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.jobs import JobContext, Task, enqueue
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.bulk import (
    Level,
    Scope,
    TypeFilter,
    authorise_export,
    export_page_for,
)
from carewall.records.bulk.files import ndjson, open_file, seal_file
from carewall.records.models import BulkExport, BulkExportFile
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

#: Resources decrypted per read transaction, and per output file at most.
PAGE = 200
FILE_RESOURCES = 1000
#: An export still unfinished this long after its request is failed by the sweep.
STALLED = timedelta(days=1)

QUEUED, RUNNING, COMPLETED = "queued", "running", "completed"
FAILED, CANCELLED, EXPIRED = "failed", "cancelled", "expired"


@dataclass(frozen=True)
class ExportRequest:
    """A validated kick-off: what to export, and the URL it was asked with (for the manifest)."""

    scope: Scope
    types: tuple[str, ...]
    request_url: str


@dataclass(frozen=True)
class OutputFile:
    """One file of a finished export, as the manifest lists it."""

    id: str
    resource_type: str
    count: int


@dataclass(frozen=True)
class ExportStatus:
    """What the status URL answers: still running, done (with files), or failed."""

    id: str
    status: str
    request_url: str
    transaction_time: datetime | None
    resources: int
    error: str
    files: list[OutputFile] = field(default_factory=list)


def start_export(
    runtime: Runtime, caller: Caller, request: ExportRequest, *, stepped_up: bool
) -> str:
    """Authorise, record and queue an export; the id of its status URL."""
    scope = request.scope
    allowed = authorise_export(runtime, caller, scope, request.types, stepped_up=stepped_up)
    export_id = new_id()
    with runtime.db.transaction() as session:
        session.add(_row(export_id, caller, request, allowed.types))
        enqueue(session, caller, EXPORT_TASK, {"export": export_id}, key=f"bulk:{export_id}")
        keys = RecordKeys.from_keystore(runtime.keys)
        part = patient_part(
            keys, [scope.patient_id] if scope.patient_id else [], otherwise=_subject(export_id)
        )
        details: dict[str, DetailValue] = {
            "export": export_id,
            "level": str(scope.level),
            "resource_types": list(request.types),
            "since": scope.since.isoformat() if scope.since else "",
            "type_filters": len(scope.filters),
            **part.details,
        }
        if scope.group_id is not None:
            details |= {"group": scope.group_id, "members": allowed.members or 0}
        record(session, AuditEvent.by(caller, RecordsTag.EXPORT_REQUESTED, part.subject, details))
    return export_id


def _row(export_id: str, caller: Caller, request: ExportRequest, types: list[str]) -> BulkExport:
    return BulkExport(
        id=export_id,
        user_id=caller.user_id or caller.ref,
        role=str(caller.role),
        session_id=caller.session_id,
        token_id=caller.token_id,
        origin_ip=caller.origin.ip[:64],
        origin_agent=caller.origin.user_agent[:300],
        level=str(request.scope.level),
        patient_id=request.scope.patient_id,
        group_id=request.scope.group_id,
        type_filter=_filters_json(request.scope.filters),
        types=",".join(types),
        since=request.scope.since,
        request_url=request.request_url[:2000],
        status=QUEUED,
        created_at=utcnow(),
    )


def _filters_json(filters: tuple[TypeFilter, ...]) -> str | None:
    """The `_typeFilter`s as the row keeps them (None: none)."""
    if not filters:
        return None
    return json.dumps([{"type": f.resource_type, "params": dict(f.params)} for f in filters])


def _scope_of(row: BulkExport) -> Scope:
    """The export's scope as it was decided at kick-off."""
    filters = tuple(
        TypeFilter(str(f["type"]), {str(k): [str(v) for v in vs] for k, vs in f["params"].items()})
        for f in json.loads(row.type_filter or "[]")
    )
    return Scope(Level(row.level), row.patient_id, row.since, row.group_id, filters)


def _subject(export_id: str) -> str:
    return f"bulk-export:{export_id}"


def _requester(row: BulkExport) -> Caller:
    """The requester as they asked: the export reads with their rights, in their name."""
    role = Role(row.role)
    return Caller.for_user(
        row.user_id,
        role,
        patient_id=row.patient_id if role is Role.PATIENT else None,
        origin=Origin(ip=row.origin_ip, user_agent=row.origin_agent),
        session_id=row.session_id,
        token_id=row.token_id,
    )


def run_export(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    """The queued task: read every type page by page, seal the files, audit completion.

    Idempotent: a retry starts the export over (its earlier files are deleted
    first). A refusal mid-way (a record restricted, a role changed) fails the
    export with the refusal's message; other errors are retried by the runner.
    """
    runtime, export_id = context.runtime, str(payload.get("export", ""))
    row = _begin(runtime, export_id)
    if row is None:
        return None
    requester = _requester(row)
    scope = _scope_of(row)
    types = [t for t in row.types.split(",") if t]
    try:
        written = _write_all(runtime, requester, scope, export_id, types)
    except CarewallError as refused:
        _fail(runtime, requester, export_id, refused.message)
        return f"bulk export {export_id} failed: {refused.code}"
    if written is None:
        return f"bulk export {export_id} cancelled while running"
    _complete(runtime, requester, row, written)
    patients = len(written.patients)
    return f"bulk export {export_id}: {written.count} resource(s) of {patients} patient(s)"


def _begin(runtime: Runtime, export_id: str) -> BulkExport | None:
    """Claim a queued (or interrupted) export and clear what an earlier attempt wrote."""
    with runtime.db.transaction() as session:
        row = session.get(BulkExport, export_id)
        if row is None or row.status not in {QUEUED, RUNNING}:
            return None
        session.execute(delete(BulkExportFile).where(BulkExportFile.export_id == export_id))
        row.status, row.transaction_time, row.resources = RUNNING, utcnow(), 0
        session.flush()
        session.expunge(row)
        return row


@dataclass
class _Written:
    count: int = 0
    files: int = 0
    patients: dict[str, str] = field(default_factory=dict)  # compartment ref -> Patient id
    types: set[str] = field(default_factory=set)


def _write_all(
    runtime: Runtime, requester: Caller, scope: Scope, export_id: str, types: list[str]
) -> _Written | None:
    """Every type in turn; None as soon as the export was cancelled."""
    written = _Written()
    for resource_type in types:
        if not _write_type(runtime, requester, scope, export_id, resource_type, written):
            return None
    return written


def _write_type(
    runtime: Runtime,
    requester: Caller,
    scope: Scope,
    export_id: str,
    resource_type: str,
    written: _Written,
) -> bool:
    """One type's files, `FILE_RESOURCES` resources each; False if cancelled meanwhile."""
    after: str | None = ""
    buffer: list[dict[str, Any]] = []
    part = 0
    while after is not None:
        page = export_page_for(
            runtime,
            requester,
            scope,
            resource_type,
            after=after,
            limit=PAGE,
            known=written.patients,
        )
        buffer += page.resources
        written.patients |= page.patients
        after = page.next_after
        while len(buffer) >= FILE_RESOURCES or (after is None and buffer):
            chunk, buffer = buffer[:FILE_RESOURCES], buffer[FILE_RESOURCES:]
            part += 1
            if not _store_file(runtime, export_id, resource_type, part, chunk):
                return False
            written.count += len(chunk)
            written.files += 1
            written.types.add(resource_type)
        if not _still_running(runtime, export_id):
            return False
    return True


def _store_file(
    runtime: Runtime, export_id: str, resource_type: str, part: int, chunk: list[dict[str, Any]]
) -> bool:
    """Seal and store one file, unless the export was cancelled meanwhile."""
    file_id = new_id()
    sealed = seal_file(runtime.keys, export_id, file_id, ndjson(chunk))
    with runtime.db.transaction() as session:
        row = session.get(BulkExport, export_id, with_for_update=True)
        if row is None or row.status != RUNNING:
            return False
        session.add(
            BulkExportFile(
                id=file_id,
                export_id=export_id,
                resource_type=resource_type,
                part=part,
                count=len(chunk),
                ciphertext=sealed,
            )
        )
        row.resources += len(chunk)
    return True


def _still_running(runtime: Runtime, export_id: str) -> bool:
    with runtime.db.sessions() as session:
        status = session.scalar(select(BulkExport.status).where(BulkExport.id == export_id))
    return status == RUNNING


def _complete(runtime: Runtime, requester: Caller, row: BulkExport, written: _Written) -> None:
    """Mark the export done, start its expiry clock, and audit what it exported."""
    now = utcnow()
    keys = RecordKeys.from_keystore(runtime.keys)
    part = patient_part(keys, sorted(written.patients.values()), otherwise=_subject(row.id))
    details: dict[str, DetailValue] = {
        "export": row.id,
        "level": row.level,
        "patients": len(written.patients),
        "count": written.count,
        "resource_types": sorted(written.types),
        "files": written.files,
        **part.details,
    }
    retention = timedelta(minutes=runtime.settings.bulk_export_retention_minutes)
    with runtime.db.transaction() as session:
        changed = session.execute(
            update(BulkExport)
            .where(BulkExport.id == row.id, BulkExport.status == RUNNING)
            .values(
                status=COMPLETED,
                completed_at=now,
                expires_at=now + retention,
                resources=written.count,
                patients=len(written.patients),
            )
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            return  # cancelled at the last moment: nothing was handed out
        event = AuditEvent.by(requester, RecordsTag.EXPORT_COMPLETED, part.subject, details)
        record_about(session, event, part.further)


def _fail(runtime: Runtime, requester: Caller, export_id: str, message: str) -> None:
    """Fail the export with the refusal's message, shown at its status URL until it expires."""
    retention = timedelta(minutes=runtime.settings.bulk_export_retention_minutes)
    with runtime.db.transaction() as session:
        session.execute(delete(BulkExportFile).where(BulkExportFile.export_id == export_id))
        session.execute(
            update(BulkExport)
            .where(BulkExport.id == export_id)
            .values(status=FAILED, error=message[:300], expires_at=utcnow() + retention)
        )
        details: dict[str, DetailValue] = {"export": export_id, "reason": message[:300]}
        event = AuditEvent.by(requester, RecordsTag.EXPORT_FAILED, _subject(export_id), details)
        record(session, event)


def _owned(session: Session, caller: Caller, export_id: str) -> BulkExport:
    """The caller's own export, still within its time; 404 for anyone else's or a gone one."""
    row = session.get(BulkExport, export_id)
    mine = row is not None and row.user_id == (caller.user_id or caller.ref)
    if row is None or not mine or row.status in {CANCELLED, EXPIRED}:
        raise NotFoundError("No such export (it may have expired or been cancelled).")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise NotFoundError("No such export (it may have expired or been cancelled).")
    return row


def export_status(runtime: Runtime, caller: Caller, export_id: str) -> ExportStatus:
    """Where the caller's export stands, with its files once complete."""
    with runtime.db.sessions() as session:
        row = _owned(session, caller, export_id)
        files = []
        if row.status == COMPLETED:
            found = session.execute(
                select(BulkExportFile.id, BulkExportFile.resource_type, BulkExportFile.count)
                .where(BulkExportFile.export_id == export_id)
                .order_by(BulkExportFile.resource_type, BulkExportFile.part)
            )
            files = [OutputFile(i, t, c) for i, t, c in found]
        return ExportStatus(
            row.id,
            row.status,
            row.request_url,
            row.transaction_time,
            row.resources,
            row.error,
            files,
        )


def cancel_export(runtime: Runtime, caller: Caller, export_id: str) -> None:
    """Cancel the caller's export (running or finished): its files are deleted at once."""
    with runtime.db.transaction() as session:
        row = _owned(session, caller, export_id)
        session.execute(delete(BulkExportFile).where(BulkExportFile.export_id == export_id))
        row.status = CANCELLED
        details: dict[str, DetailValue] = {"export": export_id}
        event = AuditEvent.by(caller, RecordsTag.EXPORT_CANCELLED, _subject(export_id), details)
        record(session, event)


def download_file(runtime: Runtime, caller: Caller, export_id: str, file_id: str) -> bytes:
    """One output file of the caller's finished export, decrypted, and its download audited."""
    with runtime.db.transaction() as session:
        row = _owned(session, caller, export_id)
        found = session.get(BulkExportFile, file_id)
        if row.status != COMPLETED or found is None or found.export_id != export_id:
            raise NotFoundError("No such file in this export.")
        body = open_file(runtime.keys, export_id, file_id, found.ciphertext)
        details: dict[str, DetailValue] = {
            "export": export_id,
            "file": file_id,
            "resource_type": found.resource_type,
            "count": found.count,
        }
        event = AuditEvent.by(caller, RecordsTag.EXPORT_DOWNLOADED, _subject(export_id), details)
        record(session, event)
    return body


def sweep_exports(context: JobContext) -> str | None:
    """The housekeeping job: fail exports that never finished, and delete the files of
    expired, cancelled and failed ones."""
    now = context.now
    retention = timedelta(minutes=context.runtime.settings.bulk_export_retention_minutes)
    with context.runtime.db.transaction() as session:
        stalled = _fail_stalled(session, now, retention)
        over = BulkExport.status.in_([COMPLETED, FAILED]) & (BulkExport.expires_at <= now)
        gone = select(BulkExport.id).where((BulkExport.status == CANCELLED) | over)
        ids = list(session.scalars(gone))
        deleted = session.execute(delete(BulkExportFile).where(BulkExportFile.export_id.in_(ids)))
        # Marked expired: the sweep looks at each export once, and its status answers 404.
        session.execute(update(BulkExport).where(BulkExport.id.in_(ids)).values(status=EXPIRED))
    files: int = deleted.rowcount  # type: ignore[attr-defined]
    if not ids and not stalled:
        return None
    done = f"deleted {files} file(s) of {len(ids)} finished export(s)"
    return done + (f"; {stalled} export(s) that never finished failed" if stalled else "")


def _fail_stalled(session: Session, now: datetime, retention: timedelta) -> int:
    """Exports still queued or running a day after they were asked for (their task gave
    up after its retries, or its worker is gone for good): failed, their files deleted."""
    stalled = list(
        session.scalars(
            select(BulkExport.id).where(
                BulkExport.status.in_([QUEUED, RUNNING]), BulkExport.created_at <= now - STALLED
            )
        )
    )
    if stalled:
        session.execute(delete(BulkExportFile).where(BulkExportFile.export_id.in_(stalled)))
        session.execute(
            update(BulkExport)
            .where(BulkExport.id.in_(stalled))
            .values(status=FAILED, error="the export did not finish", expires_at=now + retention)
        )
    return len(stalled)


EXPORT_TASK = Task(
    "records.bulk_export.run",
    run_export,
    description="Run one FHIR Bulk Data export: read as the requester, seal NDJSON files.",
    max_attempts=3,
    backoff=timedelta(seconds=30),
    lease=timedelta(minutes=30),
)
