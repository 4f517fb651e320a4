"""Persistence of resource versions: seal, index, load and open. No access checks here.

Only the records package calls this module (`access`, `services`, `bundles`,
`store.reindex`); the decrypting functions stay inside the package so that
`access.get_record_for` is the one way a caller sees plaintext.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from carewall.core.db import connection_of, new_id
from carewall.core.driver import DriverSelect
from carewall.core.errors import DecryptionError, NotFoundError
from carewall.core.inputs import MAX_INT32
from carewall.records.errors import ResourceGoneError, VersionConflictError
from carewall.records.models import FhirResource, FhirSearchIndex, RestrictedCompartment
from carewall.records.store.compartments import compartment_of, patient_candidates
from carewall.records.store.keys import RecordKeys, canonical_json
from carewall.records.store.terms import search_terms


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


# Built once: every read starts here, and building a statement costs more than running it.
_CURRENT = select(FhirResource).where(
    FhirResource.resource_type == bindparam("resource_type"),
    FhirResource.logical_id == bindparam("logical_id"),
    FhirResource.is_current.is_(True),
)


def current_row(session: Session, resource_type: str, logical_id: str) -> FhirResource | None:
    """The newest version (possibly a tombstone), or None if the resource never existed."""
    return session.scalars(
        _CURRENT, {"resource_type": resource_type, "logical_id": logical_id}
    ).first()


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version's columns without the ORM: what a read needs to decide and decrypt."""

    resource_type: str
    logical_id: str
    version_id: int
    deleted: bool
    last_updated: datetime
    patient_ref: str | None
    ciphertext: bytes | None
    #: Whether its patient's compartment was restricted, read in the same statement as the
    #: row (`current_version`: one query fewer on every read); None where not asked.
    restricted: bool | None = None


# A version as the ORM loads it (for writes) or as a read loads it.
Version = FhirResource | StoredVersion
V = TypeVar("V", FhirResource, StoredVersion)

_TABLE = cast(Table, FhirResource.__table__)
_INDEX_TABLE = cast(Table, FhirSearchIndex.__table__)
_RESTRICTED = (
    exists().where(RestrictedCompartment.patient_ref == _TABLE.c.patient_ref).label("restricted")
)
_CURRENT_VERSION = DriverSelect(
    select(
        *(_TABLE.c[name] for name in StoredVersion.__dataclass_fields__ if name != "restricted"),
        _RESTRICTED,
    ).where(
        _TABLE.c.resource_type == bindparam("resource_type"),
        _TABLE.c.logical_id == bindparam("logical_id"),
        _TABLE.c.is_current.is_(True),
    )
)


def current_version(session: Session, resource_type: str, logical_id: str) -> StoredVersion | None:
    """`current_row` for reads: a Core query run on the driver (`core.driver`) on the
    session's connection, which also says whether the row's compartment is
    restricted (`StoredVersion.restricted`).

    Every FHIR read starts here; loading an ORM entity costs several times the
    query itself, and a read never changes the row. The access guard would ask about
    the restriction next, in a query (a round trip on PostgreSQL) of its own.
    """
    found = _CURRENT_VERSION.first(
        connection_of(session), {"resource_type": resource_type, "logical_id": logical_id}
    )
    if found is None:
        return None
    row = dict(zip(_CURRENT_VERSION.names, found, strict=True))
    return StoredVersion(**{**row, "restricted": bool(row["restricted"])})


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


def find_version(
    session: Session, resource_type: str, logical_id: str, version: int
) -> FhirResource | None:
    """One version, or None when the resource has no such version (or cannot have it:
    the column is 32-bit, and a larger number must not reach the database)."""
    if not 1 <= version <= MAX_INT32:
        return None
    return session.scalars(
        select(FhirResource).where(
            FhirResource.resource_type == resource_type,
            FhirResource.logical_id == logical_id,
            FhirResource.version_id == version,
        )
    ).first()


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


def require_live(row: V | None, resource_type: str, logical_id: str) -> V:
    """The row if it exists and is not deleted, else 404 / 410."""
    if row is None:
        raise NotFoundError(f"{resource_type}/{logical_id} was not found.")
    if row.deleted:
        raise ResourceGoneError(f"{resource_type}/{logical_id} was deleted.")
    return row


@dataclass(frozen=True)
class PreparedVersion:
    """A new version sealed and indexed in memory, ready to insert (no database yet)."""

    values: dict[str, Any]  # the fhir_resources row
    index: list[dict[str, Any]]  # its fhir_search_index rows
    created: bool
    patient_id: str | None


