"""The keyed link and the signed checkpoint: formats and checks, with no database.

Two proofs sit on top of the public SHA-256 chain (`events.py`):

- Each entry's `mac` is HMAC-SHA256 of its hash under the audit key, a data key
  wrapped by the key-encryption key. Anyone can recompute the SHA-256 chain
  from an export; only the key holder can write a MAC that verifies, so an edit
  with every later hash recomputed fails at the edited entry.
- A checkpoint is an Ed25519 signature over a short statement: the head's seq
  and hash, how many entries the chain held, when, which entries predate the
  keying, and the signing key's fingerprint. Kept outside the database too, it
  catches what MACs cannot: the newest entries deleted (truncation) or the
  whole database put back to an older copy (rollback).

This module imports only the standard library and `cryptography`, so the
offline verifier (`verify_offline.py`) uses the same code without settings,
keys or a database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

STATEMENT_FORMAT = "carewall-audit-checkpoint/1"
FILE_FORMAT = "carewall-audit-checkpoint-file/1"
HASH_BYTES = 32


class ProofFormatError(ValueError):
    """A checkpoint, a key or an export line is not in the expected form."""


def entry_mac(key: bytes, entry_hash: bytes) -> bytes:
    """The MAC stored beside an entry: HMAC-SHA256(audit key, entry hash).

    The hash already covers the entry and, through the previous hash, every
    entry before it; one HMAC over 32 bytes keeps an append cheap.
    """
    return hmac.digest(key, entry_hash, "sha256")


class MacChecker:
    """`entry_mac` for many entries in a row: HMAC (RFC 2104) with the inner and outer
    SHA-256 states keyed once, so each entry costs two hash-state copies instead of
    `hmac.digest`'s per-call set-up (measured at about half the verify speed)."""

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest()
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, entry_hash: bytes) -> bytes:
        """The MAC of one entry hash (equal to `entry_mac(key, entry_hash)`)."""
        inner = self._inner.copy()
        inner.update(entry_hash)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def mac_matches(key: bytes, entry_hash: bytes, mac: bytes) -> bool:
    """Whether `mac` is this entry's MAC (constant-time comparison)."""
    return hmac.compare_digest(entry_mac(key, entry_hash), mac)


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint states. `entries` is the row count when it was signed
    (equal to `seq` on an intact, dense chain)."""

    seq: int
    head_hash: bytes
    entries: int
    created: str
    unkeyed_through: int
    key: str

    def statement(self) -> bytes:
        """The exact bytes that are signed: canonical JSON (sorted keys, no spaces)."""
        payload = {
            "format": STATEMENT_FORMAT,
            "seq": self.seq,
            "head_hash": self.head_hash.hex(),
            "entries": self.entries,
            "created": self.created,
            "unkeyed_through": self.unkeyed_through,
            "key": self.key,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("ascii")


def parse_statement(statement: bytes) -> Checkpoint:
    """The checkpoint a signed statement describes (ProofFormatError when it is not one)."""
    try:
        payload = json.loads(statement.decode("ascii"))
        if not isinstance(payload, dict) or payload.get("format") != STATEMENT_FORMAT:
            raise ProofFormatError("not a Carewall audit checkpoint statement")
        head = bytes.fromhex(str(payload["head_hash"]))
        checkpoint = Checkpoint(
            seq=_count(payload["seq"]),
            head_hash=head,
            entries=_count(payload["entries"]),
            created=str(payload["created"]),
            unkeyed_through=_count(payload["unkeyed_through"]),
            key=str(payload["key"]),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, ProofFormatError):
            raise
        raise ProofFormatError(f"the checkpoint statement is malformed ({exc})") from exc
    if len(head) != HASH_BYTES:
        raise ProofFormatError("the checkpoint's head hash is not a SHA-256 hash")
    return checkpoint


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofFormatError(f"{value!r} is not a count")
    return value


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 key whose 32-byte seed is the `audit-signing` data key."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_bytes(seed: bytes) -> bytes:
    """The raw 32-byte public key of a signing seed."""
    return (
        signing_key(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def fingerprint(public_key: bytes) -> str:
    """How a checkpoint names its key: SHA-256 of the raw public key, in hex."""
    return "sha256:" + hashlib.sha256(public_key).hexdigest()


def sign(seed: bytes, statement: bytes) -> bytes:
    """The Ed25519 signature of a statement."""
    return signing_key(seed).sign(statement)


def signature_valid(public_key: bytes, statement: bytes, signature: bytes) -> bool:
    """Whether `signature` is the key's signature of `statement`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, statement)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_pem(public_key: bytes) -> bytes:
    """The public key as a PEM SubjectPublicKeyInfo block (what `audit pubkey` writes)."""
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(data: bytes) -> bytes:
    """A raw Ed25519 public key from a PEM file, or 64 hex digits."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError as exc:
            raise ProofFormatError("the public key file is not a readable PEM key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ProofFormatError("the public key is not an Ed25519 key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProofFormatError("the public key is neither PEM nor 64 hex digits") from exc
    if len(raw) != 32:
        raise ProofFormatError("an Ed25519 public key has 32 bytes")
    return raw


@dataclass(frozen=True)
class SignedCheckpoint:
    """A statement with its signature: what the database row and the file both hold."""

    statement: bytes
    signature: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        """What the statement says (ProofFormatError when it says nothing readable)."""
        return parse_statement(self.statement)

    def to_file(self, public_key: bytes) -> bytes:
        """The file written outside the database: the signed bytes, and a readable copy.

        The readable `checkpoint` and the embedded public key are conveniences;
        verification reads `statement` and takes the public key from the verifier.
        """
        readable = json.loads(self.statement)
        document = {
            "format": FILE_FORMAT,
            "checkpoint": readable,
            "statement": base64.b64encode(self.statement).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": public_key.hex(),
        }
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")


def read_checkpoint_file(data: bytes) -> SignedCheckpoint:
    """The signed checkpoint in a file written by `SignedCheckpoint.to_file`."""
    try:
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise ProofFormatError("not a Carewall audit checkpoint file")
        signed = SignedCheckpoint(
            base64.b64decode(str(document["statement"]), validate=True),
            base64.b64decode(str(document["signature"]), validate=True),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        if isinstance(exc, ProofFormatError):
            raise
        raise ProofFormatError(f"the checkpoint file is malformed ({exc})") from exc
    signed.checkpoint  # noqa: B018 - parse now, so a bad statement fails here
    return signed
