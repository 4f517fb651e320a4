"""Verifying the trail end to end: the chain, its MACs, and every signed checkpoint.

The chain pass (`chain.verify`) finds an edit, an insertion or a deletion inside
the trail, and with the audit key an edit whose later hashes were recomputed.
What it cannot see is the trail made shorter at its end, or put back to an
older copy: both leave a consistent chain. Checkpoints can: each one, signed
with a key that is not in the database, says how far the trail reached and
what its head was. They are read from the database, from the checkpoint
directory and from any file given, and each valid one is compared with the
trail now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text

from carewall.audit.chain import VerifyResult, unkeyed_through, verify
from carewall.audit.checkpoints import CheckpointFileError, public_key
from carewall.audit.events import AuditEvent, Outcome
from carewall.audit.models import AuditCheckpoint, AuditEntry
from carewall.audit.proof import (
    Checkpoint,
    ProofFormatError,
    SignedCheckpoint,
    fingerprint,
    read_checkpoint_file,
    signature_valid,
)
from carewall.audit.services import record
from carewall.audit.tags import AuditTag
from carewall.core.context import Caller
from carewall.core.db import Database
from carewall.core.runtime import Runtime

_MAX_FILE = 64 * 1024


@dataclass(frozen=True)
class Problem:
    """Something wrong with the trail, and the first entry it concerns (if one)."""

    position: int | None
    text: str


@dataclass(frozen=True)
class TrailReport:
    """The chain pass, how many signed checkpoints were checked, and what is wrong."""

    chain: VerifyResult
    checkpoints: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    @property
    def position(self) -> int | None:
        """The first entry something is wrong with."""
        found = [p.position for p in self.problems if p.position is not None]
        return min(found) if found else None


@dataclass
class _Seen:
    signed: SignedCheckpoint
    sources: list[str]
    stored: bool


def load_checkpoint_file(path: Path) -> SignedCheckpoint:
    """A checkpoint file given by hand (CheckpointFileError when it is not one)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise CheckpointFileError(
            f"Cannot read {path}: {exc.strerror or exc}.", status=400
        ) from exc
    if len(data) > _MAX_FILE:
        raise CheckpointFileError(f"{path} is too large to be a checkpoint file.", status=400)
    try:
        return read_checkpoint_file(data)
    except ProofFormatError as exc:
        raise CheckpointFileError(f"{path} is not a checkpoint file: {exc}.", status=400) from exc


def verify_trail(
    runtime: Runtime,
    *,
    deep: bool = True,
    files: Sequence[Path] = (),
    progress: Callable[[int], None] | None = None,
) -> TrailReport:
    """Verify the chain and compare it with every stored checkpoint and `files`."""
    given = [(str(path), load_checkpoint_file(path)) for path in files]
    chain = verify(runtime.db, deep=deep, progress=progress)
    problems: list[Problem] = []
    if not chain.ok:
        intact = f"{chain.count} entries before it are intact"
        problems.append(Problem(chain.position, f"{chain.reason}. {intact}"))
    seen, unreadable = _collect(runtime, given)
    problems.extend(unreadable)
    valid, invalid = _signed_by_us(seen, public_key(runtime))
    problems.extend(invalid)
    problems.extend(_compare(runtime.db, valid))
    return TrailReport(chain, len(valid), tuple(problems))


def verify_and_record(
    runtime: Runtime,
    caller: Caller,
    *,
    deep: bool = True,
    files: Sequence[Path] = (),
    progress: Callable[[int], None] | None = None,
) -> TrailReport:
    """`verify_trail`, its outcome recorded in the trail (the risk report reads it)."""
    report = verify_trail(runtime, deep=deep, files=files, progress=progress)
    tag = AuditTag.CHAIN_VERIFIED if report.ok else AuditTag.CHAIN_BROKEN
    details: dict[str, str | int | None] = {
        "count": report.chain.count,
        "position": report.position,
        "checkpoints": report.checkpoints,
        "problems": len(report.problems),
    }
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(
                action=tag,
                outcome=Outcome.SUCCESS if report.ok else Outcome.FAILURE,
                actor=caller.ref,
                details=details,
            ),
        )
    return report


