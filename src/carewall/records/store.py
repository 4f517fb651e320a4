"""Persistence of resource versions: seal, index, load and open. No access checks here.

Only `services`, `access` and `importer` call this module; the decrypting
functions are private to the package so that `access.get_record_for` stays
the one way a caller sees plaintext.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from carewall.core.errors import DecryptionError, NotFoundError
from carewall.records.errors import ResourceGoneError, VersionConflictError
from carewall.records.keys import RecordKeys, canonical_json
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.terms import patient_id_of, search_terms


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the row written (None when content was unchanged)."""

    row: FhirResource | None
    created: bool
    patient_id: str | None

    @property
    def changed(self) -> bool:
        """Whether a new version was written."""
        return self.row is not None


def current_row(session: Session, resource_type: str, logical_id: str) -> FhirResource | None:
    """The newest version (possibly a tombstone), or None if the resource never existed."""
    return session.scalars(
        select(FhirResource).where(
            FhirResource.resource_type == resource_type,
            FhirResource.logical_id == logical_id,
            FhirResource.is_current.is_(True),
        )
    ).first()


def current_rows(
    session: Session, resource_type: str, logical_ids: Sequence[str]
) -> dict[str, FhirResource]:
    """Newest versions of many resources of one type, by logical id (one query)."""
    found: dict[str, FhirResource] = {}
    for start in range(0, len(logical_ids), 500):
        chunk = logical_ids[start : start + 500]
        rows = session.scalars(
            select(FhirResource).where(
                FhirResource.resource_type == resource_type,
                FhirResource.logical_id.in_(chunk),
                FhirResource.is_current.is_(True),
            )
        )
        found.update({row.logical_id: row for row in rows})
    return found


def version_row(
    session: Session, resource_type: str, logical_id: str, version: int
) -> FhirResource:
    """One version; NotFoundError when it does not exist."""
    row = session.scalars(
        select(FhirResource).where(
            FhirResource.resource_type == resource_type,
            FhirResource.logical_id == logical_id,
            FhirResource.version_id == version,
        )
    ).first()
    if row is None:
        raise NotFoundError(f"{resource_type}/{logical_id} has no version {version}.")
    return row


def history_rows(session: Session, resource_type: str, logical_id: str) -> list[FhirResource]:
    """All versions, newest first."""
    return list(
        session.scalars(
            select(FhirResource)
            .where(
                FhirResource.resource_type == resource_type,
                FhirResource.logical_id == logical_id,
            )
            .order_by(FhirResource.version_id.desc())
        )
    )


def require_live(row: FhirResource | None, resource_type: str, logical_id: str) -> FhirResource:
    """The row if it exists and is not deleted, else 404 / 410."""
    if row is None:
        raise NotFoundError(f"{resource_type}/{logical_id} was not found.")
    if row.deleted:
        raise ResourceGoneError(f"{resource_type}/{logical_id} was deleted.")
    return row


def write_version(
    session: Session,
    keys: RecordKeys,
    resource: dict[str, Any],
    now: datetime,
    *,
    existing: FhirResource | None,
    if_match: int | None = None,
) -> WriteResult:
    """Write `resource` as the next version after `existing` (or as version 1).

    Content equal to the current version writes nothing (idempotent imports).
    `if_match` fails with `VersionConflictError` unless it names the current version.
    """
    resource_type, logical_id = resource["resourceType"], resource["id"]
    if if_match is not None and (existing is None or existing.version_id != if_match):
        raise VersionConflictError(f"{resource_type}/{logical_id} is not at version {if_match}.")
    body = canonical_json(_without_meta(resource))
    mac = keys.content_mac(body)
    patient_id = patient_id_of(resource)
    if existing is not None and not existing.deleted and existing.content_mac == mac:
        return WriteResult(None, created=False, patient_id=patient_id)
    version = existing.version_id + 1 if existing is not None else 1
    stored = _with_meta(resource, version, now)
    row = FhirResource(
        resource_type=resource_type,
        logical_id=logical_id,
        version_id=version,
        is_current=True,
        deleted=False,
        last_updated=now,
        patient_ref=keys.patient_ref(patient_id) if patient_id else None,
        content_mac=mac,
        ciphertext=keys.seal(resource_type, logical_id, version, canonical_json(stored)),
    )
    _retire(session, existing)
    session.add(row)
    session.flush()
    session.add_all(_index_rows(keys, row, resource))
    return WriteResult(row, created=existing is None or existing.deleted, patient_id=patient_id)


def write_tombstone(session: Session, existing: FhirResource, now: datetime) -> FhirResource:
    """Soft delete: a new, empty, deleted version; the search index entries go."""
    row = FhirResource(
        resource_type=existing.resource_type,
        logical_id=existing.logical_id,
        version_id=existing.version_id + 1,
        is_current=True,
        deleted=True,
        last_updated=now,
        patient_ref=existing.patient_ref,
        content_mac=None,
        ciphertext=None,
    )
    _retire(session, existing)
    session.add(row)
    session.flush()
    return row


def open_row(keys: RecordKeys, row: FhirResource) -> dict[str, Any]:
    """Decrypt one version (package-private: callers go through `access`)."""
    if row.ciphertext is None:
        raise ResourceGoneError(f"{row.resource_type}/{row.logical_id} was deleted.")
    plain = keys.open(row.resource_type, row.logical_id, row.version_id, row.ciphertext)
    try:
        resource = json.loads(plain)
    except ValueError as exc:  # authenticated but not JSON: written by something else
        raise DecryptionError(
            f"{row.resource_type}/{row.logical_id} decrypted to something that is not JSON."
        ) from exc
    if not isinstance(resource, dict):
        raise DecryptionError(f"{row.resource_type}/{row.logical_id} is not a JSON object.")
    return resource


def _retire(session: Session, existing: FhirResource | None) -> None:
    if existing is None:
        return
    session.execute(
        update(FhirResource).where(FhirResource.id == existing.id).values(is_current=False)
    )
    session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.resource_id == existing.id))
    existing.is_current = False


def _index_rows(
    keys: RecordKeys, row: FhirResource, resource: dict[str, Any]
) -> Iterable[FhirSearchIndex]:
    for param, value in sorted(search_terms(resource)):
        yield FhirSearchIndex(
            resource_id=row.id,
            param=param,
            value_hmac=keys.blind(row.resource_type, param, value),
        )


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return resource
    kept = {k: v for k, v in meta.items() if k not in {"versionId", "lastUpdated"}}
    trimmed = {k: v for k, v in resource.items() if k != "meta"}
    return {**trimmed, "meta": kept} if kept else trimmed


def _with_meta(resource: dict[str, Any], version: int, now: datetime) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**resource, "meta": meta}


def compartment_rows(session: Session, patient_ref: str) -> list[FhirResource]:
    """Current, live versions of every resource in one patient's compartment."""
    return list(
        session.scalars(
            select(FhirResource)
            .where(
                FhirResource.patient_ref == patient_ref,
                FhirResource.is_current.is_(True),
                FhirResource.deleted.is_(False),
            )
            .order_by(FhirResource.resource_type, FhirResource.logical_id)
        )
    )
