"""Backup health for the admin: the page, the buttons, alerts by mail, evidence, the demo."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carewall.audit import entries_with_action
from carewall.backup import BackupTag, DiskFullError
from carewall.backup.queries import open_alerts
from carewall.backup.repository import backup_lock
from carewall.backup.services import create_backup, init_repository, prune_snapshots
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.backup_seed import BACKUP_REPOSITORY_SEEDER, BACKUP_SEEDER
from carewall.identity import accounts
from carewall.jobs import failing_jobs, run_now, run_pending
from carewall.registry import create_app, evidence_providers, job_registry
from tests.functional.backup_helpers import (
    add_documents,
    backup_runtime,
    cli_env,
    seed_practice,
)
from tests.support.cli import carewall
from tests.support.clock import FrozenClock
from tests.support.factories import ADMIN_EMAIL, CLI, PASSWORD
from tests.support.mail import smtp_inbox
from tests.support.signin import post_form, sign_in_admin

QUIET: dict[str, object] = {  # no scheduled backup, check or drill: the test decides what runs
    "jobs_in_process": False,
    "backup_every_hours": 0,
    "backup_verify_every_days": 0,
    "backup_drill_every_days": 0,
}


def _run_queued(runtime: Runtime) -> list[str]:
    """Run what the buttons queued (and whatever else is due); returns failures."""
    results = run_pending(runtime, job_registry(), worker="test")
    return [f"{r.name}: {r.error}" for r in results if not r.ok]


def test_the_page_says_how_to_set_up_backups_and_how_to_install_restic(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    sign_in_admin(client, runtime)
    page = client.get("/admin/backups")
    assert page.status_code == 200
    assert "Backups are not set up" in page.text
    assert "CAREWALL_BACKUP_REPO" in page.text
    home = client.get("/")
    assert 'id="backup-panel"' in home.text
    assert "Needs attention" in home.text
    missing = backup_runtime(
        runtime, tmp_path / "repo", installed=False, backup_restic="/nonexistent/restic", **QUIET
    )
    with TestClient(create_app(missing)) as without_restic:
        sign_in_admin(without_restic, missing, email="second-admin@example.org")
        page = without_restic.get("/admin/backups")
    assert 'id="restic-missing"' in page.text
    assert "apt-get install restic" in page.text
    env = cli_env(missing.settings, tmp_path / "repo", CAREWALL_BACKUP_RESTIC="/nonexistent/restic")
    refused = carewall(env, "backup", "create")
    assert refused.returncode == 1
    assert "apt-get install restic" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_admin_backs_up_verifies_and_drills_from_the_page(
    runtime: Runtime, tmp_path: Path
) -> None:
    live = backup_runtime(runtime, tmp_path / "repo", installed=False, **QUIET)
    with TestClient(create_app(live)) as client:
        sign_in_admin(client, live)
        seed_practice(live, patients=2)
        init_repository(live, Caller.cli())
        assert "No backup has been made yet" in client.get("/admin/backups").text

        assert post_form(client, "/admin/backups/create").status_code == 303
        assert post_form(client, "/admin/backups/drill").status_code == 303
        assert post_form(client, "/admin/backups/verify", {"full": "on"}).status_code == 303
        assert _run_queued(live) == []
        page = client.get("/admin/backups").text
        home = client.get("/").text

    assert 'id="backup-ok"' in page, page
    assert 'id="snapshots"' in page
    assert "<svg" in page
    assert "every byte read" in page
    assert "no damage found" in page
    assert "Passed" in page
    assert "records decrypted" in page
    assert "every 0 h" not in page
    assert "off (run <code>carewall backup create</code>" in page
    assert "Healthy" in home
    assert "Last restore drill" in home
    with live.db.sessions() as session:
        requested = entries_with_action(
            session,
            [BackupTag.SNAPSHOT_REQUESTED, BackupTag.DRILL_REQUESTED, BackupTag.VERIFY_REQUESTED],
        )
        done = entries_with_action(
            session,
            [BackupTag.SNAPSHOT_CREATED, BackupTag.DRILL_PASSED, BackupTag.REPOSITORY_VERIFIED],
        )
    assert all(e.actor.startswith("user:") for e in requested), "audited under who pressed"
    assert len(requested) == 3
    assert len(done) == 3

    evidence = evidence_providers()["backup"](live)
    assert evidence["as_of"] is not None
    assert evidence["last_backup"]["age_hours"] >= 0
    assert evidence["last_drill"]["duration_seconds"] > 0
    assert evidence["last_drill"]["records_checked"] >= 4  # 2 patients, 2 observations
    assert evidence["repository_check"] == {
        "time": evidence["repository_check"]["time"],
        "ok": True,
        "full": True,
    }


def test_a_failed_backup_warns_the_admin_and_mails_the_security_officer_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    with smtp_inbox() as inbox:
        mail: dict[str, object] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_starttls": False,
        }
        live = backup_runtime(runtime, tmp_path / "repo", installed=False, **QUIET, **mail)
        with TestClient(create_app(live)) as client:
            sign_in_admin(client, live)
            registry = job_registry()
            for _ in range(2):  # the repository was never initialised: the backup fails
                result = run_now(
                    live, registry, "backup.snapshot.create", worker="w", requested_by=Caller.cli()
                )
                assert not result.ok
            assert len(inbox.messages) == 1, "one alert, one mail, however often it fails"
            message = inbox.messages[0]
            assert message["To"] == ADMIN_EMAIL
            assert "backup" in message["Subject"].lower()
            assert "/admin/backups" in inbox.body()
            page = client.get("/admin/backups").text
            jobs = client.get("/admin/jobs").text
            account = client.get("/account/security").text
            with live.db.sessions() as session:
                failing = [j.name for j in failing_jobs(session, registry, live.settings, utcnow())]
            assert "The last backup failed" in page
            assert 'id="backup-warnings"' in page
            assert "The security officers were emailed" in page
            assert "backup.snapshot.create" in failing
            assert 'id="jobs-failing"' in jobs
            assert "Backups: " in account  # the admin's notice

            init_repository(live, Caller.cli())
            assert run_now(
                live, registry, "backup.snapshot.create", worker="w", requested_by=Caller.cli()
            ).ok
            assert "The last backup failed" not in client.get("/admin/backups").text
    with live.db.sessions() as session:
        resolved = entries_with_action(session, [BackupTag.ALERT_RESOLVED])
    assert [e.details["kind"] for e in resolved] == ["backup_failed"]


def test_a_missed_backup_fails_the_health_check_and_mails_once(
    runtime: Runtime, tmp_path: Path, clock: FrozenClock
) -> None:
    with smtp_inbox() as inbox:
        mail: dict[str, object] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_starttls": False,
        }
        live = backup_runtime(runtime, tmp_path / "repo", **QUIET, **mail)
        accounts.create_admin(live, ADMIN_EMAIL, PASSWORD, CLI)
        init_repository(live, Caller.cli())
        create_backup(live, Caller.cli(), trigger="cli")
        registry = job_registry()
        assert run_now(
            live, registry, "backup.health.check", worker="w", requested_by=Caller.cli()
        ).ok
        clock.advance(hours=40)
        for _ in range(2):
            missed = run_now(
                live, registry, "backup.health.check", worker="w", requested_by=Caller.cli()
            )
            assert not missed.ok
        assert missed.error is not None
        assert "40 hours" in missed.error
        assert len(inbox.messages) == 1
        assert "missed" in inbox.messages[0]["Subject"]
        create_backup(live, Caller.cli(), trigger="cli")
        assert run_now(
            live, registry, "backup.health.check", worker="w", requested_by=Caller.cli()
        ).ok


def test_retention_forgets_snapshots_outside_the_policy(runtime: Runtime, tmp_path: Path) -> None:
    live = backup_runtime(
        runtime, tmp_path / "repo", backup_keep_daily=1, backup_keep_weekly=0, backup_keep_monthly=0
    )
    init_repository(live, Caller.cli())
    for _ in range(3):
        create_backup(live, Caller.cli(), trigger="cli")
    assert prune_snapshots(live, Caller.cli(), trigger="cli") == 2
    evidence = evidence_providers()["backup"](live)
    assert evidence["snapshots"] == 1


def test_repository_jobs_that_fall_due_together_take_turns_without_an_alert(
    runtime: Runtime, tmp_path: Path, clock: FrozenClock
) -> None:
    """The daily backup and prune fall due together and two web workers' runners take
    one each: restic refused the prune beside the backup, which failed and alerted
    every day. Now the job that finds the repository busy runs again minutes later."""
    live = backup_runtime(runtime, tmp_path / "repo", **{**QUIET, "backup_every_hours": 24})
    init_repository(live, Caller.cli())
    create_backup(live, Caller.cli(), trigger="cli")
    registry = job_registry()
    with backup_lock(live.settings.home):  # another worker's backup, still running
        deferred = run_now(
            live, registry, "backup.snapshots.prune", worker="w", requested_by=Caller.cli()
        )
        assert deferred.deferred, deferred
        assert "using the repository" in (deferred.summary or "")
    with live.db.sessions() as session:
        assert not failing_jobs(session, registry, live.settings, utcnow())
        assert not entries_with_action(session, [BackupTag.PRUNE_FAILED])
        assert not open_alerts(session)
    clock.advance(minutes=6)
    ran = {r.name: r for r in run_pending(live, registry, worker="w")}
    assert ran["backup.snapshots.prune"].ok, ran


def test_the_demo_practice_shows_a_backup_and_a_drill(runtime: Runtime, tmp_path: Path) -> None:
    demo = backup_runtime(
        runtime, tmp_path / "unused", demo=True, backup_repo="", backup_password=None
    )
    BACKUP_REPOSITORY_SEEDER.run(demo)  # before the server starts
    BACKUP_SEEDER.run(demo)  # after it answers, once everything else is seeded
    assert (demo.settings.home / "demo-backups" / "config").is_file()
    evidence = evidence_providers()["backup"](demo)
    assert evidence["snapshots"] == 1
    assert evidence["last_drill"] is not None
    assert evidence["repository_check"]["ok"] is True


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB file system (tmpfs), when this process may mount one."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_reported_and_the_server_keeps_serving(
    runtime: Runtime, small_disk: Path
) -> None:
    live = backup_runtime(runtime, small_disk / "repo", installed=False, **QUIET)
    with TestClient(create_app(live)) as client:
        seed_practice(live, patients=1)
        add_documents(live, 20)  # about 2 MiB that cannot be compressed
        init_repository(live, Caller.cli())
        with pytest.raises(DiskFullError, match="full"):
            create_backup(live, Caller.cli(), trigger="cli")
        assert client.get("/healthz").json() == {"status": "ok"}
        sign_in_admin(client, live)
        page = client.get("/admin/backups").text
    assert "The last backup failed" in page
    assert "full" in page
