"""Backups that come back: consistent under writes, restorable anywhere, damage and kills found.

Everything runs for real: restic on a repository in the test's directory,
SQLite and PostgreSQL, the `carewall` command and a `carewall serve` process
on the restored data.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from carewall.audit import entries_with_action, verify
from carewall.backup import BackupTag
from carewall.backup.models import BackupRun
from carewall.backup.repository import open_store
from carewall.backup.restore import restore_into
from carewall.backup.services import create_backup, init_repository
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.records.access.audit_patients import reveal_entry
from carewall.records.models import FhirResource
from carewall.records.services import create_resource
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag
from carewall.registry import create_app
from tests.functional.backup_helpers import (
    BACKUP_PASSWORD,
    WRITER,
    add_documents,
    backup_runtime,
    biggest_pack,
    cli_env,
    empty_database,
    repository_files,
    seed_practice,
)
from tests.support.cli import carewall
from tests.support.factories import fhir_resource
from tests.support.server import start_server

SNAPSHOT_ID = re.compile(r"[0-9a-f]{64}")


def _postgres(settings: Settings) -> bool:
    return settings.effective_database_url.startswith("postgresql")


def _patients(runtime: Runtime) -> set[str]:
    with runtime.db.sessions() as session:
        query = select(FhirResource.logical_id).where(
            FhirResource.resource_type == "Patient", FhirResource.is_current.is_(True)
        )
        return set(session.scalars(query))


def _created_patients(runtime: Runtime) -> set[str]:
    """Patients whose creation the audit trail recorded."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        entries = entries_with_action(session, [RecordsTag.RESOURCE_CREATED], limit=100_000)
    revealed = [reveal_entry(keys, e) for e in entries]  # resource ids are sealed in entries
    return {str(e.details["id"]) for e in revealed if e.details.get("resource_type") == "Patient"}


