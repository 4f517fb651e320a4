"""What the backup tests share: a repository per test, seeded practices, the CLI environment.

Every test uses the real restic (Debian's `restic`) on a repository in its own
temporary directory, and real SQLite or PostgreSQL. Tests skip (with the
install command) when restic is not installed.
"""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.mail import mail_sender_for
from carewall.core.runtime import Runtime
from carewall.identity import apitokens, queries
from carewall.records.services import create_resource
from carewall.registry import install
from tests.support import postgres
from tests.support.cli import cli_environment
from tests.support.factories import fhir_resource, make_user

BACKUP_PASSWORD = "test-backup-password-8471"
WRITER = Caller.cli("writer")


def require_restic() -> None:
    """Skip with the install command when restic is not installed."""
    if shutil.which("restic") is None:
        pytest.skip("restic is not installed: sudo apt-get install restic (./scripts/test does)")


def with_backups(settings: Settings, repo: Path, **extra: object) -> Settings:
    """These settings with a repository in `repo` and the test password."""
    require_restic()
    update: dict[str, object] = {
        "backup_repo": str(repo),
        "backup_password": SecretStr(BACKUP_PASSWORD),
        **extra,
    }
    return settings.model_copy(update=update)


def backup_runtime(
    runtime: Runtime, repo: Path, *, installed: bool = True, **extra: object
) -> Runtime:
    """The test's runtime with backups configured (same database, keys and mail).

    `installed`: every domain's data keys and hook subscriptions (the drill's record
    check, the alert's recipients), as a command has them; leave it off when the
    test builds the web app, which installs them itself.
    """
    settings = with_backups(runtime.settings, repo, **extra)
    mail = mail_sender_for(settings) if "smtp_host" in extra else runtime.mail
    configured = Runtime(settings, runtime.db, runtime.keys, mail)
    return install(configured) if installed else configured


@dataclass(frozen=True)
class SeededPractice:
    """What a test seeded and can look for after a restore."""

    patient_ids: list[str]
    clinician_token: str
    secrets: list[str]  # values that must never appear in a repository file


def seed_practice(runtime: Runtime, patients: int = 3) -> SeededPractice:
    """A clinician with a FHIR token and a few patients with distinctive PHI."""
    email = "dr.quintessa.backup@clinic.example"
    make_user(runtime, email, "clinician")
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    assert user_id is not None
    token, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "backup test", ["fhir:read"])
    ids, secrets = [], [email, "Quintessa"]
    for n in range(patients):
        pid = f"bk-patient-{n}"
        family, mrn = f"Zyxwaldtorp{n}", f"MRN-88317{n}4"
        patient = fhir_resource(
            "Patient",
            pid,
            name=[{"family": family, "given": ["Perpetua"]}],
            identifier=[{"system": "urn:mrn", "value": mrn}],
            telecom=[{"system": "phone", "value": f"+44 20 7946 31{n}8"}],
        )
        create_resource(runtime, WRITER, patient)
        value = f"Glycated haemoglobin {71 + n}.3 mmol/mol marker{n}q"
        create_resource(runtime, WRITER, fhir_resource("Observation", pid, valueString=value))
        ids.append(pid)
        secrets += [family, mrn, value, "Perpetua", f"+44 20 7946 31{n}8"]
    return SeededPractice(ids, token, secrets)


def add_documents(runtime: Runtime, count: int, size: int = 96_000) -> None:
    """`count` documents whose attachments are random (incompressible) bytes."""
    for _ in range(count):
        data = base64.b64encode(secrets.token_bytes(size)).decode()
        attachment = {"contentType": "application/octet-stream", "data": data}
        document = fhir_resource(
            "DocumentReference", "bk-patient-0", content=[{"attachment": attachment}]
        )
        create_resource(runtime, WRITER, document)


def cli_env(settings: Settings, repo: Path, **extra: str) -> dict[str, str]:
    """Environment for the `carewall` command on this test's data and repository."""
    return cli_environment(
        settings,
        CAREWALL_BACKUP_REPO=str(repo),
        CAREWALL_BACKUP_PASSWORD=BACKUP_PASSWORD,
        **extra,
    )


@contextmanager
def empty_database(is_postgres: bool) -> Iterator[str | None]:
    """A new, empty PostgreSQL database to restore into (None on SQLite)."""
    if not is_postgres:
        yield None
        return
    assert postgres.POSTGRES_URL
    with postgres.empty_database("cw_restored") as url:
        yield url


def repository_files(repo: Path) -> bytes:
    """Every byte of every file in the repository, for searching."""
    return b"\n".join(p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file())


def biggest_pack(repo: Path) -> Path:
    """The largest data pack (where the database's chunks are)."""
    return max(
        (p for p in (repo / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
