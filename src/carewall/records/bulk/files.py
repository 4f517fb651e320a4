"""The NDJSON output files of an export, sealed at rest under the `records-bulk` key.

A file is plaintext only in the task that writes it and in the response of its
download: stored, it is AES-256-GCM under its own data key (one key per
purpose: an export's files never share the vault's `records` key), with
`bulk/{export id}/{file id}` as associated data so a ciphertext copied to
another row does not decrypt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from carewall.core import crypto
from carewall.core.keystore import Keystore

BULK_KEY = "records-bulk"


def ndjson(resources: Iterable[dict[str, Any]]) -> bytes:
    """Resources as newline-delimited JSON: one compact object per line."""
    return b"".join(
        json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in resources
    )


def _aad(export_id: str, file_id: str) -> bytes:
    return f"bulk/{export_id}/{file_id}".encode()


def seal_file(keys: Keystore, export_id: str, file_id: str, body: bytes) -> bytes:
    """Encrypt one output file for its row."""
    return crypto.encrypt(keys.data_key(BULK_KEY), body, _aad(export_id, file_id))


def open_file(keys: Keystore, export_id: str, file_id: str, sealed: bytes) -> bytes:
    """Decrypt one output file (`DecryptionError` if it was moved or altered)."""
    return crypto.decrypt(keys.data_key(BULK_KEY), sealed, _aad(export_id, file_id))
