"""Settings defaults and masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from carewall.core.config import Settings


def test_defaults_use_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'carewall.db'}"
    assert settings.master_key_path == tmp_path / "master.key"


def test_masked_hides_secrets_and_url_passwords(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        master_key="c2VjcmV0",
        database_url="postgresql+psycopg://carewall:hunter2@db:5432/carewall",
    )
    shown = settings.masked()
    assert shown["master_key"] == "********"
    assert "hunter2" not in str(shown)
    assert shown["database_url"] == "postgresql+psycopg://carewall:********@db:5432/carewall"


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREWALL_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError):
        Settings()