def prepare_version(
    keys: RecordKeys,
    resource: dict[str, Any],
    now: datetime,
    existing: FhirResource | None,
    if_match: int | None = None,
) -> PreparedVersion | None:
    """Seal and index `resource` as the version after `existing`; None if content is unchanged.

    `if_match` fails with `VersionConflictError` unless it names the current version.
    """
    resource_type, logical_id = resource["resourceType"], resource["id"]
    if if_match is not None and (existing is None or existing.version_id != if_match):
        # The version asked is not echoed: past the largest one it was clamped on the way in.
        raise VersionConflictError(
            f"{resource_type}/{logical_id} is not at the version If-Match names; "
            "read it again and resend the change."
        )
    mac = keys.content_mac(canonical_json(_without_meta(resource)))
    if existing is not None and not existing.deleted and existing.content_mac == mac:
        return None
    patient_id = compartment_of(resource)
    version = existing.version_id + 1 if existing is not None else 1
    row_id = new_id()
    sealed = keys.seal(
        resource_type, logical_id, version, canonical_json(_with_meta(resource, version, now))
    )
    values = {
        "id": row_id,
        "resource_type": resource_type,
        "logical_id": logical_id,
        "version_id": version,
        "is_current": True,
        "deleted": False,
        "last_updated": now,
        "patient_ref": keys.patient_ref(patient_id) if patient_id else None,
        "content_mac": mac,
        "ciphertext": sealed,
    }
    index = [
        {
            "id": new_id(),
            "resource_id": row_id,
            "param": param,
            "value_hmac": keys.blind(resource_type, param, value),
        }
        for param, value in sorted(search_terms(resource))
    ]
    return PreparedVersion(values, index, existing is None or existing.deleted, patient_id)


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
    The rows are inserted as plain rows on the session's connection, as
    `insert_versions` does: a unit-of-work flush per resource cost more than
    sealing it. The row returned is the version as written, not attached to
    the session (a later query in the transaction reads it from the database).
    """
    prepared = prepare_version(keys, resource, now, existing, if_match)
    if prepared is None:
        return WriteResult(None, created=False, patient_id=compartment_of(resource))
    _retire(session, existing)
    connection = session.connection()
    connection.execute(insert(_TABLE), prepared.values)
    if prepared.index:
        connection.execute(insert(_INDEX_TABLE), prepared.index)
    row = FhirResource(**prepared.values)
    return WriteResult(row, created=prepared.created, patient_id=prepared.patient_id)


def insert_versions(
    session: Session,
    prepared: Sequence[PreparedVersion],
    replaced: Sequence[FhirResource],
    tombstones: Sequence[dict[str, Any]] = (),
) -> None:
    """Write many prepared versions (and deletion versions, `tombstone_values`) at once,
    retiring the versions they replace.

    Two multi-row inserts instead of a unit-of-work flush per resource: the
    importer's database time drops by an order of magnitude.
    """
    for start in range(0, len(replaced), 500):
        ids = [row.id for row in replaced[start : start + 500]]
        session.execute(
            update(FhirResource).where(FhirResource.id.in_(ids)).values(is_current=False)
        )
        session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.resource_id.in_(ids)))
    for row in replaced:
        row.is_current = False
    rows = [p.values for p in prepared] + list(tombstones)
    if rows:
        connection = session.connection()
        connection.execute(insert(_TABLE), rows)
        index = [entry for p in prepared for entry in p.index]
        if index:
            connection.execute(insert(_INDEX_TABLE), index)


def tombstone_values(existing: FhirResource, now: datetime) -> dict[str, Any]:
    """The row of the deletion version after `existing` (empty, deleted, same compartment)."""
    return {
        "id": new_id(),
        "resource_type": existing.resource_type,
        "logical_id": existing.logical_id,
        "version_id": existing.version_id + 1,
        "is_current": True,
        "deleted": True,
        "last_updated": now,
        "patient_ref": existing.patient_ref,
        "content_mac": None,
        "ciphertext": None,
    }


def current_ids(
    session: Session, targets: Sequence[tuple[str, str]], *, lock: bool = False
) -> dict[tuple[str, str], str]:
    """The row id of the current version of each (type, logical id) that has one.

    `lock`: also lock those rows for the writing transaction (PostgreSQL's FOR UPDATE;
    SQLite's writer holds the whole database already)."""
    by_type: dict[str, list[str]] = {}
    for resource_type, logical_id in targets:
        by_type.setdefault(resource_type, []).append(logical_id)
    found: dict[tuple[str, str], str] = {}
    for resource_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            query = select(FhirResource.logical_id, FhirResource.id).where(
                FhirResource.resource_type == resource_type,
                FhirResource.logical_id.in_(ids[start : start + 500]),
                FhirResource.is_current.is_(True),
            )
            rows = session.execute(query.with_for_update() if lock else query)
            found.update({(resource_type, logical_id): row_id for logical_id, row_id in rows})
    return found


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


def open_row(keys: RecordKeys, row: Version) -> dict[str, Any]:
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


def snapshot(row: Version) -> StoredVersion:
    """A version's columns as plain values (they outlive the session, and a rollback)."""
    if isinstance(row, StoredVersion):
        return row
    return StoredVersion(
        row.resource_type,
        row.logical_id,
        row.version_id,
        row.deleted,
        row.last_updated,
        row.patient_ref,
        row.ciphertext,
    )


def patient_of(keys: RecordKeys, row: Version, resource: dict[str, Any]) -> str | None:
    """The patient whose compartment a version is filed under: the candidate named in
    the resource whose blind index is the row's (rows written before the canonical
    reference rules may spell the reference oddly; the row's index is the truth)."""
    if row.patient_ref is None:
        return None
    for candidate in patient_candidates(resource):
        if keys.patient_ref(candidate) == row.patient_ref:
            return candidate
    return None


def patient_of_stored(keys: RecordKeys, row: Version) -> str | None:
    """`patient_of` a stored live version, decrypted for that only (audit entries of
    writes and refusals name the patient; nothing of the content leaves here)."""
    if row.patient_ref is None or row.ciphertext is None:
        return None
    return patient_of(keys, row, open_row(keys, row))


def _retire(session: Session, existing: FhirResource | None) -> None:
    if existing is None:
        return
    session.execute(
        update(FhirResource).where(FhirResource.id == existing.id).values(is_current=False)
    )
    session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.resource_id == existing.id))
    existing.is_current = False


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


def sample_rows(session: Session, count: int) -> list[FhirResource]:
    """Up to `count` current, live versions picked at random (the restore drill's sample)."""
    return list(
        session.scalars(
            select(FhirResource)
            .where(FhirResource.is_current.is_(True), FhirResource.deleted.is_(False))
            .order_by(func.random())
            .limit(count)
        )
    )
