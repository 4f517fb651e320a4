"""The records domain's part of the restore drill: does a sample of records decrypt?

Subscribed to `backup.DrillCheck` by the records registration. It runs on the
restored copy (the event's runtime, opened with the master key from the
backup), so a backup whose data keys, master key or ciphertexts do not agree
fails its drill instead of failing on the day it is needed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.backup import DrillCheck, DrillCheckResult
from carewall.records.access import sample_decrypts
from carewall.records.models import FhirResource
from carewall.records.store.keys import RecordKeys


def check_restored_records(session: Session, event: DrillCheck) -> None:
    """Decrypt a random sample of the restored copy's current records."""
    keys = RecordKeys.from_keystore(event.restored.keys)
    tried, failed = sample_decrypts(session, keys, event.sample)
    current = session.scalar(
        select(func.count()).select_from(FhirResource).where(FhirResource.is_current.is_(True))
    )
    detail = (
        f"{tried} of {current or 0} current records decrypted"
        if not failed
        else f"{len(failed)} of {tried} sampled records did not decrypt (first: {failed[0]})"
    )
    event.results.append(DrillCheckResult("records", not failed, tried, detail))
