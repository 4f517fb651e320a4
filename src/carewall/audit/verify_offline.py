"""Check an exported audit trail against a signed checkpoint, on any machine.

    python -m carewall.audit.verify_offline EXPORT CHECKPOINT PUBKEY

EXPORT is the NDJSON that `carewall audit export --format fhir` writes,
CHECKPOINT a file from the checkpoint directory (or `carewall audit checkpoint
--out`, or the security officer's mail), PUBKEY what `carewall audit pubkey`
writes. Needs no key-encryption key, no settings and no database: it reads the
three files, recomputes every entry's SHA-256 hash and link from the stored
bodies the export carries, checks the checkpoint's Ed25519 signature, and
compares the trail with it. Exit 0 when everything holds, 1 when something is
wrong (each problem named), 2 when a file cannot be read.

What it cannot check without the audit key is each entry's MAC: an edit with
every later hash recomputed passes the chain here, and is caught by the
checkpoint when the edit is older than the checkpoint (and online, by
`carewall audit verify`, whatever its age).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carewall.audit.proof import (
    HASH_BYTES,
    Checkpoint,
    ProofFormatError,
    fingerprint,
    load_public_key,
    read_checkpoint_file,
    signature_valid,
)

CHAIN_SYSTEM = "urn:carewall:audit-chain"
_GENESIS = bytes(HASH_BYTES)
_MAX_PROBLEMS = 20


@dataclass
class OfflineReport:
    """What the offline check found."""

    entries: int = 0
    checkpoint: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the export matches the checkpoint and its chain holds."""
        return not self.problems


@dataclass(frozen=True)
class _Link:
    seq: int
    stated_hash: str
    action: str
    body: bytes


def verify_export(
    lines: Iterable[str], checkpoint_file: bytes, public_key_file: bytes
) -> OfflineReport:
    """Check an export's chain and compare it with a signed checkpoint."""
    report = OfflineReport()
    signed = read_checkpoint_file(checkpoint_file)
    public = load_public_key(public_key_file)
    checkpoint = signed.checkpoint
    report.checkpoint = checkpoint
    if checkpoint.key != fingerprint(public):
        report.problems.append(
            f"the checkpoint names the key {checkpoint.key}, not the public key given "
            f"({fingerprint(public)})"
        )
        return report
    if not signature_valid(public, signed.statement, signed.signature):
        report.problems.append("the checkpoint's signature does not verify: altered or forged")
        return report
    head_at_checkpoint = _walk(_links(lines, report), checkpoint.seq, report)
    _compare(checkpoint, head_at_checkpoint, report)
    return report


def _walk(links: Iterator[_Link], at: int, report: OfflineReport) -> bytes | None:
    """Recompute the chain; return the hash of entry `at` (None if the export stops first)."""
    prev, expected, found = _GENESIS, 1, None
    for link in links:
        if link.seq != expected:
            report.problems.append(
                f"entry {expected} is missing from the export (the next one is {link.seq})"
            )
            return found
        problem = _link_problem(link, prev)
        if problem:
            report.problems.append(f"entry {link.seq}: {problem}")
            return found
        prev = hashlib.sha256(link.body).digest()
        if link.seq == at:
            found = prev
        report.entries, expected = link.seq, expected + 1
    return found


def _link_problem(link: _Link, prev: bytes) -> str | None:
    if not link.body.startswith(prev):
        return "its link to the previous entry is broken (reordered, replaced or removed)"
    if hashlib.sha256(link.body).hexdigest() != link.stated_hash:
        return "its content does not match the hash the export states"
    try:
        body = json.loads(link.body[HASH_BYTES:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "its stored body is not an audit record"
    if not isinstance(body, dict) or body.get("seq") != link.seq:
        return "its stored body carries another sequence number"
    if body.get("action") != link.action:
        return "the action the export shows is not the one in its hashed body"
    return None


def _compare(checkpoint: Checkpoint, found: bytes | None, report: OfflineReport) -> None:
    if report.problems:
        return
    if report.entries < checkpoint.seq:
        report.problems.append(
            f"the export ends at entry {report.entries}, but the checkpoint signed "
            f"{checkpoint.created[:19]}Z vouches for {checkpoint.seq} entries: entries "
            f"{report.entries + 1} to {checkpoint.seq} were deleted (truncation or rollback)"
        )
    elif found != checkpoint.head_hash:
        report.problems.append(
            f"entry {checkpoint.seq} differs from the signed checkpoint: the trail was "
            f"rewritten at or before entry {checkpoint.seq}"
        )


def _links(lines: Iterable[str], report: OfflineReport) -> Iterator[_Link]:
    """The chain entity of each exported AuditEvent (a malformed line ends the walk)."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield _link(json.loads(line))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            report.problems.append(f"line {number} of the export is not an exported entry ({exc})")
            return


def _link(resource: Any) -> _Link:
    for entity in resource["entity"]:
        identifier = (entity.get("what") or {}).get("identifier") or {}
        if identifier.get("system") != CHAIN_SYSTEM:
            continue
        details = {d["type"]: d for d in entity.get("detail", [])}
        if "body" not in details:
            raise KeyError("the export carries no stored bodies; export it again")
        return _Link(
            seq=int(details["seq"]["valueString"]),
            stated_hash=str(details["sha256"]["valueString"]),
            action=str(details["action"]["valueString"]),
            body=base64.b64decode(details["body"]["valueBase64Binary"], validate=True),
        )
    raise KeyError("no audit chain entity")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m carewall.audit.verify_offline",
        description="Check an exported Carewall audit trail against a signed checkpoint.",
    )
    parser.add_argument("export", type=Path, help="NDJSON from `carewall audit export`")
    parser.add_argument("checkpoint", type=Path, help="a signed checkpoint file")
    parser.add_argument("pubkey", type=Path, help="the public key (`carewall audit pubkey`)")
    args = parser.parse_args(argv)
    try:
        checkpoint_file = args.checkpoint.read_bytes()
        public_key_file = args.pubkey.read_bytes()
        with args.export.open(encoding="utf-8") as lines:
            report = verify_export(lines, checkpoint_file, public_key_file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read the files: {exc}", file=sys.stderr)
        return 2
    except ProofFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report.ok and report.checkpoint is not None:
        print(
            f"OK: {report.entries} entries; the chain holds and matches the checkpoint at "
            f"entry {report.checkpoint.seq} signed {report.checkpoint.created[:19]}Z."
        )
        return 0
    for problem in report.problems[:_MAX_PROBLEMS]:
        print(f"BROKEN: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
