"""The `carewall` command: in-process for what it does, as a process for how it starts and exits."""

from __future__ import annotations

from sqlalchemy import text

from carewall import __version__
from carewall.audit import AuditEvent, record
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime
from tests.support.cli import carewall, carewall_process


def test_version(cli_env: dict[str, str]) -> None:
    result = carewall_process(cli_env, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"carewall {__version__}"


def test_unknown_command_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = carewall_process(cli_env, "frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_config_show_masks_secrets(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "CAREWALL_MASTER_KEY": "c2VjcmV0LXNlY3JldC1zZWNyZXQ="}
    result = carewall(env, "config", "show")
    assert result.returncode == 0
    assert "CAREWALL_MASTER_KEY" in result.stdout
    assert "c2VjcmV0" not in result.stdout
    assert "********" in result.stdout


def test_invalid_setting_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = carewall_process({**cli_env, "CAREWALL_PORT": "eighty"}, "config", "show")
    assert result.returncode == 1
    assert "CAREWALL_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_the_data_directory(cli_env: dict[str, str], settings: Settings) -> None:
    result = carewall(cli_env, "init")
    assert result.returncode == 0, result.stderr
    assert settings.master_key_path.exists()
    assert "Back up" in result.stdout


def test_audit_verify_reports_ok_with_the_count(cli_env: dict[str, str], runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        for _ in range(3):
            record(session, AuditEvent(action="test:thing:done"))
    result = carewall(cli_env, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "OK: 3 audit entries verified" in result.stdout


def test_audit_verify_names_the_tampered_entry(cli_env: dict[str, str], runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        for i in range(8):
            record(session, AuditEvent(action="test:thing:done", subject=f"s{i}"))
    with runtime.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET subject = 'forged' WHERE seq = 5"))
    result = carewall(cli_env, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at entry 5" in " ".join(result.stderr.split())


def test_keys_rotate_keeps_data_keys_readable(cli_env: dict[str, str], runtime: Runtime) -> None:
    before = runtime.keys.data_key("records")
    result = carewall(cli_env, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    assert "version 2" in result.stdout
    reopened = open_runtime(runtime.settings)
    assert reopened.keys.data_key("records") == before
    reopened.close()
