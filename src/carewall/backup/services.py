"""The backup domain's writes: set up, back up, verify, thin out, drill, watch.

Each operation records a run (`runs`), audits its outcome in the same
transaction that closes the run, opens an alert when it fails (`alerts`) and
resolves the alert when it succeeds again. Failures are re-raised as domain
errors, so a job run fails visibly and a command exits 1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select

from carewall import __version__
from carewall.audit import Outcome
from carewall.backup import alerts
from carewall.backup.drill import DrillReport, run_drill
from carewall.backup.errors import BackupError, WrongPasswordError
from carewall.backup.events import audit
from carewall.backup.interfaces import (
    BackupStore,
    BackupSummary,
    Progress,
    RetentionPolicy,
    Snapshot,
)
from carewall.backup.manifest import MANIFEST, Manifest
from carewall.backup.models import BackupSnapshot
from carewall.backup.queries import first_attempt, last_success
from carewall.backup.queries import snapshots as snapshots_seen
from carewall.backup.repository import (
    STAGING,
    as_backup_error,
    backup_lock,
    is_configured,
    open_store,
    password_for,
    store_for,
)
from carewall.backup.runs import FAILURE, SUCCESS, finish_run, start_run
from carewall.backup.sealing import generate_password, store_password, stored_password
from carewall.backup.staging import clear, stage
from carewall.backup.tags import BackupTag
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime

_SIZES_PER_REFRESH = 10


@dataclass(frozen=True)
class InitResult:
    """What `init_repository` did; `password` is shown once when it was generated."""

    location: str
    created: bool
    password: str
    generated: bool


@dataclass(frozen=True)
class VerifyResult:
    """The repository check and the latest snapshot's manifest check."""

    full: bool
    snapshot: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No damage found."""
        return not self.problems


def init_repository(runtime: Runtime, caller: Caller) -> InitResult:
    """Create the repository (or adopt the existing one) and seal the password for jobs."""
    settings = runtime.settings
    given = settings.backup_password.get_secret_value() if settings.backup_password else ""
    password = given or stored_password(runtime.keys, settings.home) or ""
    generated = not password
    password = password or generate_password()
    store = store_for(settings, password)
    try:
        created = not store.exists()
    except WrongPasswordError as exc:
        raise WrongPasswordError(
            f"A backup repository already exists at {store.location} and this password does "
            "not open it. Set CAREWALL_BACKUP_PASSWORD to that repository's password."
        ) from exc
    if created:
        store.init()
    store_password(runtime.keys, settings.home, password)
    with runtime.db.transaction() as session:
        audit(session, BackupTag.REPOSITORY_INITIALISED, caller, created=created)
    return InitResult(store.location, created, password, generated)


def create_backup(
    runtime: Runtime,
    caller: Caller,
    *,
    trigger: str,
    progress: Progress | None = None,
    wait: bool = False,
) -> BackupSummary:
    """Take one consistent, encrypted snapshot of the database, keys and settings.

    `wait` waits for another repository job to end (`backup_lock`); otherwise a busy
    repository raises `BackupBusyError` before anything starts (nothing to alert)."""
    home = runtime.settings.home
    if not is_configured(runtime.settings):
        store_for(runtime.settings, "")  # raises BackupNotConfiguredError: nothing to alert
    with backup_lock(home, wait=wait):
        run_id = start_run(runtime, "backup", trigger, caller, sole=True)
        staging = home / STAGING
        try:
            store = open_store(runtime)
            manifest = stage(runtime, password_for(runtime), staging)
            tags = [f"carewall-{__version__}", manifest.database.engine]
            summary = _record_backup(runtime, store, store.backup(staging, tags, progress))
        except Exception as exc:
            tag, kind = BackupTag.SNAPSHOT_FAILED, alerts.BACKUP_FAILED
            raise _failed(runtime, caller, run_id, tag, kind, exc) from exc
        finally:
            clear(staging)
    _backed_up(runtime, caller, run_id, trigger, summary, manifest)
    return summary


def _backed_up(
    runtime: Runtime,
    caller: Caller,
    run_id: str,
    trigger: str,
    summary: BackupSummary,
    manifest: Manifest,
) -> None:
    """Close the run, audit the snapshot and resolve the alerts a good backup answers."""
    with runtime.db.transaction() as session:
        finish_run(
            session,
            run_id,
            SUCCESS,
            snapshot_id=summary.snapshot_id,
            bytes_processed=summary.bytes_processed,
            bytes_added=summary.bytes_added,
            files=summary.files,
            chain_entries=manifest.database.head.seq,
            message=f"snapshot {summary.snapshot_id[:8]}",
        )
        audit(
            session,
            BackupTag.SNAPSHOT_CREATED,
            caller,
            subject=f"snapshot:{summary.snapshot_id}",
            trigger=trigger,
            bytes=summary.bytes_processed,
            added=summary.bytes_added,
            chain_seq=manifest.database.head.seq,
            engine=manifest.database.engine,
        )
        alerts.resolve_alerts(session, caller, [alerts.BACKUP_FAILED, alerts.BACKUP_MISSED])


def verify_backups(
    runtime: Runtime, caller: Caller, *, full: bool, trigger: str, wait: bool = False
) -> VerifyResult:
    """`restic check` (with `--read-data` when `full`) and the latest manifest's parts,
    one repository job at a time (`backup_lock`, as `create_backup`)."""
    store = open_store(runtime)
    with backup_lock(runtime.settings.home, wait=wait):
        return _verify(runtime, store, caller, full=full, trigger=trigger)


def _verify(
    runtime: Runtime, store: BackupStore, caller: Caller, *, full: bool, trigger: str
) -> VerifyResult:
    run_id = start_run(runtime, "verify", trigger, caller, full=full, sole=False)
    try:
        store.unlock_stale()
        problems = list(store.check(read_data=full).problems)
        snapshots = store.snapshots()
        latest = snapshots[-1].id if snapshots else None
        if latest is not None:
            problems += manifest_problems(store, latest, full=full)
        refresh_snapshots(runtime, store)
    except Exception as exc:
        tag, kind = BackupTag.REPOSITORY_DAMAGED, alerts.VERIFY_FAILED
        raise _failed(runtime, caller, run_id, tag, kind, exc) from exc
    result = VerifyResult(full, latest, tuple(problems))
    _record_verification(runtime, caller, run_id, result)
    return result


def _record_verification(
    runtime: Runtime, caller: Caller, run_id: str, result: VerifyResult
) -> None:
    summary = "no damage found" if result.ok else f"{len(result.problems)} problem(s): "
    summary += "" if result.ok else result.problems[0]
    with runtime.db.transaction() as session:
        finish_run(session, run_id, SUCCESS if result.ok else FAILURE, message=summary)
        audit(
            session,
            BackupTag.REPOSITORY_VERIFIED if result.ok else BackupTag.REPOSITORY_DAMAGED,
            caller,
            outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE,
            full=result.full,
            snapshot=result.snapshot,
            problems=len(result.problems),
        )
        if result.ok:
            alerts.resolve_alerts(session, caller, [alerts.VERIFY_FAILED])
    if not result.ok:
        message = f"Verification found damage in the backup repository: {result.problems[0]}"
        alerts.raise_alert(runtime, caller, alerts.VERIFY_FAILED, message)


def manifest_problems(store: BackupStore, snapshot: str, *, full: bool) -> list[str]:
    """Parts the manifest lists that are missing, of the wrong size, or (full) wrong hash."""
    files = {f.path: f.size for f in store.files(snapshot)}
    if MANIFEST not in files:
        return [f"snapshot {snapshot[:8]} has no manifest: it is not a complete Carewall backup"]
    raw = bytearray()
    store.read(snapshot, MANIFEST, raw.extend)
    manifest = Manifest.from_json(bytes(raw))
    problems = []
    for part in manifest.parts:
        if part.path not in files:
            problems.append(f"snapshot {snapshot[:8]}: {part.path} is missing")
        elif files[part.path] != part.size:
            problems.append(f"snapshot {snapshot[:8]}: {part.path} has the wrong size")
        elif full:
            problems += _hash_problems(store, snapshot, part.path, part.sha256)
    return problems


def _hash_problems(store: BackupStore, snapshot: str, path: str, expected: str) -> list[str]:
    """Read one part back through restic and compare its SHA-256 with the manifest's."""
    digest = hashlib.sha256()
    try:
        store.read(snapshot, path, digest.update)
    except BackupError as exc:  # a damaged pack under it: restic cannot decrypt the part
        return [f"snapshot {snapshot[:8]}: {path} cannot be read back ({exc.message})"]
    if digest.hexdigest() != expected:
        return [f"snapshot {snapshot[:8]}: {path} does not match its SHA-256"]
    return []


