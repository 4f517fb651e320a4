"""The MAC and checkpoint formats, without a database."""

from __future__ import annotations

import hmac
import os

import pytest

from carewall.audit.proof import (
    Checkpoint,
    MacChecker,
    ProofFormatError,
    SignedCheckpoint,
    entry_mac,
    fingerprint,
    load_public_key,
    public_bytes,
    public_key_pem,
    read_checkpoint_file,
    sign,
    signature_valid,
)


@pytest.mark.parametrize("size", [16, 32, 64, 65, 100])
def test_the_fast_mac_is_hmac_sha256(size: int) -> None:
    key = os.urandom(size)
    check = MacChecker(key)
    for _ in range(20):
        entry_hash = os.urandom(32)
        assert check(entry_hash) == hmac.digest(key, entry_hash, "sha256")
        assert check(entry_hash) == entry_mac(key, entry_hash)


def _checkpoint(seed: bytes) -> Checkpoint:
    return Checkpoint(
        seq=42,
        head_hash=bytes(range(32)),
        entries=42,
        created="2026-12-01T19:00:00.000000+00:00",
        unkeyed_through=7,
        key=fingerprint(public_bytes(seed)),
    )


def test_a_checkpoint_file_round_trips_and_any_change_breaks_its_signature() -> None:
    seed = os.urandom(32)
    statement = _checkpoint(seed).statement()
    signed = SignedCheckpoint(statement, sign(seed, statement))
    read = read_checkpoint_file(signed.to_file(public_bytes(seed)))
    assert read == signed
    assert read.checkpoint == _checkpoint(seed)
    assert signature_valid(public_bytes(seed), read.statement, read.signature)
    changed = statement.replace(b'"seq":42', b'"seq":43')
    assert not signature_valid(public_bytes(seed), changed, read.signature)
    assert not signature_valid(public_bytes(os.urandom(32)), statement, read.signature)


def test_public_keys_load_from_pem_or_hex_and_nothing_else() -> None:
    public = public_bytes(os.urandom(32))
    assert load_public_key(public_key_pem(public)) == public
    assert load_public_key(public.hex().encode()) == public
    for bad in (b"", b"zz", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", b"00"):
        with pytest.raises(ProofFormatError):
            load_public_key(bad)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"format": "x"}',
        b"\xff\xfe",
        b'{"format": "carewall-audit-checkpoint-file/1"}',
    ],
)
def test_malformed_checkpoint_files_are_a_format_error(data: bytes) -> None:
    with pytest.raises(ProofFormatError):
        read_checkpoint_file(data)
