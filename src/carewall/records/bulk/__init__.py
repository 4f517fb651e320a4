"""FHIR Bulk Data export (`$export`): kick-off, the queued run, status, files, expiry.

`exports` keeps the lifecycle (request, run as a queued task, cancel, expire)
and audits each step; `files` seals the NDJSON output under its own data key
until the requester downloads it. What may be read is decided by
`records.access.bulk`, the chokepoint's export side.
"""

from carewall.records.access.bulk import Level, Scope, TypeFilter
from carewall.records.bulk.exports import (
    EXPORT_TASK,
    ExportRequest,
    ExportStatus,
    cancel_export,
    download_file,
    export_status,
    start_export,
    sweep_exports,
)
from carewall.records.bulk.files import BULK_KEY

__all__ = [
    "BULK_KEY",
    "EXPORT_TASK",
    "ExportRequest",
    "ExportStatus",
    "Level",
    "Scope",
    "TypeFilter",
    "cancel_export",
    "download_file",
    "export_status",
    "start_export",
    "sweep_exports",
]