def prune_snapshots(runtime: Runtime, caller: Caller, *, trigger: str, wait: bool = False) -> int:
    """Apply the keep-daily/weekly/monthly policy (`restic forget --prune`), one
    repository job at a time (`backup_lock`: restic refuses a prune beside anything)."""
    store = open_store(runtime)
    with backup_lock(runtime.settings.home, wait=wait):
        return _prune(runtime, store, caller, trigger)


def _prune(runtime: Runtime, store: BackupStore, caller: Caller, trigger: str) -> int:
    settings = runtime.settings
    policy = RetentionPolicy(
        settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly
    )
    try:
        before = len(store.snapshots())
        store.unlock_stale()
        store.forget(policy)
        refresh_snapshots(runtime, store)
        with runtime.db.sessions() as session:
            removed = before - len(snapshots_seen(session))
    except Exception as exc:
        tag, kind = BackupTag.PRUNE_FAILED, alerts.PRUNE_FAILED
        raise _failed(runtime, caller, None, tag, kind, exc) from exc
    with runtime.db.transaction() as session:
        if removed:
            audit(session, BackupTag.SNAPSHOTS_PRUNED, caller, removed=removed, trigger=trigger)
        alerts.resolve_alerts(session, caller, [alerts.PRUNE_FAILED])
    return removed


