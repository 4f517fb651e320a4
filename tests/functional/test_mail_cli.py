"""`carewall mail analyze` run as a user would: table, JSON lines, exit codes, no data directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from carewall.core.config import Settings
from carewall.core.runtime import open_runtime
from carewall.phishing.simulation import SIMULATION_KEY
from tests.functional.mail_messages import PHISH_URL, clean_eml, phishing_eml, simulation_eml
from tests.support.cli import CliResult, carewall


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No database configured, and a data directory that must never be created."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    return {
        **clean,
        "CAREWALL_HOME": str(tmp_path / "never-created"),
        "CAREWALL_MAIL_ORG_DOMAINS": '["clinic.example"]',
        "COLUMNS": "200",
    }


def mail(env: dict[str, str], *args: str) -> CliResult:
    return carewall(env, "mail", *args)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "1-clean.eml").write_bytes(clean_eml())
    (folder / "2-phish.eml").write_bytes(phishing_eml())
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not mail")
    return folder


def test_clean_message_exits_0_with_a_table(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "clean.eml"
    path.write_bytes(clean_eml())
    result = mail(env, "analyze", str(path))
    assert result.returncode == 0, result.stderr
    assert "clean" in result.stdout
    assert "clean.eml" in result.stdout
    assert "1 message(s), 0 suspicious or phishing." in result.stdout
    assert not (tmp_path / "never-created").exists()


def test_directory_gives_a_table_progress_and_exit_1(
    env: dict[str, str], inbox: Path, tmp_path: Path
) -> None:
    result = mail(env, "analyze", str(inbox))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    phish_row = next(line for line in lines if "2-phish.eml" in line)
    assert "phishing" in phish_row
    assert "links.password_form" in result.stdout  # top signals with evidence
    assert "notes.pdf" not in result.stdout
    assert "2 message(s), 1 suspicious or phishing." in result.stdout
    assert "Analyzed 2 message(s)" in result.stderr  # the progress display, on stderr
    assert not (tmp_path / "never-created").exists()


def test_json_lines_per_message(env: dict[str, str], inbox: Path) -> None:
    result = mail(env, "analyze", str(inbox), "--json")
    assert result.returncode == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(o["file"]).name for o in objects] == ["1-clean.eml", "2-phish.eml"]
    assert [o["verdict"] for o in objects] == ["clean", "phishing"]
    phish = objects[1]
    assert isinstance(phish["score"], float)
    assert phish["score"] >= 5
    assert all(set(s) >= {"id", "weight", "explanation", "evidence"} for s in phish["signals"])
    assert any(s["evidence"] == PHISH_URL for s in phish["signals"])


def test_mbox_is_split_into_messages(env: dict[str, str], tmp_path: Path) -> None:
    # With a data directory, the CLI checks simulation markers with this Carewall's key.
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    key = runtime.keys.data_key(SIMULATION_KEY)
    runtime.close()
    mbox = tmp_path / "reported.mbox"
    envelope = b"From someone@example.org Mon Nov 23 09:00:00 2026\n"
    mbox.write_bytes(envelope + clean_eml() + b"\n" + envelope + simulation_eml(key) + b"\n")
    result = mail({**env, "CAREWALL_HOME": str(home)}, "analyze", str(mbox), "--json")
    assert result.returncode == 0, result.stderr  # our own simulation is not a threat
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"].rsplit("#", 1)[1] for o in objects] == ["1", "2"]
    assert objects[1]["simulation"] is True


def test_a_simulation_header_nobody_can_verify_is_a_threat(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "forged.eml"
    path.write_bytes(simulation_eml())  # unsigned, and no data directory holds a key
    result = mail(env, "analyze", str(path), "--json")
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["simulation"] is False
    assert "simulation.forged" in {s["id"] for s in verdict["signals"]}
    assert not Path(env["CAREWALL_HOME"]).exists(), "analyze never creates a data directory"


def test_usage_errors_exit_2_with_a_clear_message(env: dict[str, str], tmp_path: Path) -> None:
    missing = mail(env, "analyze", str(tmp_path / "nope.eml"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = mail(env, "analyze", str(empty))
    assert nothing.returncode == 2
    assert "no messages found" in nothing.stderr


def test_bad_threshold_settings_are_reported(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "clean.eml"
    path.write_bytes(clean_eml())
    result = mail({**env, "CAREWALL_MAIL_SUSPICIOUS_THRESHOLD": "9"}, "analyze", str(path))
    assert result.returncode == 1
    assert "CAREWALL_MAIL_SUSPICIOUS_THRESHOLD" in result.stderr
    assert "Traceback" not in result.stderr
