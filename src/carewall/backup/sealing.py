"""The backup password: generated, sealed for scheduled runs, and sealing the master key.

Two things are sealed here, with standard primitives only (`cryptography`'s
AES-256-GCM, argon2-cffi's Argon2id):

- `master.key` inside each backup, under a key derived from the backup
  password (Argon2id, RFC 9106 second recommended profile). The repository is
  encrypted by restic with the same password; sealing the key again means the
  staged and restored files never hold the master key in clear either.
- The backup password itself, in the data directory (`backup-password.sealed`),
  under the `backup-password` data key, which the master key wraps. Scheduled
  runs read it there. It does NOT replace the copy the administrator keeps
  offline: whoever loses the data directory loses this copy with it, and
  without the password no backup can be read.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carewall.backup.errors import BackupError, WrongPasswordError
from carewall.core import crypto
from carewall.core.crypto import KeyRing
from carewall.core.errors import DecryptionError
from carewall.core.keystore import Keystore

SEALING_PURPOSE = "backup-password"  # the data key that seals the password in the data directory
SEALED_COPY = "backup-password.sealed"
_SEALED_KEY_FORMAT = "carewall-sealed-master-key-1"
_COPY_FORMAT = "carewall-sealed-backup-password-1"
_PASSWORD_AAD = b"carewall:backup-password:v1"
# RFC 9106 section 4, second recommended option: t=3, 64 MiB, 4 lanes.
_KDF = {"name": "argon2id", "time_cost": 3, "memory_cost": 65536, "parallelism": 4}
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to copy by hand


def generate_password(groups: int = 6, size: int = 5) -> str:
    """A random password to write on paper: 6 groups of 5 characters, about 148 bits."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(size)) for _ in range(groups))


def seal_master_key(ring: KeyRing, password: str) -> bytes:
    """The key file text, encrypted under a key derived from `password` (JSON bytes)."""
    kdf: dict[str, Any] = {**_KDF, "salt": _b64(secrets.token_bytes(16))}
    header = {"format": _SEALED_KEY_FORMAT, "kdf": kdf}
    nonce = secrets.token_bytes(crypto.NONCE_BYTES)
    sealed = AESGCM(_derive(password, kdf)).encrypt(nonce, ring.serialize().encode(), _aad(header))
    body = {**header, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
    return (json.dumps(body, indent=2) + "\n").encode()


def unseal_master_key(data: bytes, password: str) -> KeyRing:
    """The key ring from a sealed key file; WrongPasswordError if the password is not it."""
    try:
        body = json.loads(data)
        header = {"format": body["format"], "kdf": body["kdf"]}
        nonce, sealed = _unb64(body["nonce"]), _unb64(body["ciphertext"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError("The sealed master key in this backup is not readable.") from exc
    if header["format"] != _SEALED_KEY_FORMAT or header["kdf"].get("name") != "argon2id":
        raise BackupError("The sealed master key is in a format this Carewall does not know.")
    try:
        plain = AESGCM(_derive(password, header["kdf"])).decrypt(nonce, sealed, _aad(header))
    except InvalidTag as exc:
        raise WrongPasswordError(
            "The backup password does not open the master key sealed in this backup."
        ) from exc
    return KeyRing.parse(plain.decode())


def _derive(password: str, kdf: dict[str, Any]) -> bytes:
    return hash_secret_raw(
        secret=password.encode("utf-8"),
        salt=_unb64(str(kdf["salt"])),
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_cost"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=crypto.KEY_BYTES,
        type=Type.ID,
    )


def _aad(header: dict[str, Any]) -> bytes:
    """The format and KDF parameters are authenticated: weakening them breaks the seal."""
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def store_password(keys: Keystore, home: Path, password: str) -> Path:
    """Keep a sealed copy of the password in the data directory (mode 0600)."""
    sealed = crypto.encrypt(keys.data_key(SEALING_PURPOSE), password.encode(), _PASSWORD_AAD)
    body = json.dumps({"format": _COPY_FORMAT, "sealed": _b64(sealed)}) + "\n"
    path = home / SEALED_COPY
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path


def stored_password(keys: Keystore, home: Path) -> str | None:
    """The sealed copy of the password, or None when there is none."""
    path = home / SEALED_COPY
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        sealed = _unb64(body["sealed"])
        plain = crypto.decrypt(keys.data_key(SEALING_PURPOSE), sealed, _PASSWORD_AAD)
    except (ValueError, KeyError, TypeError, DecryptionError) as exc:
        raise BackupError(
            f"{path} cannot be read with this master key. Set CAREWALL_BACKUP_PASSWORD, "
            "or run `carewall backup init` again with it to replace the sealed copy."
        ) from exc
    return plain.decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
