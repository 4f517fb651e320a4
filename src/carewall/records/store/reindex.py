"""Re-deriving the blind indexes of every stored version, resumably, after the runtime opens.

Two indexes are derived from content, so only code holding the key ring can
rebuild them: `patient_ref` (every version) and the search terms of current
versions (`fhir_search_index`, see `records.terms`). Migration 0015 schedules
the task so that vaults written before names had prefix and phonetic terms
get them; `carewall records reindex` runs it on demand.

Migration 0008 schedules the task when the vault holds rows written before
references to patients had one canonical form (`records.store.compartments`); the
key ring it needs to decrypt them is not available to migrations. Every
version is decrypted, its patient read leniently (`legacy_patient_of`: what
the writer meant, with this server's URL read as local and other servers' as
external) and its blind index rewritten where it differs. A deletion
(tombstone) takes the index of the version it deleted.

Work goes in batches of `BATCH` rows in primary-key order, each in its own
transaction that also moves the task's cursor, so a run that is killed loses at
most one batch and the next start carries on. Several processes starting at
once take turns on the task row (locked; SQLite serialises writers anyway).
When the last batch is done the task row goes, in the same transaction as one
`records:index:rebuilt` audit entry with the counts.

Stored content is not rewritten: history keeps what was written, and reads
attribute each version to the patient its index names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, record
from carewall.core.db import new_id
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.models import FhirResource, FhirSearchIndex, RecordsIndexTask
from carewall.records.store.compartments import OwnServer, fhir_base, legacy_patient_of
from carewall.records.store.keys import RecordKeys
from carewall.records.store.terms import search_terms
from carewall.records.tags import RecordsTag

TASK = "patient-references"
BATCH = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexReport:
    """What one run did: versions looked at and re-filed, and whether the task is done."""

    examined: int
    changed: int
    finished: bool


def reindex_pending(runtime: Runtime) -> bool:
    """Whether a re-index is scheduled and not finished (one primary-key lookup)."""
    with runtime.db.sessions() as session:
        return session.get(RecordsIndexTask, TASK) is not None


def schedule_reindex(runtime: Runtime) -> None:
    """Ask for a full pass over every version (`carewall records reindex`); idempotent."""
    with runtime.db.transaction() as session:
        if session.get(RecordsIndexTask, TASK, with_for_update=True) is None:
            session.add(RecordsIndexTask(name=TASK, after="", examined=0, changed=0))


def reindex_references(
    runtime: Runtime,
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReindexReport:
    """Work through the scheduled re-index (nothing to do: returns at once, finished).

    `max_batches` stops early (tests of resuming); `progress` gets the number
    of versions examined after each batch.
    """
    keys = RecordKeys.from_keystore(runtime.keys)  # outside any transaction (SQLite)
    own = OwnServer.of(fhir_base(runtime.settings.public_url))
    examined = changed = batches = 0
    while max_batches is None or batches < max_batches:
        with runtime.db.transaction() as session:
            step = _one_batch(session, keys, own, batch)
        if step is None:
            return ReindexReport(examined, changed, finished=True)
        examined, changed, batches = examined + step[0], changed + step[1], batches + 1
        if progress is not None:
            progress(examined)
    return ReindexReport(examined, changed, finished=not reindex_pending(runtime))


def _one_batch(
    session: Session, keys: RecordKeys, own: OwnServer, size: int
) -> tuple[int, int] | None:
    """Re-file one batch and move the cursor; None when the task is done (or absent)."""
    task = session.get(RecordsIndexTask, TASK, with_for_update=True)
    if task is None:
        return None
    rows = list(
        session.scalars(
            select(FhirResource)
            .where(FhirResource.id > task.after)
            .order_by(FhirResource.id)
            .limit(size)
        )
    )
    if not rows:
        _finish(session, task)
        return None
    changed = 0
    for row in rows:
        ref = _derived_ref(session, keys, own, row)
        refiled = _refile_terms(session, keys, row)
        if ref != row.patient_ref:
            row.patient_ref = ref
            refiled = True
        changed += refiled
    task.after = rows[-1].id
    task.examined += len(rows)
    task.changed += changed
    return len(rows), changed


def _derived_ref(
    session: Session, keys: RecordKeys, own: OwnServer, row: FhirResource
) -> str | None:
    """The blind index a version should carry (a tombstone: its deleted version's)."""
    source: FhirResource | None = row
    if row.ciphertext is None:
        source = _deleted_version(session, row)
    if source is None or source.ciphertext is None:
        return row.patient_ref
    patient = legacy_patient_of(store.open_row(keys, source), own)
    return keys.patient_ref(patient) if patient else None


def _refile_terms(session: Session, keys: RecordKeys, row: FhirResource) -> bool:
    """Rewrite a current version's search terms where they differ from what its content
    gives today; whether they did. Only current, live versions carry terms."""
    if not row.is_current or row.deleted or row.ciphertext is None:
        return False
    resource = store.open_row(keys, row)
    wanted = {
        (param, keys.blind(row.resource_type, param, value))
        for param, value in search_terms(resource)
    }
    entries = session.scalars(select(FhirSearchIndex).where(FhirSearchIndex.resource_id == row.id))
    if {(e.param, e.value_hmac) for e in entries} == wanted:
        return False
    session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.resource_id == row.id))
    session.add_all(
        FhirSearchIndex(id=new_id(), resource_id=row.id, param=param, value_hmac=value)
        for param, value in sorted(wanted)
    )
    return True


def _deleted_version(session: Session, tombstone: FhirResource) -> FhirResource | None:
    """The newest version with content before a tombstone."""
    return session.scalars(
        select(FhirResource)
        .where(
            FhirResource.resource_type == tombstone.resource_type,
            FhirResource.logical_id == tombstone.logical_id,
            FhirResource.version_id < tombstone.version_id,
            FhirResource.ciphertext.is_not(None),
        )
        .order_by(FhirResource.version_id.desc())
        .limit(1)
    ).first()


def _finish(session: Session, task: RecordsIndexTask) -> None:
    record(
        session,
        AuditEvent(
            action=RecordsTag.INDEX_REBUILT,
            actor="system",
            subject="records",
            details={"task": task.name, "examined": task.examined, "changed": task.changed},
        ),
    )
    session.delete(task)


def finish_scheduled_reindex(runtime: Runtime) -> ReindexReport | None:
    """Run a re-index a migration scheduled to its end (None when none is scheduled).

    Registered as one of the records domain's upgrades, so `serve`, `init` and every
    command finish it before anything touches records.
    """
    if not reindex_pending(runtime):
        return None
    log.warning("re-indexing the record vault (resumes if interrupted)")
    report = reindex_references(runtime)
    log.warning(
        "re-indexed: %d versions examined, %d re-filed (patient or search terms)",
        report.examined,
        report.changed,
    )
    return report
