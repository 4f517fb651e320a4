"""The keyed chain and signed checkpoints against someone who can write to the database.

The attacker here holds the database, not the key-encryption key: they edit an
entry and recompute every later SHA-256 hash, delete the newest entries, or
move the boundary of the entries that predate the keying. Each must be named
by `carewall audit verify` (and, for an exported trail, by the offline
verifier on a machine with no key and no database).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import text

from carewall.audit import (
    AuditEvent,
    export_fhir,
    latest_checkpoint,
    public_key,
    record,
    verify,
    verify_trail,
    write_checkpoint,
)
from carewall.audit.proof import (
    SignedCheckpoint,
    fingerprint,
    public_bytes,
    public_key_pem,
    sign,
)
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.db import Database, alembic_config
from carewall.core.runtime import Runtime, open_runtime
from carewall.jobs import run_pending
from carewall.registry import evidence_providers, install, job_registry
from tests.support.audit import append_unkeyed
from tests.support.cli import CliResult, carewall
from tests.support.clock import FrozenClock
from tests.support.mail import smtp_inbox

CLI = Caller.cli()


def _append(runtime: Runtime, count: int) -> None:
    for i in range(count):
        with runtime.db.transaction() as session:
            record(
                session,
                AuditEvent(action="test:thing:done", actor="user:test", details={"i": i}),
            )


def _sql(runtime: Runtime, statement: str, **params: object) -> None:
    with runtime.db.engine.begin() as connection:
        connection.execute(text(statement), params)


def _rewrite_and_rechain(runtime: Runtime, seq: int, edit: Callable[[bytes], bytes]) -> None:
    """What an attacker with the database does: edit entry `seq`, then recompute the
    link and hash of it and of every entry after it, keeping the MACs as they were."""
    with runtime.db.engine.begin() as connection:
        rows = connection.execute(
            text("SELECT seq, body FROM audit_entries WHERE seq >= :s ORDER BY seq"), {"s": seq}
        ).all()
        prev: bytes | None = None
        for number, body in rows:
            body = bytes(body)
            if number == seq:
                body = edit(body)
            if prev is not None:
                body = prev + body[32:]
            prev = hashlib.sha256(body).digest()
            connection.execute(
                text("UPDATE audit_entries SET body = :b, entry_hash = :h WHERE seq = :s"),
                {"b": body, "h": prev, "s": number},
            )


def _texts(runtime: Runtime, **kwargs: object) -> tuple[list[str], int | None]:
    report = verify_trail(runtime, **kwargs)  # type: ignore[arg-type]
    return [p.text for p in report.problems], report.position


def test_an_edit_with_every_later_hash_recomputed_is_named_by_its_mac(runtime: Runtime) -> None:
    _append(runtime, 10)
    _rewrite_and_rechain(runtime, 4, lambda b: b.replace(b'"user:test"', b'"user:evil"'))
    _sql(runtime, "UPDATE audit_entries SET actor = 'user:evil' WHERE seq = 4")
    plain = Database.connect(runtime.settings.effective_database_url)
    try:
        assert verify(plain).ok, "the SHA-256 chain alone cannot tell (the old weakness)"
    finally:
        plain.dispose()
    result = verify(runtime.db)
    assert (result.ok, result.position, result.keyed) == (False, 4, True)
    assert "MAC does not match" in result.reason


def test_an_entry_inserted_without_a_mac_is_named(runtime: Runtime) -> None:
    _append(runtime, 5)
    _sql(runtime, "UPDATE audit_entries SET mac = NULL WHERE seq = 3")
    result = verify(runtime.db, deep=False)
    assert (result.ok, result.position) == (False, 3)
    assert "no MAC" in result.reason


def test_deleting_the_newest_entries_is_found_against_a_stored_checkpoint(
    runtime: Runtime,
) -> None:
    _append(runtime, 10)
    made = write_checkpoint(runtime, CLI, trigger="test")
    assert made.checkpoint.seq == 11  # the checkpoint's own entry is the head it signs
    _append(runtime, 3)
    assert verify_trail(runtime).ok
    _sql(runtime, "DELETE FROM audit_entries WHERE seq >= 9")
    assert verify(runtime.db).ok, "a shorter chain is still a consistent chain"
    problems, position = _texts(runtime)
    assert position == 9
    assert any("entries 9 to 11 were deleted" in p for p in problems), problems


def test_truncation_is_found_against_an_exported_checkpoint_file(
    runtime: Runtime, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _append(runtime, 6)
    exported = tmp_path / "elsewhere.json"
    result = _carewall(cli_env, "audit", "checkpoint", "--out", str(exported))
    assert result.returncode == 0, result.stderr
    # The attacker deletes the last entries and every checkpoint the server holds.
    _sql(runtime, "DELETE FROM audit_entries WHERE seq >= 5")
    _sql(runtime, "DELETE FROM audit_checkpoints")
    for path in runtime.settings.effective_checkpoint_dir.iterdir():
        path.unlink()
    # Nothing the server holds can tell (and this run's own entry now takes position 5).
    assert _carewall(cli_env, "audit", "verify").returncode == 0
    result = _carewall(cli_env, "audit", "verify", "--checkpoint", str(exported))
    assert result.returncode == 1
    assert "entries 6 to 7 were deleted" in result.stderr
    assert "missing from the database" in result.stderr
    assert "Traceback" not in result.stderr
    result = _carewall(cli_env, "audit", "verify", "--checkpoint", str(tmp_path / "nowhere.json"))
    assert result.returncode == 1
    assert "Cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rollback_to_an_older_copy_is_named(runtime: Runtime) -> None:
    """The database put back to an older state and written again: the head at the
    checkpoint's position is another entry now."""
    _append(runtime, 4)
    first = write_checkpoint(runtime, CLI, trigger="test").checkpoint.seq
    _append(runtime, 4)
    second = write_checkpoint(runtime, CLI, trigger="test").checkpoint.seq
    _sql(runtime, "DELETE FROM audit_entries WHERE seq > :s", s=first)
    _append(runtime, 6)  # new entries written over the old positions, validly keyed
    assert verify(runtime.db).ok
    problems, position = _texts(runtime)
    assert position == first + 1
    assert any(
        f"entry {second} differs from its signed hash" in p
        and f"between entries {first + 1} and {second}" in p
        for p in problems
    ), problems


