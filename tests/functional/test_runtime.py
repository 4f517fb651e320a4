"""Opening a data directory: key file creation and the refusals that protect data."""

from __future__ import annotations

import stat

import pytest

from carewall.core.config import Settings
from carewall.core.errors import MasterKeyError
from carewall.core.runtime import open_runtime


def test_fresh_data_directory_gets_a_key_file_at_0600(settings: Settings) -> None:
    assert not settings.home.exists()
    runtime = open_runtime(settings)
    runtime.close()
    assert stat.S_IMODE(settings.master_key_path.stat().st_mode) == 0o600
    assert settings.home.is_dir()


def test_missing_key_file_with_encrypted_data_refuses_to_start(settings: Settings) -> None:
    open_runtime(settings).close()
    settings.master_key_path.unlink()
    with pytest.raises(MasterKeyError, match=r"Restore master\.key"):
        open_runtime(settings)


def test_a_different_key_file_refuses_to_start(settings: Settings) -> None:
    open_runtime(settings).close()
    settings.master_key_path.unlink()
    other = settings.model_copy(update={"database_url": None, "home": settings.home / "other"})
    open_runtime(other).close()
    settings.master_key_path.write_bytes(other.master_key_path.read_bytes())
    settings.master_key_path.chmod(0o600)
    with pytest.raises(MasterKeyError, match="not the one this database"):
        open_runtime(settings)


def test_key_file_with_open_permissions_refuses_to_start(settings: Settings) -> None:
    open_runtime(settings).close()
    settings.master_key_path.chmod(0o640)
    with pytest.raises(MasterKeyError, match="readable by its owner only"):
        open_runtime(settings)


def test_data_keys_survive_rotation(settings: Settings) -> None:
    runtime = open_runtime(settings)
    before = runtime.keys.data_key("records")
    version = runtime.keys.rotate(settings)
    runtime.close()
    assert version == 2
    reopened = open_runtime(settings)
    assert reopened.keys.ring.active_version == 2
    assert reopened.keys.data_key("records") == before
    reopened.close()