def _collect(
    runtime: Runtime, given: Iterable[tuple[str, SignedCheckpoint]]
) -> tuple[list[_Seen], list[Problem]]:
    """Every checkpoint once (by its signed bytes and signature), with where it was found."""
    seen: dict[bytes, _Seen] = {}
    with runtime.db.sessions() as session:
        rows = session.execute(
            select(AuditCheckpoint.statement, AuditCheckpoint.signature).order_by(
                AuditCheckpoint.seq
            )
        )
        for statement, signature in rows:
            signed = SignedCheckpoint(bytes(statement), bytes(signature))
            seen[signed.statement + signed.signature] = _Seen(signed, ["the database"], stored=True)
    problems: list[Problem] = []
    directory = runtime.settings.effective_checkpoint_dir
    found: list[tuple[str, SignedCheckpoint]] = []
    for path in sorted(directory.glob("checkpoint-*.json")) if directory.is_dir() else []:
        try:
            found.append((str(path), read_checkpoint_file(path.read_bytes()[:_MAX_FILE])))
        except (OSError, ProofFormatError) as exc:
            problems.append(Problem(None, f"{path} is not a readable checkpoint ({exc})"))
    for source, signed in [*found, *given]:
        known = seen.get(signed.statement + signed.signature)
        if known is None:
            seen[signed.statement + signed.signature] = _Seen(signed, [source], stored=False)
        else:
            known.sources.append(source)
    return list(seen.values()), problems


def _label(checkpoint: Checkpoint, sources: Sequence[str]) -> str:
    return (
        f"the checkpoint at entry {checkpoint.seq} signed {checkpoint.created[:19]}Z "
        f"({', '.join(sources)})"
    )


def _signed_by_us(
    seen: Iterable[_Seen], public: bytes
) -> tuple[list[tuple[Checkpoint, str]], list[Problem]]:
    """The checkpoints whose signature holds, and a problem for each other one."""
    ours = fingerprint(public)
    valid: list[tuple[Checkpoint, str]] = []
    problems: list[Problem] = []
    for item in seen:
        try:
            checkpoint = item.signed.checkpoint
        except ProofFormatError as exc:
            where = ", ".join(item.sources)
            problems.append(Problem(None, f"a checkpoint in {where} is not readable ({exc})"))
            continue
        label = _label(checkpoint, item.sources)
        if checkpoint.key != ours:
            problems.append(
                Problem(None, f"{label} names the key {checkpoint.key}, not this one ({ours})")
            )
        elif not signature_valid(public, item.signed.statement, item.signed.signature):
            problems.append(
                Problem(None, f"{label}: its signature does not verify (altered or forged)")
            )
        else:
            if not item.stored:
                problems.append(
                    Problem(
                        None,
                        f"{label} is missing from the database: its record there was deleted",
                    )
                )
            valid.append((checkpoint, label))
    return valid, problems


def _compare(db: Database, valid: Sequence[tuple[Checkpoint, str]]) -> list[Problem]:
    """Each valid checkpoint against the trail now: its boundary, its length, its head.

    Several checkpoints past the end say one thing (the newest is reported);
    after the first one whose head differs, the later ones differ too (the
    earliest is reported, narrowed by the last one that still matches).
    """
    problems: list[Problem] = []
    unkeyed = unkeyed_through(db)
    with db.sessions() as session:
        head = int(session.scalar(select(func.max(AuditEntry.seq))) or 0)
    if unkeyed > 0 and not valid:
        problems.append(
            Problem(
                None,
                f"no signed checkpoint states that entries 1 to {unkeyed} predate the keyed "
                "chain (run `carewall audit checkpoint`)",
            )
        )
    truncated: Problem | None = None
    rewritten: Problem | None = None
    last_good = 0
    for checkpoint, label in sorted(valid, key=lambda item: item[0].seq):
        if checkpoint.unkeyed_through != unkeyed:
            problems.append(
                Problem(
                    min(unkeyed, checkpoint.unkeyed_through) + 1,
                    f"{label} says entries up to {checkpoint.unkeyed_through} carry no MAC, "
                    f"the database says {unkeyed}: the boundary was moved",
                )
            )
        if head < checkpoint.seq:
            truncated = Problem(
                head + 1,
                f"the trail ends at entry {head}, but {label} vouches for {checkpoint.seq} "
                f"entries: entries {head + 1} to {checkpoint.seq} were deleted (truncation, "
                "or the database was put back to an older copy)",
            )
            continue
        if rewritten is not None:
            continue
        found = _hash_at(db, checkpoint.seq)
        if found == checkpoint.head_hash:
            last_good = checkpoint.seq
            continue
        where = (
            f"between entries {last_good + 1} and {checkpoint.seq}"
            if last_good
            else f"at or before entry {checkpoint.seq}"
        )
        what = "is missing" if found is None else "differs from its signed hash"
        rewritten = Problem(
            last_good + 1,
            f"entry {checkpoint.seq} {what} in {label}: the trail was rewritten {where} "
            "(or rolled back and written again)",
        )
    problems.extend(p for p in (rewritten, truncated) if p is not None)
    return problems


def _hash_at(db: Database, seq: int) -> bytes | None:
    """SHA-256 of the stored body at `seq` (never the stored hash column, which is editable)."""
    query = text("SELECT body FROM audit_entries WHERE seq = :seq")
    with db.engine.connect() as connection:
        body = connection.execute(query, {"seq": seq}).scalar()
    return None if body is None else hashlib.sha256(bytes(body)).digest()
