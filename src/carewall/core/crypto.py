"""Keys and envelope encryption, built only from `cryptography` primitives.

The key-encryption key (KEK) never encrypts data itself: it wraps random data
keys (AES key wrap, RFC 3394), and data keys encrypt records with AES-256-GCM
whose associated data binds a ciphertext to its row. Rotating the KEK therefore
means re-wrapping a handful of data keys, not re-encrypting every record.

KEKs carry a version so several can be live during a rotation; the key ring
encrypts with the newest and unwraps with whichever version a data key names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from carewall.core.errors import DecryptionError, MasterKeyError

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_FILE_MODE = 0o600
_CHECK_LABEL = b"carewall:kek-check:v1"


def generate_key() -> bytes:
    """A fresh random 256-bit key (for KEKs and data keys alike)."""
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped by one version of the KEK; safe to store in the database."""

    kek_version: int
    wrapped: bytes


@dataclass(frozen=True)
class KeyRing:
    """All live versions of the key-encryption key; the highest version is active."""

    keys: dict[int, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise MasterKeyError("The key ring is empty.")
        for version, key in self.keys.items():
            if version < 1 or len(key) != KEY_BYTES:
                raise MasterKeyError(f"Master key version {version} is not a 256-bit key.")

    @property
    def active_version(self) -> int:
        """The version that wraps new data keys."""
        return max(self.keys)

    def wrap(self, data_key: bytes) -> WrappedKey:
        """Wrap a data key with the active KEK."""
        version = self.active_version
        return WrappedKey(version, aes_key_wrap(self.keys[version], data_key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Unwrap with the version the data key names; fail loudly on a wrong key."""
        kek = self.keys.get(wrapped.kek_version)
        if kek is None:
            raise MasterKeyError(
                f"Master key version {wrapped.kek_version} is needed but not in the key ring."
            )
        try:
            return aes_key_unwrap(kek, wrapped.wrapped)
        except InvalidUnwrap as exc:
            raise MasterKeyError(
                "A data key does not unwrap with the master key: wrong master key?"
            ) from exc

    def rewrap(self, wrapped: WrappedKey) -> WrappedKey:
        """Re-wrap a data key under the active KEK (the core of key rotation)."""
        return self.wrap(self.unwrap(wrapped))

    def with_new_version(self) -> KeyRing:
        """A ring with one more, freshly generated KEK version that becomes active."""
        return KeyRing({**self.keys, self.active_version + 1: generate_key()})

    def check_value(self, version: int) -> str:
        """A non-secret fingerprint that proves the right key is loaded, stored in the DB."""
        digest = hmac.new(self.keys[version], _CHECK_LABEL, hashlib.sha256).digest()
        return digest[:16].hex()

    def serialize(self) -> str:
        """The key-file text: JSON with base64 keys by version."""
        body = {
            "format": "carewall-keyring-1",
            "keys": {str(v): base64.b64encode(k).decode() for v, k in sorted(self.keys.items())},
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read a key file, or a `CAREWALL_MASTER_KEY` value (one base64 key or `v:key,...`)."""
        text = text.strip()
        try:
            if text.startswith("{"):
                body = json.loads(text)
                return cls({int(v): _b64(k) for v, k in body["keys"].items()})
            if ":" in text:
                pairs = (item.split(":", 1) for item in text.split(","))
                return cls({int(v): _b64(k) for v, k in pairs})
            return cls({1: _b64(text)})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MasterKeyError(
                "The master key is not in a format Carewall understands "
                "(expected base64 of 32 bytes, or a Carewall key file)."
            ) from exc


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def load_key_file(path: Path) -> KeyRing:
    """Read the key file, refusing one that group or others could read."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise MasterKeyError(
            f"{path} has permissions {mode:o}; it must be readable by its owner only. "
            f"Run: chmod 600 {path}"
        )
    return KeyRing.parse(path.read_text(encoding="utf-8"))


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write the key file atomically with mode 0600 (created that way, never widened)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _KEY_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(ring.serialize())
        handle.flush()
        os.fsync(handle.fileno())
    tmp.chmod(_KEY_FILE_MODE)
    tmp.replace(path)


def create_key_file(path: Path) -> KeyRing:
    """Create a first key file and warn that it must be backed up separately."""
    ring = KeyRing({1: generate_key()})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_key_file(path, ring)
    log.warning(
        "Created a new master key at %s. Back it up separately from the database: "
        "without it, encrypted data cannot be recovered.",
        path,
    )
    return ring


def encrypt(data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """AES-256-GCM; the result is nonce || ciphertext || tag."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, associated_data)


def decrypt(data_key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """Inverse of `encrypt`; a wrong key, row or any tampering raises `DecryptionError`."""
    if len(sealed) < NONCE_BYTES + 16:
        raise DecryptionError("Encrypted value is truncated.")
    nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return AESGCM(data_key).decrypt(nonce, body, associated_data)
    except InvalidTag as exc:
        raise DecryptionError(
            "Encrypted value failed authentication (wrong key, moved or altered data)."
        ) from exc


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of two secrets as text, whatever characters `given` holds.

    `hmac.compare_digest` raises TypeError on a str with non-ASCII characters, and
    request headers, cookies and forms can carry any: compared as UTF-8 bytes
    (lone surrogates included), a foreign value is simply not equal.
    """
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )


def blind_index(index_key: bytes, value: str) -> str:
    """Keyed HMAC-SHA256 of an already-normalised value, for exact-match search.

    Equal inputs give equal outputs (that is the point, and the leakage): callers
    normalise first and choose which fields deserve an index.
    """
    return hmac.new(index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
