"""The vault's two data keys and the operations built on them.

Sealing and blind indexing use separate keys (one key per purpose): the index
key can be handed to a search component without letting it decrypt records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from carewall.core import crypto
from carewall.core.keystore import Keystore

RECORDS_KEY = "records"
INDEX_KEY = "records-index"
_SEP = "\x1f"
DATA_KEYS = (RECORDS_KEY, INDEX_KEY)


def prepare_keys(keys: Keystore) -> None:
    """Create the vault's data keys up front (SQLite: never inside a write transaction)."""
    for purpose in DATA_KEYS:
        keys.data_key(purpose)


def canonical_json(resource: dict[str, Any]) -> bytes:
    """Stable bytes of a resource (sorted keys, no spaces) for sealing and content MACs."""
    return json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RecordKeys:
    """The `records` (AES-256-GCM) and `records-index` (HMAC) data keys."""

    seal_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)

    @classmethod
    def from_keystore(cls, keys: Keystore) -> RecordKeys:
        """Load (or create) both keys."""
        return cls(keys.data_key(RECORDS_KEY), keys.data_key(INDEX_KEY))

    @staticmethod
    def aad(resource_type: str, logical_id: str, version: int) -> bytes:
        """Associated data binding a ciphertext to its row."""
        return f"{resource_type}/{logical_id}/{version}".encode()

    def seal(self, resource_type: str, logical_id: str, version: int, body: bytes) -> bytes:
        """Encrypt one resource version."""
        return crypto.encrypt(self.seal_key, body, self.aad(resource_type, logical_id, version))

    def open(self, resource_type: str, logical_id: str, version: int, sealed: bytes) -> bytes:
        """Decrypt one resource version; raises `DecryptionError` if moved or altered."""
        return crypto.decrypt(self.seal_key, sealed, self.aad(resource_type, logical_id, version))

    def blind(self, resource_type: str, param: str, normalised: str) -> str:
        """Blind index of a normalised search value, scoped to type and parameter."""
        return crypto.blind_index(self.index_key, _SEP.join((resource_type, param, normalised)))

    def patient_ref(self, patient_id: str) -> str:
        """The compartment key of a Patient logical id."""
        return crypto.blind_index(self.index_key, _SEP.join(("compartment", patient_id)))

    def content_mac(self, body: bytes) -> str:
        """Keyed digest of a resource's content, to skip unchanged re-imports unopened."""
        return crypto.blind_index(self.index_key, "content" + _SEP + body.decode())
