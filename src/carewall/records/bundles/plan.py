"""A transaction Bundle's writes, prepared without the write lock and applied with it.

Checking, sealing (AES-GCM) and indexing (HMAC) a thousand resources takes a
second; doing it inside the Bundle's writing transaction held SQLite's write
lock (and the audit chain's lock on PostgreSQL) for all of it, so every other
write, and every audited read, waited. Here the checks and the sealing run in
a read transaction (`plan_write`, `plan_delete`), and the writing transaction
only confirms that nothing it relied on changed meanwhile (`unchanged`) and
writes everything in a few multi-row statements (`apply`), its audit entries
appended together (`audit.record_all`). When something did change, the caller
does the work again inside the lock, as it would have without a plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, record_all_about
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.records import store
from carewall.records.errors import ResourceGoneError
from carewall.records.events import announce_change
from carewall.records.models import FhirResource
from carewall.records.services import change_event, check_delete, check_write
from carewall.records.store.compartments import compartment_of
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

Target = tuple[str, str]  # (resource type, logical id)


@dataclass(frozen=True)
class PlannedWrite:
    """A create or update, checked and sealed: `prepared` is None when nothing changed.

    `meta` is what `services.write_in` returns for the same write.
    """

    target: Target
    existing: FhirResource | None
    prepared: store.PreparedVersion | None
    meta: dict[str, Any]
    patient_id: str | None
    moved_from: str | None


@dataclass(frozen=True)
class PlannedDelete:
    """A delete, checked: the live version it retires and the deletion version's row."""

    target: Target
    live: FhirResource
    tombstone: dict[str, Any]
    patient_id: str | None

    @property
    def meta(self) -> dict[str, Any]:
        """What `services.delete_in` returns for the same delete."""
        return {
            "resourceType": self.target[0],
            "id": self.target[1],
            "versionId": self.tombstone["version_id"],
            "lastUpdated": self.tombstone["last_updated"],
        }


def existing_rows(session: Session, targets: Sequence[Target]) -> dict[Target, FhirResource]:
    """The current versions of the resources a Bundle updates (a few queries for all)."""
    by_type: dict[str, list[str]] = {}
    for resource_type, logical_id in targets:
        by_type.setdefault(resource_type, []).append(logical_id)
    found: dict[Target, FhirResource] = {}
    for resource_type, ids in by_type.items():
        rows = store.current_rows(session, resource_type, ids)
        found.update({(resource_type, i): row for i, row in rows.items()})
    return found


def plan_write(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource: dict[str, Any],
    existing: FhirResource | None,
    now: datetime,
    if_match: int | None,
) -> PlannedWrite:
    """Check and seal one create or update (`services.write_in`, without the write)."""
    moved_from = check_write(session, keys, actor, resource, existing, now)
    prepared = store.prepare_version(keys, resource, now, existing, if_match)
    target = (str(resource["resourceType"]), str(resource["id"]))
    if prepared is not None:
        version, created, last_updated = prepared.values["version_id"], prepared.created, now
    else:
        version = existing.version_id if existing else 0
        created, last_updated = False, existing.last_updated if existing else now
    meta = {
        "resourceType": target[0],
        "id": target[1],
        "versionId": version,
        "changed": prepared is not None,
        "created": created,
        "lastUpdated": last_updated,
    }
    return PlannedWrite(target, existing, prepared, meta, compartment_of(resource), moved_from)


def plan_delete(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    target: Target,
    current: FhirResource | None,
    now: datetime,
) -> PlannedDelete | None:
    """Check one delete (`services.delete_in`, without the write); None if the resource
    is deleted already, which FHIR answers as a success with no effect (`delete_in`)."""
    try:
        live = check_delete(session, keys, actor, target[0], target[1], current, now)
    except ResourceGoneError:
        return None
    patient = store.patient_of_stored(keys, live)
    return PlannedDelete(target, live, store.tombstone_values(live, now), patient)


def unchanged(session: Session, seen: Mapping[Target, str | None]) -> bool:
    """Whether every resource still has the current version the plan read (None: none).

    Asked in the writing transaction, it also locks those rows: before the audit
    entries of the plan's searches take the chain's lock, the order every write keeps
    (rows, then chain) so that a Bundle and a write holding one of its rows never
    wait for each other."""
    now_current = store.current_ids(session, list(seen), lock=True)
    return all(now_current.get(target) == row_id for target, row_id in seen.items())


def apply(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    deletes: Sequence[PlannedDelete],
    writes: Sequence[PlannedWrite],
) -> None:
    """Write the planned deletions and versions and their audit entries, in that order."""
    changed = [w for w in writes if w.prepared is not None]
    store.insert_versions(
        session,
        [w.prepared for w in changed if w.prepared is not None],
        [w.existing for w in changed if w.existing is not None] + [d.live for d in deletes],
        [d.tombstone for d in deletes],
    )
    events = [_deleted(keys, actor, d) for d in deletes]
    events += [_written(keys, actor, w) for w in changed]
    record_all_about(session, events)
    now = utcnow()
    for planned in deletes:
        kind, logical_id = planned.target
        announce_change(session, actor, RecordsTag.RESOURCE_DELETED, kind, logical_id, now)
    for written in changed:
        if not written.meta["created"]:
            kind, logical_id = written.target
            announce_change(session, actor, RecordsTag.RESOURCE_UPDATED, kind, logical_id, now)


def _deleted(
    keys: RecordKeys, actor: Caller, planned: PlannedDelete
) -> tuple[AuditEvent, list[str]]:
    resource_type, logical_id = planned.target
    version = int(planned.tombstone["version_id"])
    tag = RecordsTag.RESOURCE_DELETED
    return change_event(keys, actor, tag, resource_type, logical_id, version, planned.patient_id)


def _written(
    keys: RecordKeys, actor: Caller, planned: PlannedWrite
) -> tuple[AuditEvent, list[str]]:
    tag = RecordsTag.RESOURCE_CREATED if planned.meta["created"] else RecordsTag.RESOURCE_UPDATED
    resource_type, logical_id = planned.target
    version = int(planned.meta["versionId"])
    return change_event(
        keys,
        actor,
        tag,
        resource_type,
        logical_id,
        version,
        planned.patient_id,
        planned.moved_from,
    )