def drill_backups(
    runtime: Runtime, caller: Caller, *, trigger: str, wait: bool = False
) -> DrillReport:
    """Run a restore drill on the latest snapshot and record its result and duration,
    one repository job at a time (`backup_lock`)."""
    store = open_store(runtime)
    with backup_lock(runtime.settings.home, wait=wait):
        return _drill(runtime, store, caller, trigger)


def _drill(runtime: Runtime, store: BackupStore, caller: Caller, trigger: str) -> DrillReport:
    run_id = start_run(runtime, "drill", trigger, caller, sole=True)
    try:
        report = run_drill(runtime, store, password_for(runtime))
    except Exception as exc:
        tag, kind = BackupTag.DRILL_FAILED, alerts.DRILL_FAILED
        raise _failed(runtime, caller, run_id, tag, kind, exc) from exc
    with runtime.db.transaction() as session:
        finish_run(
            session,
            run_id,
            SUCCESS if report.ok else FAILURE,
            snapshot_id=report.snapshot,
            records_checked=report.records_checked,
            chain_entries=report.chain_entries,
            message=_drill_summary(report),
        )
        audit(
            session,
            BackupTag.DRILL_PASSED if report.ok else BackupTag.DRILL_FAILED,
            caller,
            subject=f"snapshot:{report.snapshot}",
            outcome=Outcome.SUCCESS if report.ok else Outcome.FAILURE,
            seconds=round(report.duration_seconds, 2),
            records_checked=report.records_checked,
            chain_entries=report.chain_entries,
            problems=len(report.problems),
        )
        if report.ok:
            alerts.resolve_alerts(session, caller, [alerts.DRILL_FAILED])
    if not report.ok:
        message = f"The restore drill found a problem: {report.problems[0]}"
        alerts.raise_alert(runtime, caller, alerts.DRILL_FAILED, message)
    return report


def _drill_summary(report: DrillReport) -> str:
    if not report.ok:
        return f"{len(report.problems)} problem(s): {report.problems[0]}"
    return (
        f"restored in {report.duration_seconds:.1f} s: {report.chain_entries} audit entries "
        f"verified, {report.records_checked} records decrypted"
    )


