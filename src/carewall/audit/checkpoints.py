"""Signed checkpoints: made in the database and written outside it.

A checkpoint is appended as an audit entry of its own (`audit:checkpoint:written`)
and then signed over that entry, so it vouches for itself too and an idle
trail does not need another one. The row commits with the entry; the file in
`CAREWALL_AUDIT_CHECKPOINT_DIR` (created with O_EXCL, read-only, never
replaced) and the optional mail go out after the commit: a checkpoint outside
the database must never name an entry that did not commit, or verification
would report a truncation that never happened.

The signing key is the `audit-signing` data key used as an Ed25519 seed: wrapped
by the key-encryption key like every data key, so `carewall keys rotate`
re-wraps it and the public key stays the same.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.audit.events import AuditEvent, Outcome
from carewall.audit.models import AuditChainState, AuditCheckpoint, AuditEntry
from carewall.audit.proof import Checkpoint, SignedCheckpoint, fingerprint, public_bytes, sign
from carewall.audit.services import record
from carewall.audit.tags import AuditTag
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.db import new_id
from carewall.core.errors import CarewallError
from carewall.core.keystore import AUDIT_MAC_PURPOSE
from carewall.core.mail import MailError, OutgoingMail
from carewall.core.runtime import Runtime

log = logging.getLogger(__name__)

SIGNING_PURPOSE = "audit-signing"
#: The audit trail's data keys: the chain's MAC key and the checkpoint signing seed.
DATA_KEYS = (AUDIT_MAC_PURPOSE, SIGNING_PURPOSE)
#: Read-only; group-readable so that a collector account in the service group can copy
#: them off the host (the default directory is inside the 0700 data directory).
FILE_MODE = 0o440
DIRECTORY_MODE = 0o700


class CheckpointFileError(CarewallError):
    """A checkpoint file could not be written or read."""

    code = "checkpoint_file"
    status = 500


@dataclass(frozen=True)
class CheckpointMade:
    """A checkpoint just signed, and where its copies went."""

    checkpoint: Checkpoint
    signed: SignedCheckpoint
    files: tuple[Path, ...]
    mailed: bool


def public_key(runtime: Runtime) -> bytes:
    """This installation's raw Ed25519 public key (what `carewall audit pubkey` exports)."""
    return public_bytes(runtime.keys.data_key(SIGNING_PURPOSE))


def write_checkpoint(
    runtime: Runtime, caller: Caller, *, trigger: str, out: Path | None = None
) -> CheckpointMade:
    """Sign the chain's head now: a row, a file in the checkpoint directory (and at
    `out`), and a mail when one is configured."""
    seed = runtime.keys.data_key(SIGNING_PURPOSE)  # before the write lock (see data keys)
    key = fingerprint(public_bytes(seed))
    with runtime.db.transaction() as session:
        entry = record(
            session,
            AuditEvent(
                action=AuditTag.CHECKPOINT_WRITTEN,
                actor=caller.ref,
                source_ip=caller.origin.ip,
                user_agent=caller.origin.user_agent,
                details={"trigger": trigger, "key": key},
            ),
        )
        checkpoint = Checkpoint(
            seq=entry.seq,
            head_hash=entry.entry_hash,
            entries=int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0),
            created=entry.ts.isoformat(timespec="microseconds"),
            unkeyed_through=_unkeyed_through(session),
            key=key,
        )
        statement = checkpoint.statement()
        signed = SignedCheckpoint(statement, sign(seed, statement))
        session.add(
            AuditCheckpoint(
                id=new_id(),
                seq=checkpoint.seq,
                head_hash=checkpoint.head_hash,
                entries=checkpoint.entries,
                created=entry.ts,
                key_fingerprint=key,
                statement=statement,
                signature=signed.signature,
            )
        )
    content = signed.to_file(public_bytes(seed))
    files = _write_copies(runtime, caller, checkpoint, content, out)
    mailed = _mail(runtime, caller, checkpoint, content)
    return CheckpointMade(checkpoint, signed, files, mailed)


def _unkeyed_through(session: Session) -> int:
    found = session.scalar(select(AuditChainState.unkeyed_through).where(AuditChainState.id == 1))
    return int(found or 0)


def file_name(checkpoint: Checkpoint) -> str:
    """`checkpoint-000000001234-20261201T190000Z.json`: sorted by position, then time."""
    stamp = checkpoint.created[:19].replace("-", "").replace(":", "")
    return f"checkpoint-{checkpoint.seq:012d}-{stamp}Z.json"