def test_a_backup_taken_while_a_writer_writes_restores_whole_transactions(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    live = backup_runtime(runtime, tmp_path / "repo")
    seeded = seed_practice(live)
    init_repository(live, Caller.cli())
    stop, written = threading.Event(), list[str]()

    def write() -> None:
        while not stop.is_set():
            pid = f"w-{len(written)}"
            create_resource(live, WRITER, fhir_resource("Patient", pid))
            written.append(pid)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:  # the writer is busy before the backup starts
            time.sleep(0.02)
        create_backup(live, Caller.cli(), trigger="cli")
        written_during = len(written)
    finally:
        stop.set()
        writer.join()
    assert written_during > 5, "the writer kept writing while the backup ran"

    with empty_database(_postgres(settings)) as target_db:
        report = restore_into(
            open_store(live),
            "latest",
            tmp_path / "restored",
            BACKUP_PASSWORD,
            Caller.cli(),
            database_url=target_db,
        )
        restored = open_runtime(
            Settings(home=tmp_path / "restored", database_url=report.database_url)
        )
        try:
            patients = _patients(restored)
            # Every write is in the snapshot with its audit entry, or neither is: never half.
            assert patients == _created_patients(restored)
            assert set(seeded.patient_ids) <= patients
            assert patients <= _patients(live)
            assert verify(restored.db).ok
            with restored.db.sessions() as session:
                restores = entries_with_action(session, [BackupTag.RESTORE_COMPLETED])
            assert [e.subject for e in restores] == [f"snapshot:{report.snapshot}"]
            # The restored server serves the same records, to a token issued before the backup.
            with TestClient(create_app(restored)) as client:
                response = client.get(
                    "/fhir/Patient/bk-patient-1",
                    headers={"Authorization": f"Bearer {seeded.clinician_token}"},
                )
            assert response.status_code == 200, response.text
            assert response.json()["name"][0]["family"] == "Zyxwaldtorp1"
        finally:
            restored.close()


def test_the_cli_restores_into_an_absent_home_and_the_server_starts_on_it(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    seeded = seed_practice(backup_runtime(runtime, repo))
    env = cli_env(settings, repo)
    assert carewall(env, "backup", "init").returncode == 0
    created = carewall(env, "backup", "create")
    assert created.returncode == 0, created.stderr
    snapshot = created.stdout.strip().splitlines()[-1]
    assert SNAPSHOT_ID.fullmatch(snapshot)
    listed = json.loads(carewall(env, "backup", "list", "--json").stdout)
    assert [s["id"] for s in listed] == [snapshot]
    assert listed[0]["size_bytes"] > 0

    target = tmp_path / "rebuilt" / "home"  # CAREWALL_HOME on the new machine, not there yet
    with empty_database(_postgres(settings)) as target_db:
        new_machine = {k: v for k, v in env.items() if not k.startswith("CAREWALL_")}
        new_machine |= {"CAREWALL_HOME": str(target), "CAREWALL_BACKUP_REPO": str(repo)}
        if target_db:
            new_machine["CAREWALL_DATABASE_URL"] = target_db

        remote = carewall(new_machine, "backup", "list", "--json", stdin=f"{BACKUP_PASSWORD}\n")
        assert [s["id"] for s in json.loads(remote.stdout)] == [snapshot], remote.stderr
        assert not target.exists(), "listing from a bare machine creates no data directory"

        wrong = carewall(new_machine, "backup", "restore", "--to", str(target), stdin="nope\n")
        assert wrong.returncode == 1
        assert "wrong password" in wrong.stderr.lower()
        assert "Traceback" not in wrong.stderr
        assert not target.exists(), "a refused restore leaves CAREWALL_HOME uncreated"

        nowhere = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"  # the discard port
        lost = carewall(
            new_machine,
            *("backup", "restore", "--to", str(target), "--database-url", nowhere),
            stdin=f"{BACKUP_PASSWORD}\n",
        )
        assert lost.returncode == 1
        assert "Traceback" not in lost.stderr
        assert ("did not answer" if target_db else "holds an SQLite database") in lost.stderr
        assert not target.exists()

        args = ("backup", "restore", snapshot[:8], "--to", str(target))
        done = carewall(new_machine, *args, stdin=f"{BACKUP_PASSWORD}\n")
        assert done.returncode == 0, done.stderr
        assert {p.name for p in target.iterdir()} >= {"master.key", "settings-from-backup.json"}
        assert oct(target.stat().st_mode & 0o777) == "0o700"
        assert oct((target / "master.key").stat().st_mode & 0o777) == "0o600"

        again = carewall(new_machine, *args, stdin=f"{BACKUP_PASSWORD}\n")
        assert again.returncode == 1
        assert "not empty" in again.stderr

        restored_env = {k: v for k, v in new_machine.items() if k.startswith("CAREWALL_")}
        server = start_server(target, extra_env=restored_env)
        try:
            token = {"Authorization": f"Bearer {seeded.clinician_token}"}
            url = f"{server.url}/fhir/Patient/bk-patient-2"
            response = httpx.get(url, headers=token, timeout=30)
        finally:
            server.stop()
        assert response.status_code == 200, response.text
        assert response.json()["identifier"][0]["value"] == "MRN-8831724"
        audit = carewall(new_machine, "audit", "verify")
        assert audit.returncode == 0, audit.stderr
        assert BackupTag.RESTORE_COMPLETED in _actions(new_machine, tmp_path)


def _actions(env: dict[str, str], tmp_path: Path) -> set[str]:
    """Every audit action in the data directory `env` points at (FHIR AuditEvent export)."""
    out = tmp_path / "audit.ndjson"
    exported = carewall(env, "audit", "export", "--format", "fhir", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    actions = set()
    for line in out.read_text().splitlines():
        for entity in json.loads(line)["entity"]:
            for detail in entity.get("detail", []):
                if detail["type"] == "action":
                    actions.add(detail["valueString"])
    return actions


def test_wrong_password_and_damaged_pack_are_refused_clearly(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    seed_practice(backup_runtime(runtime, repo), patients=2)
    env = cli_env(settings, repo)
    assert carewall(env, "backup", "init").returncode == 0
    assert carewall(env, "backup", "create").returncode == 0

    refused = carewall({**env, "CAREWALL_BACKUP_PASSWORD": "not-it"}, "backup", "list")
    assert refused.returncode == 1
    assert "wrong password" in refused.stderr.lower()
    assert "Traceback" not in refused.stderr

    assert carewall(env, "backup", "verify", "--full").returncode == 0
    pack = biggest_pack(repo)
    pack.chmod(0o600)  # restic writes packs read-only
    with pack.open("r+b") as handle:
        handle.seek(pack.stat().st_size // 2)
        handle.write(secrets.token_bytes(64))
    damaged = carewall(env, "backup", "verify", "--full")
    assert damaged.returncode == 1
    assert pack.name in damaged.stderr, damaged.stderr  # the damaged pack is named
    assert "Traceback" not in damaged.stderr


def _restic_child(parent: int) -> bool:
    """Whether `parent` has a running `restic backup` child process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if int(fields[1]) == parent and b"backup" in cmdline and b"restic" in cmdline[0]:
                return True
    return False


def test_killing_a_backup_leaves_earlier_snapshots_intact_and_the_next_succeeds(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    live = backup_runtime(runtime, repo)
    seed_practice(live, patients=1)
    env = cli_env(settings, repo)
    assert carewall(env, "backup", "init").returncode == 0
    first = carewall(env, "backup", "create").stdout.strip().splitlines()[-1]
    add_documents(live, 30)  # about 3 MiB of new data for the next backup to upload

    slow = {**env, "CAREWALL_BACKUP_LIMIT_UPLOAD_KIB": "128"}  # ~25 s of upload
    process = subprocess.Popen(
        [sys.executable, "-m", "carewall", "backup", "create"],
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not _restic_child(process.pid):
        assert process.poll() is None, "the backup ended before restic was seen running"
        assert time.monotonic() < deadline, "restic never started"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # Carewall and restic, mid-upload
    process.wait(timeout=30)

    listed = carewall(env, "backup", "list", "--json")
    assert [s["id"] for s in json.loads(listed.stdout)] == [first], "earlier snapshot intact"
    checked = carewall(env, "backup", "verify")
    assert checked.returncode == 0, checked.stderr
    after = carewall(env, "backup", "create")
    assert after.returncode == 0, after.stderr
    assert len(json.loads(carewall(env, "backup", "list", "--json").stdout)) == 2
    drill = carewall(env, "backup", "drill")
    assert drill.returncode == 0, drill.stderr
    with runtime.db.sessions() as session:
        outcomes = sorted(
            r.outcome for r in session.scalars(select(BackupRun).where(BackupRun.kind == "backup"))
        )
    assert outcomes == ["interrupted", "success", "success"]


def test_the_repository_holds_no_names_identifiers_or_clinical_values(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    live = backup_runtime(runtime, repo)
    seeded = seed_practice(live)
    init_repository(live, Caller.cli())
    create_backup(live, Caller.cli(), trigger="cli")
    if not _postgres(settings):
        # The database itself holds staff names and emails in clear: a plain copy would leak.
        file = Path(str(make_url(settings.effective_database_url).database))
        database = b"".join(p.read_bytes() for p in file.parent.glob(f"{file.name}*"))
        assert seeded.secrets[0].encode() in database
    stored = repository_files(repo)
    assert len(stored) > 10_000, "the repository holds the backup"
    leaked = [s for s in seeded.secrets if s.encode() in stored or s.lower().encode() in stored]
    assert leaked == []