def test_a_forged_checkpoint_and_a_foreign_key_are_refused(
    runtime: Runtime, tmp_path: Path
) -> None:
    _append(runtime, 3)
    made = write_checkpoint(runtime, CLI, trigger="test", out=tmp_path / "cp.json")
    document = json.loads((tmp_path / "cp.json").read_text())
    document["signature"] = document["signature"][:-8] + "AAAAAAA="
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    problems, _ = _texts(runtime, files=[forged])
    assert any("signature does not verify" in p for p in problems), problems
    # A checkpoint signed by another key (another installation, or an attacker's own).
    stranger = os.urandom(32)
    statement = replace(made.checkpoint, key=fingerprint(public_bytes(stranger))).statement()
    foreign = tmp_path / "foreign.json"
    foreign.write_bytes(
        SignedCheckpoint(statement, sign(stranger, statement)).to_file(public_bytes(stranger))
    )
    problems, _ = _texts(runtime, files=[foreign])
    assert any(f"not this one ({made.checkpoint.key})" in p for p in problems), problems
    # A stored checkpoint whose statement was edited in the database.
    _sql(runtime, "UPDATE audit_checkpoints SET statement = :s", s=b"{not json")
    problems, _ = _texts(runtime)
    assert any("in the database is not readable" in p for p in problems), problems


def test_files_are_read_only_never_replaced_and_the_job_writes_only_when_due(
    settings: Settings, clock: FrozenClock
) -> None:
    runtime = open_runtime(
        settings.model_copy(
            update={"audit_checkpoint_every_entries": 5, "audit_checkpoint_every_minutes": 30}
        )
    )
    directory = runtime.settings.effective_checkpoint_dir

    def tick() -> int:
        """One minute passes and the job runner runs what is due; how many files exist."""
        clock.advance(minutes=1, seconds=1)
        run_pending(runtime, job_registry(), worker="test", only="audit.checkpoint.write")
        return len(list(directory.glob("checkpoint-*.json"))) if directory.is_dir() else 0

    try:
        assert tick() == 0, "nothing to sign yet"
        _append(runtime, 2)
        assert tick() == 1, "the first checkpoint comes as soon as there are entries"
        assert tick() == 1
        clock.advance(hours=2)
        assert tick() == 1, "an idle trail is not signed again"
        _append(runtime, 2)
        assert tick() == 2, "due by time: entries were added and 30 minutes passed"
        _append(runtime, 2)
        assert tick() == 2, "2 entries in a minute: not due"
        _append(runtime, 5)
        assert tick() == 3, "due by count"
        files = sorted(directory.glob("checkpoint-*.json"))
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o440
        with pytest.raises(FileExistsError):
            os.open(files[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        assert verify_trail(runtime).checkpoints == 3
    finally:
        runtime.close()


def test_a_checkpoint_is_mailed_to_the_security_officer(settings: Settings) -> None:
    with smtp_inbox() as inbox:
        runtime = open_runtime(
            settings.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": inbox.port,
                    "smtp_starttls": False,
                    "audit_checkpoint_mail_to": "officer@clinic.example",
                }
            )
        )
        try:
            _append(runtime, 2)
            made = write_checkpoint(runtime, CLI, trigger="test")
        finally:
            runtime.close()
    assert made.mailed
    assert inbox.messages[0]["To"] == "officer@clinic.example"
    assert f"entry {made.checkpoint.seq}" in inbox.messages[0]["Subject"]
    assert '"statement"' in inbox.body()


