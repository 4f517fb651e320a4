"""Envelope encryption and the key ring."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from carewall.core import crypto
from carewall.core.errors import DecryptionError, MasterKeyError


def test_encrypt_round_trips_with_the_same_associated_data() -> None:
    key = crypto.generate_key()
    sealed = crypto.encrypt(key, b"blood pressure 120/80", b"Observation/1/1")
    assert b"120/80" not in sealed
    assert crypto.decrypt(key, sealed, b"Observation/1/1") == b"blood pressure 120/80"


def test_ciphertext_moved_to_another_row_fails() -> None:
    key = crypto.generate_key()
    sealed = crypto.encrypt(key, b"secret", b"Patient/a/1")
    with pytest.raises(DecryptionError):
        crypto.decrypt(key, sealed, b"Patient/b/1")


def test_wrong_key_is_a_clear_error_not_garbage() -> None:
    sealed = crypto.encrypt(crypto.generate_key(), b"secret", b"x")
    with pytest.raises(DecryptionError, match="failed authentication"):
        crypto.decrypt(crypto.generate_key(), sealed, b"x")


def test_truncated_ciphertext_is_refused() -> None:
    with pytest.raises(DecryptionError, match="truncated"):
        crypto.decrypt(crypto.generate_key(), b"short", b"x")


def test_data_key_survives_rotation_of_the_key_ring() -> None:
    ring = crypto.KeyRing({1: crypto.generate_key()})
    data_key = crypto.generate_key()
    wrapped = ring.wrap(data_key)
    rotated = ring.with_new_version()
    assert rotated.active_version == 2
    assert rotated.unwrap(wrapped) == data_key  # old version still readable
    moved = rotated.rewrap(wrapped)
    assert moved.kek_version == 2
    assert rotated.unwrap(moved) == data_key


def test_unwrap_with_a_different_master_key_fails_loudly() -> None:
    wrapped = crypto.KeyRing({1: crypto.generate_key()}).wrap(crypto.generate_key())
    with pytest.raises(MasterKeyError, match="wrong master key"):
        crypto.KeyRing({1: crypto.generate_key()}).unwrap(wrapped)


def test_key_ring_parses_every_supported_format() -> None:
    one, two = crypto.generate_key(), crypto.generate_key()
    b64 = base64.b64encode
    assert crypto.KeyRing.parse(b64(one).decode()).keys == {1: one}
    assert crypto.KeyRing.parse(f"1:{b64(one).decode()},2:{b64(two).decode()}").active_version == 2
    ring = crypto.KeyRing({1: one, 2: two})
    assert crypto.KeyRing.parse(ring.serialize()).keys == ring.keys


@pytest.mark.parametrize(
    "text", ["", "not base64!", "1:" + base64.b64encode(b"short").decode(), "{"]
)
def test_key_ring_rejects_malformed_keys(text: str) -> None:
    with pytest.raises(MasterKeyError):
        crypto.KeyRing.parse(text)


def test_key_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "master.key"
    ring = crypto.create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_key_file(path).keys == ring.keys


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    crypto.create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        crypto.load_key_file(path)


def test_blind_index_is_deterministic_and_keyed() -> None:
    key = crypto.generate_key()
    assert crypto.blind_index(key, "smith") == crypto.blind_index(key, "smith")
    assert crypto.blind_index(key, "smith") != crypto.blind_index(crypto.generate_key(), "smith")
