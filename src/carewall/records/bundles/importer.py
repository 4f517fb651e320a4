"""Import FHIR Bundles and NDJSON: validate, resolve references, upsert, one unit at a time.

A unit (one file) is validated completely before its transaction starts, then
written in one transaction with its audit entry: it is imported whole or not
at all. Resources recurring across files (the same Organization or
Practitioner) are upserted by type and id, and unchanged content writes no new
version, so importing the same files twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, Outcome, record
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import require_type, run_guarded
from carewall.records.access.matrix import Action
from carewall.records.bundles.references import ConditionalResolver, resolve_identity
from carewall.records.bundles.units import Unit, find_files, read_unit, rewrite_references
from carewall.records.errors import Issue, RecordValidationError
from carewall.records.models import FhirResource
from carewall.records.store.compartments import canonicalise, fhir_base
from carewall.records.store.keys import RecordKeys
from carewall.records.store.validation import SUPPORTED_TYPES, validate_resource
from carewall.records.tags import RecordsTag


@dataclass
class UnitReport:
    """The outcome of one file."""

    name: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unsupported: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def failed(self) -> bool:
        """Whether nothing of this file was imported."""
        return self.error is not None


def import_path(
    runtime: Runtime,
    actor: Caller,
    path: Path,
    progress: Callable[[UnitReport], None] | None = None,
) -> list[UnitReport]:
    """Import every file under `path`; one report per file, in order."""
    reports = []
    for file in find_files(path):
        report = import_file(runtime, actor, file)
        reports.append(report)
        if progress is not None:
            progress(report)
    return reports


def import_file(runtime: Runtime, actor: Caller, file: Path) -> UnitReport:
    """Import one Bundle or NDJSON file in one transaction."""
    report = UnitReport(file.name)
    try:
        unit = read_unit(file)
        _keep_supported(unit, report)
        _validate(unit, runtime.settings.max_attachment_bytes)
        keys = RecordKeys.from_keystore(runtime.keys)
        base = fhir_base(runtime.settings.public_url)
        run_guarded(
            runtime, actor, lambda session: _write_unit(session, keys, actor, unit, report, base)
        )
    except RecordValidationError as exc:
        report.error = exc.reasons()
    except CarewallError as exc:
        report.error = exc.message
    except OSError as exc:
        report.error = f"cannot read the file ({exc.strerror})"
    if report.error is not None:
        report.created = report.updated = report.unchanged = 0
        _audit_failure(runtime, actor, report)
    return report


def _keep_supported(unit: Unit, report: UnitReport) -> None:
    kept: list[dict[str, Any]] = []
    kept_matches: set[int] = set()
    for index, resource in enumerate(unit.resources):
        resource_type = str(resource.get("resourceType"))
        if resource_type in SUPPORTED_TYPES:
            if index in unit.match_by_identifier:
                kept_matches.add(len(kept))
            kept.append(resource)
        else:
            report.unsupported[resource_type] += 1
    unit.resources, unit.match_by_identifier = kept, kept_matches


def _validate(unit: Unit, max_attachment_bytes: int) -> None:
    issues: list[Issue] = []
    for index, resource in enumerate(unit.resources):
        try:
            validate_resource(resource, max_attachment_bytes=max_attachment_bytes)
        except RecordValidationError as exc:
            issues.extend(
                Issue(i.severity, i.code, f"entry[{index}].{i.expression}", i.diagnostics)
                for i in exc.issues
            )
    if issues:
        raise RecordValidationError(f"{unit.name}: {len(issues)} invalid field(s)", issues[:20])


def _write_unit(
    session: Session, keys: RecordKeys, actor: Caller, unit: Unit, report: UnitReport, base: str
) -> None:
    renamed = resolve_identity(session, keys, unit)
    resolve = ConditionalResolver(session, keys, unit, renamed)
    resources = [
        _canonical(rewrite_references(r, resolve), i, base) for i, r in enumerate(unit.resources)
    ]
    for resource_type in sorted({r["resourceType"] for r in resources}):
        require_type(actor, Action.WRITE, resource_type, resource_type)
    existing = _existing(session, resources)
    now = utcnow()
    prepared: list[store.PreparedVersion] = []
    replaced: list[FhirResource] = []
    for resource in _last_of_each(resources, report):
        previous = existing.get((resource["resourceType"], resource["id"]))
        version = store.prepare_version(keys, resource, now, previous)
        if version is None:
            report.unchanged += 1
            continue
        prepared.append(version)
        if previous is not None:
            replaced.append(previous)
        if version.created:
            report.created += 1
        else:
            report.updated += 1
    store.insert_versions(session, prepared, replaced)
    _audit_success(session, keys, actor, resources, report)


def _canonical(resource: dict[str, Any], index: int, base: str) -> dict[str, Any]:
    """The resource with references to this server canonical; refusals name the entry."""
    try:
        return canonicalise(resource, base)
    except RecordValidationError as exc:
        issues = [
            Issue(i.severity, i.code, f"entry[{index}].{i.expression}", i.diagnostics)
            for i in exc.issues
        ]
        raise RecordValidationError(exc.message, issues) from None


def _last_of_each(resources: list[dict[str, Any]], report: UnitReport) -> list[dict[str, Any]]:
    """One resource per type and id: a file naming one twice keeps the last (FHIR's
    "last write wins" inside a bundle); the earlier copies count as unchanged."""
    last = {(r["resourceType"], r["id"]): r for r in resources}
    report.unchanged += len(resources) - len(last)
    return list(last.values())


def _existing(
    session: Session, resources: list[dict[str, Any]]
) -> dict[tuple[str, str], FhirResource]:
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource["id"])
    found: dict[tuple[str, str], FhirResource] = {}
    for resource_type, ids in by_type.items():
        rows = store.current_rows(session, resource_type, ids)
        found.update({(resource_type, i): row for i, row in rows.items()})
    return found


def _audit_success(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resources: list[dict[str, Any]],
    report: UnitReport,
) -> None:
    patients = sorted({str(r["id"]) for r in resources if r["resourceType"] == "Patient"})
    part = patient_part(keys, patients[:50], otherwise="records")
    record(
        session,
        AuditEvent.by(
            actor,
            RecordsTag.IMPORT_COMPLETED,
            part.subject,
            {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "unsupported": sum(report.unsupported.values()),
                "resource_types": sorted({r["resourceType"] for r in resources}),
                **part.details,
            },
        ),
    )


def _audit_failure(runtime: Runtime, actor: Caller, report: UnitReport) -> None:
    event = AuditEvent.by(
        actor,
        RecordsTag.IMPORT_FAILED,
        "records",
        {"unsupported": sum(report.unsupported.values())},
        Outcome.FAILURE,
    )
    with runtime.db.transaction() as session:
        record(session, event)