def check_health(runtime: Runtime, caller: Caller) -> str | None:
    """Warn (alert, mail, failing job) when the last good backup is older than allowed."""
    settings = runtime.settings
    now = utcnow()
    limit = timedelta(hours=settings.backup_max_age_hours)
    with runtime.db.sessions() as session:
        last = last_success(session, "backup")
        first = first_attempt(session)
    reference = last.started_at if last else first
    if reference is None or now - reference <= limit:
        with runtime.db.transaction() as session:
            alerts.resolve_alerts(session, caller, [alerts.BACKUP_MISSED])
        return None
    hours = int((now - reference).total_seconds() // 3600)
    message = (
        f"No backup has succeeded for {hours} hours (allowed: {settings.backup_max_age_hours})."
        if last
        else f"No backup has succeeded since backups started {hours} hours ago."
    )
    alerts.raise_alert(runtime, caller, alerts.BACKUP_MISSED, message)
    raise BackupError(message, code="backup_missed")


def refresh_snapshots(runtime: Runtime, store: BackupStore) -> None:
    """Mirror the repository's snapshot list (with sizes) into the database."""
    _sync(runtime, store, store.snapshots(), None)


def _record_backup(runtime: Runtime, store: BackupStore, new: BackupSummary) -> BackupSummary:
    """Mirror the snapshot list with the new snapshot's figures; `new` with its full id
    (restic 0.14 reports a new snapshot by its short id)."""
    snapshots = store.snapshots()
    full = [s.id for s in snapshots if s.id.startswith(new.snapshot_id)]
    new = replace(new, snapshot_id=full[-1]) if full else new
    _sync(runtime, store, snapshots, new)
    return new


def _sync(
    runtime: Runtime, store: BackupStore, snapshots: list[Snapshot], new: BackupSummary | None
) -> None:
    with runtime.db.sessions() as session:
        known = {row.snapshot_id: row for row in session.scalars(select(BackupSnapshot))}
    unsized = [s.id for s in snapshots if s.id not in known or known[s.id].size_bytes is None]
    if new is not None and new.snapshot_id in unsized:
        unsized.remove(new.snapshot_id)
    sizes = {sid: store.size(sid) for sid in unsized[-_SIZES_PER_REFRESH:]}
    _mirror(runtime, snapshots, new, sizes)


def _mirror(
    runtime: Runtime,
    snapshots: list[Snapshot],
    new: BackupSummary | None,
    sizes: dict[str, tuple[int, int]],
) -> None:
    now = utcnow()
    with runtime.db.transaction() as session:
        ids = [s.id for s in snapshots]
        session.execute(delete(BackupSnapshot).where(BackupSnapshot.snapshot_id.not_in(ids)))
        for snapshot in snapshots:
            row = session.get(BackupSnapshot, snapshot.id) or BackupSnapshot(
                snapshot_id=snapshot.id
            )
            row.short_id, row.taken_at = snapshot.short_id, snapshot.time
            row.hostname, row.seen_at = snapshot.hostname[:120], now
            row.carewall_version = snapshot.carewall_version
            if new is not None and snapshot.id == new.snapshot_id:
                row.size_bytes, row.added_bytes = new.bytes_processed, new.bytes_added
                row.files = new.files
            elif snapshot.id in sizes:
                row.size_bytes, row.files = sizes[snapshot.id]
            session.add(row)


def _failed(
    runtime: Runtime,
    caller: Caller,
    run_id: str | None,
    tag: BackupTag,
    alert_kind: str,
    exc: BaseException,
) -> CarewallError:
    """Close the run as failed, audit why, open the alert; returns the error to raise."""
    error = as_backup_error(exc)
    with runtime.db.transaction() as session:
        if run_id is not None:
            finish_run(session, run_id, FAILURE, message=error.message)
        audit(session, tag, caller, outcome=Outcome.FAILURE, reason=error.message[:200])
    alerts.raise_alert(runtime, caller, alert_kind, error.message)
    return error
