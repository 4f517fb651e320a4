"""The data directory is 0700, the database, its WAL and shared memory and the key 0600.

Other accounts on the host must not read a byte of the data directory, whatever
the umask of the shell or service manager that started Carewall (issue 9, item 8).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from carewall.core.config import Settings
from carewall.core.runtime import open_runtime


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that lets everybody read new files, as a careless service unit might."""
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


def _write(settings: Settings) -> None:
    runtime = open_runtime(settings)
    try:
        with runtime.db.transaction() as session:  # a write creates the WAL and SHM files
            session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            session.execute(text("INSERT INTO probe VALUES (1)"))
        home = settings.home
        db = settings.sqlite_path
        assert mode(home) == 0o700
        assert mode(settings.master_key_path) == 0o600
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            assert path.exists(), path
            assert mode(path) == 0o600, f"{path.name} is {mode(path):o}"
    finally:
        runtime.close()


def test_new_data_directory_and_database_are_private(tmp_path: Path, loose_umask: None) -> None:
    _write(Settings(home=tmp_path / "deep" / "home"))


def test_files_an_older_version_left_open_are_narrowed(tmp_path: Path, loose_umask: None) -> None:
    settings = Settings(home=tmp_path / "home")
    _write(settings)
    settings.home.chmod(0o755)
    settings.sqlite_path.chmod(0o644)
    wal = settings.sqlite_path.with_name("carewall.db-wal")
    wal.touch(mode=0o666)  # an empty WAL left beside the file, as after a crash
    _write(settings)


def test_a_database_outside_the_data_directory_is_private_too(
    tmp_path: Path, loose_umask: None
) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    runtime = open_runtime(Settings(home=tmp_path / "home", database_url=f"sqlite:///{elsewhere}"))
    runtime.close()
    assert mode(elsewhere) == 0o600


def test_carewall_init_under_a_loose_umask_keeps_everything_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"CAREWALL_HOME": str(home), "PATH": "/usr/bin:/bin"}
    out = tmp_path / "trail.ndjson"
    for args in (["init"], ["audit", "export", "--format", "fhir", "--out", str(out)]):
        result = subprocess.run(
            [sys.executable, "-m", "carewall", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            umask=0o000,
        )
        assert result.returncode == 0, result.stderr
    assert mode(home) == 0o700
    assert mode(home / "master.key") == 0o600
    assert mode(home / "carewall.db") == 0o600
    assert mode(out) == 0o600, "an export of the audit trail is private too"
    leftovers = [p.name for p in home.iterdir() if mode(p) & 0o077]
    assert not leftovers
