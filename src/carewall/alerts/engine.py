"""Running the detectors over the audit trail: in memory (`Engine`) and on the database
(`scan`), incrementally from a cursor.

`scan` reads the entries after the cursor in a read transaction (no write lock
while detectors think), then, in one short writing transaction, moves the
cursor with a compare-and-set on its old position and opens the alerts found.
Two workers that race read the same entries; only the first to move the
cursor opens alerts, the other's transaction changes nothing and is dropped.
The job runner's claim makes such races rare; the compare-and-set makes them
harmless.

Findings whose evidence is older than a day when first read (a fresh install
reading years of trail) teach the detectors their baselines but open no alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carewall.alerts.detectors import Detector, Entry, Facts, Finding, State, Tuning, build
from carewall.alerts.detectors.access import OPEN_ACTIONS
from carewall.alerts.detectors.events import BREAK_GLASS, CLINICAL_WRITES, WIDE
from carewall.alerts.facts import LiveFacts
from carewall.alerts.models import DetectorCursor
from carewall.audit import AuditEntryView, entries_after
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records import RecordKeys, open_patient, patients_named

CURSOR = "trail"
BATCH = 2000
# Batches one run reads at most (a first run over years of trail continues in the
# next runs, each well inside the job's lease).
MAX_BATCHES = 50
_NAMES_PATIENTS = OPEN_ACTIONS | CLINICAL_WRITES | {BREAK_GLASS} | WIDE
_LEARN_ONLY = timedelta(days=1)


class Engine:
    """The detectors over a stream of entries, with their state (JSON-able)."""

    def __init__(self, tuning: Tuning, facts: Facts) -> None:
        self.detectors = build(tuning)
        self.facts = facts

    def feed(self, entries: Iterable[Entry], state: State) -> list[Finding]:
        """Every finding of these entries, in trail order."""
        found: list[Finding] = []
        by_action: dict[str, list[tuple[Detector, State]]] = {}
        for detector in self.detectors:
            part = state.setdefault(detector.id, {})
            for action in detector.actions:
                by_action.setdefault(action, []).append((detector, part))
        for entry in entries:
            for detector, part in by_action.get(entry.action, ()):
                found.extend(detector.feed(entry, part, self.facts))
        return found

    def tick(self, now: datetime, state: State) -> list[Finding]:
        """Findings whose deadline has passed by `now`, and time-window checks."""
        found: list[Finding] = []
        for detector in self.detectors:
            found.extend(detector.tick(now, state.setdefault(detector.id, {}), self.facts))
        return found


class EntryReader:
    """Turns audit entries into detector entries.

    Patients are named by the keyed references entries carry in clear
    (`patient_refs`; entries from before revision 0009 name the id itself), so
    reading costs no decryption; the sealed id beside each reference is kept
    and opened only when a detector asks a fact about that patient
    (`patient_id`), once per patient per run.
    """

    def __init__(self, keys: RecordKeys) -> None:
        self.keys = keys
        self._sealed: dict[str, str] = {}
        self._ids: dict[str, str] = {}

    def entry(self, view: AuditEntryView) -> Entry:
        """One audit entry as the detectors see it."""
        patients: tuple[str, ...] = ()
        if view.action in _NAMES_PATIENTS:
            patients = self._patients(view.details)
        return Entry(
            seq=view.seq,
            ts=view.ts,
            actor=view.actor,
            action=view.action,
            outcome=view.outcome,
            subject=view.subject,
            ip=view.source_ip,
            user_agent=view.user_agent,
            details=view.details,
            patients=patients,
        )

    def _patients(self, details: Mapping[str, Any]) -> tuple[str, ...]:
        refs, sealed = details.get("patient_refs"), details.get("patients_sealed")
        if isinstance(refs, list):
            if isinstance(sealed, list):
                for ref, blob in zip(refs, sealed, strict=False):
                    self._sealed.setdefault(str(ref), str(blob))
            return tuple(str(r) for r in refs)
        return tuple(patients_named(self.keys, details))  # the old, clear form

    def patient_id(self, key: str) -> str:
        """The patient id behind a key `entry` produced (a reference, or an old clear id)."""
        found = self._ids.get(key)
        if found is None:
            blob = self._sealed.get(key)
            found = open_patient(self.keys, key, blob) if blob is not None else key
            self._ids[key] = found
        return found


@dataclass
class ScanResult:
    """What one detector run did."""

    entries: int = 0
    opened: list[str] = field(default_factory=list)
    raced: bool = False


def scan(runtime: Runtime, caller: Caller, *, batch: int = BATCH) -> ScanResult:
    """Read every new audit entry, run the detectors, open alerts; returns what it did."""
    from carewall.alerts.services import mail_urgent, open_alerts  # they import the engine

    result = ScanResult()
    reader = EntryReader(RecordKeys.from_keystore(runtime.keys))
    engine = Engine(Tuning.from_settings(runtime.settings), LiveFacts(runtime, reader))
    for _ in range(MAX_BATCHES):
        last_seq, state = _load(runtime)
        with runtime.db.read_transaction() as session:
            views = entries_after(session, last_seq, batch)
        now = utcnow()
        findings = engine.feed((reader.entry(v) for v in views), state)
        findings.extend(engine.tick(now, state))
        fresh = [f for f in findings if now - f.evidence_at <= _LEARN_ONLY]
        new_seq = views[-1].seq if views else last_seq
        opened = open_alerts(runtime, caller, fresh, cursor=(last_seq, new_seq, state))
        if opened is None:
            result.raced = True
            return result
        result.entries += len(views)
        result.opened.extend(opened)
        if len(views) < batch:
            break
    mail_urgent(runtime)
    return result


def _load(runtime: Runtime) -> tuple[int, State]:
    with runtime.db.sessions() as session:
        row = session.get(DetectorCursor, CURSOR)
        if row is not None:
            return row.last_seq, dict(row.state or {})
    try:
        with runtime.db.transaction() as session:
            session.add(DetectorCursor(name=CURSOR, last_seq=0, state={}, updated_at=utcnow()))
    except IntegrityError:  # another worker created it first
        pass
    return 0, {}


def move_cursor(session: Any, old: int, new: int, state: State) -> bool:
    """Compare-and-set the cursor from `old` to `new`; False when another run moved it."""
    result = session.execute(
        update(DetectorCursor)
        .where(DetectorCursor.name == CURSOR, DetectorCursor.last_seq == old)
        .values(last_seq=new, state=state, updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def cursor_position(runtime: Runtime) -> int:
    """How far the detectors have read (0 before the first run)."""
    with runtime.db.sessions() as session:
        found = session.scalar(select(DetectorCursor.last_seq).where(DetectorCursor.name == CURSOR))
    return int(found or 0)
