"""Pure parts of the backup domain: the sealed master key, restic's messages, the manifest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from carewall.backup import WrongPasswordError
from carewall.backup.errors import BackupBusyError, DiskFullError, RepositoryNotFoundError
from carewall.backup.manifest import ChainHead, DatabaseFacts, Manifest, Part
from carewall.backup.restic import _damage, _error, _parse_time, mask_location
from carewall.backup.sealing import generate_password, seal_master_key, unseal_master_key
from carewall.backup.staging import settings_without_secrets
from carewall.core.config import Settings
from carewall.core.crypto import KeyRing, generate_key


def test_the_sealed_master_key_opens_with_its_password_only() -> None:
    ring = KeyRing({1: generate_key(), 2: generate_key()})
    sealed = seal_master_key(ring, "correct horse")
    assert unseal_master_key(sealed, "correct horse").keys == ring.keys
    with pytest.raises(WrongPasswordError):
        unseal_master_key(sealed, "wrong horse")
    assert ring.serialize().encode() not in sealed


def test_weakening_the_kdf_parameters_breaks_the_seal() -> None:
    body = json.loads(seal_master_key(KeyRing({1: generate_key()}), "pw"))
    body["kdf"]["time_cost"] = 1  # an attacker's cheaper guesses must not open it
    with pytest.raises(WrongPasswordError):
        unseal_master_key(json.dumps(body).encode(), "pw")


def test_generated_passwords_are_long_random_and_easy_to_copy() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        groups = password.split("-")
        assert [len(g) for g in groups] == [5] * 6
        assert not set(password) & set("0o1li")


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ("Fatal: wrong password or no key found\n", WrongPasswordError),
        (
            "Fatal: unable to open config file: stat /x/config: no such file\n",
            RepositoryNotFoundError,
        ),
        (
            "Fatal: unable to create lock in backend: repository is already locked by PID 7",
            BackupBusyError,
        ),
        (
            "Save(<data/1a2b>) returned error: write /r/data/1a: no space left on device",
            DiskFullError,
        ),
    ],
)
def test_restic_failures_become_clear_errors(stderr: str, error: type[Exception]) -> None:
    assert isinstance(_error(stderr), error)


def test_a_damaged_pack_is_named() -> None:
    pack = "f90d3cc515d96ecb59e65483e0b4be5a304b6bf9e06c50ecca13b5eab9fa1330"
    output = (
        "check all packs\nread all data\n"
        f"Pack ID does not match, want {pack}, got 927909b7bb01791f\n"
        "Fatal: repository contains errors\n"
    )
    problems = _damage(output)
    assert len(problems) == 1
    assert pack in problems[0]
    assert f"data/f9/{pack}" in problems[0]
    assert _damage("no errors were found\n") == []


def test_restic_times_and_locations() -> None:
    assert _parse_time("2026-12-01T15:02:14.151523283Z") == datetime(
        2026, 12, 1, 15, 2, 14, 151523, tzinfo=UTC
    )
    assert _parse_time("2026-12-01T16:02:14+01:00").hour == 15
    assert mask_location("rest:https://clinic:s3cret@backup.example:8000/cw") == (
        "rest:https://clinic:********@backup.example:8000/cw"
    )
    assert mask_location("/mnt/usb/carewall") == "/mnt/usb/carewall"


def test_the_manifest_round_trips() -> None:
    manifest = Manifest(
        carewall_version="0.1.0",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        database=DatabaseFacts("sqlite", "0013", "3.40", ChainHead(9, "ab" * 32), {"t": 3}),
        parts=(Part("database/carewall.db", "cd" * 32, 4096),),
    )
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_the_backed_up_settings_hold_no_secret() -> None:
    settings = Settings(
        master_key=SecretStr("a" * 44),
        smtp_password=SecretStr("smtp-secret"),
        backup_password=SecretStr("backup-secret"),
        database_url="postgresql+psycopg://cw:db-secret@db:5432/cw",
        backup_repo="rest:https://clinic:repo-secret@backup.example/cw",
    )
    text = json.dumps(settings_without_secrets(settings), default=str)
    for secret in ("a" * 44, "smtp-secret", "backup-secret", "db-secret", "repo-secret"):
        assert secret not in text
    assert "master_key" not in text
    assert "backup.example" in text