def _write_copies(
    runtime: Runtime, caller: Caller, checkpoint: Checkpoint, content: bytes, out: Path | None
) -> tuple[Path, ...]:
    directory = runtime.settings.effective_checkpoint_dir
    try:
        written = [write_new_file(directory, file_name(checkpoint), content)]
        if out is not None:
            written.append(_write_private(out, content))
    except OSError as exc:
        _audit_failure(runtime, caller, AuditTag.CHECKPOINT_FILE_FAILED, checkpoint, "file")
        raise CheckpointFileError(
            f"The checkpoint at entry {checkpoint.seq} is stored in the database, but its file "
            f"could not be written: {exc.strerror or exc}."
        ) from exc
    return tuple(written)


def write_new_file(directory: Path, name: str, content: bytes) -> Path:
    """Create `directory/name` read-only; an existing file is never replaced (O_EXCL)."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=DIRECTORY_MODE)
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # the mode asked for, whatever the umask
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _write_private(path: Path, content: bytes) -> Path:
    """An on-demand copy (`--out`): replaced if it exists, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    return path


def _mail(runtime: Runtime, caller: Caller, checkpoint: Checkpoint, content: bytes) -> bool:
    """Mail the checkpoint to the security officer, when configured; a failure is audited."""
    to = runtime.settings.audit_checkpoint_mail_to.strip()
    if not to:
        return False
    body = (
        "Carewall signed a checkpoint of its audit trail. Keep this message: with the public "
        "key (`carewall audit pubkey`) it lets anyone check an export of the trail, even if "
        "the server's database is later changed.\n\n"
        f"Entry: {checkpoint.seq}\nTime: {checkpoint.created}\nKey: {checkpoint.key}\n\n"
        "Save the part below as a .json file for "
        "`carewall audit verify --checkpoint FILE`:\n\n" + content.decode("ascii")
    )
    subject = f"Carewall audit checkpoint at entry {checkpoint.seq}"
    try:
        runtime.mail.send(OutgoingMail(to=to, subject=subject, body=body))
    except MailError:
        log.warning("the audit checkpoint at entry %s could not be mailed", checkpoint.seq)
        _audit_failure(runtime, caller, AuditTag.CHECKPOINT_MAIL_FAILED, checkpoint, "mail")
        return False
    return True


def _audit_failure(
    runtime: Runtime, caller: Caller, tag: AuditTag, checkpoint: Checkpoint, what: str
) -> None:
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(
                action=tag,
                outcome=Outcome.FAILURE,
                actor=caller.ref,
                details={"checkpoint_seq": checkpoint.seq, "copy": what},
            ),
        )


def checkpoint_due(session: Session, settings: Settings) -> bool:
    """Whether enough entries or enough time passed since the last checkpoint.

    The last checkpoint is itself the newest entry while nothing else happened,
    so an idle trail is not signed again and again.
    """
    head = int(session.scalar(select(func.max(AuditEntry.seq))) or 0)
    last = session.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.created)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.created.desc())
        .limit(1)
    ).first()
    if last is None:
        return head > 0
    added = head - int(last.seq)
    if added >= settings.audit_checkpoint_every_entries:
        return True
    age: timedelta = utcnow() - last.created
    return added > 0 and age >= timedelta(minutes=settings.audit_checkpoint_every_minutes)


def write_due_checkpoint(runtime: Runtime, caller: Caller) -> None:
    """The `audit.checkpoint.write` job: sign a checkpoint when one is due.

    Returns nothing: the checkpoint's own entry records the run, and a job
    summary would add an entry after it (and so make the next one due).
    """
    with runtime.db.sessions() as session:
        due = checkpoint_due(session, runtime.settings)
    if due:
        write_checkpoint(runtime, caller, trigger="schedule")


def seal_unkeyed_range(runtime: Runtime) -> None:
    """At the first start after revision 0015: sign a checkpoint that states which
    entries predate the keyed chain, before anything else can move that boundary.

    Runs only while no checkpoint exists anywhere, in the database or in the
    checkpoint directory; a directory holding checkpoints that the database lost
    is for `carewall audit verify` to report, not for this step to paper over.
    """
    with runtime.db.sessions() as session:
        unkeyed = _unkeyed_through(session)
        stored = session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    directory = runtime.settings.effective_checkpoint_dir
    if unkeyed == 0 or stored or (directory.is_dir() and any(directory.glob("checkpoint-*"))):
        return
    try:
        write_checkpoint(runtime, Caller.job("audit.checkpoint.write"), trigger="upgrade")
    except CheckpointFileError as exc:
        log.warning("%s", exc.message)