def test_the_audit_evidence_names_the_latest_checkpoint(runtime: Runtime) -> None:
    _append(runtime, 2)
    made = write_checkpoint(runtime, CLI, trigger="test")
    section = evidence_providers()["audit"](runtime)
    checkpoint = section["checkpoint"]
    assert checkpoint["seq"] == made.checkpoint.seq
    assert checkpoint["head_hash"] == made.checkpoint.head_hash.hex()
    assert checkpoint["key_fingerprint"] == made.checkpoint.key
    assert checkpoint["created"].startswith(made.checkpoint.created[:19])
    with runtime.db.sessions() as session:
        latest = latest_checkpoint(session)
    assert latest is not None
    assert latest.seq == made.checkpoint.seq


def test_key_rotation_keeps_the_chain_and_its_checkpoints_verifiable(
    runtime: Runtime, cli_env: dict[str, str]
) -> None:
    _append(runtime, 5)
    write_checkpoint(runtime, CLI, trigger="test")
    before = public_key(runtime)
    result = _carewall(cli_env, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    _append(runtime, 2)  # this process still holds the audit key it opened with
    result = _carewall(cli_env, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "against 1 signed checkpoint" in result.stdout
    reopened = open_runtime(runtime.settings)
    try:
        assert public_key(reopened) == before
        _append(reopened, 2)
        assert verify_trail(reopened).ok
    finally:
        reopened.close()


def _carewall(env: dict[str, str], *args: str) -> CliResult:
    return carewall({**env, "COLUMNS": "400"}, *args)


def _offline(tmp_path: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """The offline verifier as on another machine: no settings, no data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    env["CAREWALL_HOME"] = str(tmp_path / "no-such-home")
    env["CAREWALL_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [sys.executable, "-m", "carewall.audit.verify_offline", *map(str, files)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert not (tmp_path / "no-such-home").exists()
    return result


def _export(runtime: Runtime, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        export_fhir(runtime.db, stream)
    return path


def test_the_offline_verifier_passes_an_honest_export_and_names_a_rewrite(
    runtime: Runtime, tmp_path: Path
) -> None:
    _append(runtime, 8)
    checkpoint = tmp_path / "checkpoint.json"
    write_checkpoint(runtime, CLI, trigger="test", out=checkpoint)
    _append(runtime, 3)
    pubkey = tmp_path / "audit.pem"
    pubkey.write_bytes(public_key_pem(public_key(runtime)))

    honest = _offline(tmp_path, _export(runtime, tmp_path / "honest.ndjson"), checkpoint, pubkey)
    assert honest.returncode == 0, honest.stderr
    assert "OK: 12 entries" in honest.stdout

    lines = (tmp_path / "honest.ndjson").read_text().splitlines()
    (tmp_path / "short.ndjson").write_text("\n".join(lines[:6]) + "\n")
    short = _offline(tmp_path, tmp_path / "short.ndjson", checkpoint, pubkey)
    assert short.returncode == 1
    assert "entries 7 to 9 were deleted" in short.stderr

    _rewrite_and_rechain(runtime, 3, lambda b: b.replace(b'"i":2', b'"i":7'))
    rewritten = _export(runtime, tmp_path / "rewritten.ndjson")
    result = _offline(tmp_path, rewritten, checkpoint, pubkey)
    assert result.returncode == 1
    assert "rewritten at or before entry 9" in result.stderr
    assert "Traceback" not in result.stderr

    other = tmp_path / "other.pem"
    other.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    unreadable = _offline(tmp_path, rewritten, checkpoint, other)
    assert unreadable.returncode == 2
    assert "Traceback" not in unreadable.stderr


def test_the_migration_from_0014_keeps_old_entries_verifiable_and_pins_them(
    settings: Settings,
) -> None:
    url = settings.effective_database_url
    db = Database.connect(url)
    try:
        with db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            # SQLite starts empty; PostgreSQL tests copy a database migrated to the head.
            if MigrationContext.configure(connection).get_current_revision() is None:
                command.upgrade(config, "0014")
            else:
                command.downgrade(config, "0014")
        append_unkeyed(
            db, [AuditEvent(action="test:old:entry", details={"i": i}) for i in range(5)]
        )
    finally:
        db.dispose()

    runtime = install(open_runtime(settings))  # migrates, then seals the old entries (as serve)
    try:
        with runtime.db.sessions() as session:
            sealed = latest_checkpoint(session)
        assert sealed is not None, "the first start signs a checkpoint"
        assert sealed.seq == 6
        _append(runtime, 3)
        report = verify_trail(runtime)
        assert report.ok, report.problems
        assert report.chain.keyed
        assert report.chain.count == 9
        # Moving the boundary to exempt new entries from their MAC is caught.
        _sql(runtime, "UPDATE audit_entries SET mac = NULL WHERE seq > 5")
        _sql(runtime, "UPDATE audit_chain_state SET unkeyed_through = 1000")
        problems, _ = _texts(runtime)
        assert any("the boundary was moved" in p for p in problems), problems
    finally:
        runtime.close()


def test_the_offline_verifier_loads_no_database_layer_or_settings() -> None:
    """What it imports is the standard library, `cryptography` and the proof formats."""
    probe = (
        "import sys, carewall.audit.verify_offline\n"
        "heavy = {'sqlalchemy', 'pydantic_settings', 'carewall.core.config', 'carewall.core.db'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
