"""Polling the report mailbox: a real Dovecot IMAP server on loopback, and the in-memory source."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from carewall.audit.models import AuditEntry
from carewall.core.runtime import Runtime
from carewall.identity.queries import user_id_for_email
from carewall.phishing import queries
from carewall.phishing.errors import MAX_MESSAGE_BYTES
from carewall.phishing.imap import (
    ImapMailbox,
    MailboxError,
    poll_report_mailbox,
)
from tests.functional.mail_messages import clean_eml, forwarded, phishing_eml
from tests.support.cli import carewall
from tests.support.factories import CLI, make_user
from tests.support.mail import MemoryMailbox

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
USER, PASSWORD = "reports", "report-mailbox-secret"


@dataclass
class Imap:
    """A running private Dovecot: where it listens and how to log in."""

    port: int

    def append(self, raw: bytes) -> None:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(USER, PASSWORD)
            status, _ = client.append("INBOX", None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def mailbox(self) -> ImapMailbox:
        return ImapMailbox("127.0.0.1", self.port, USER, PASSWORD, "INBOX", ssl=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, port: int, uid: int, gid: int) -> str:
    rootless = ""
    if os.geteuid() != 0:  # Dovecot's rootless mode: every service runs as us, no chroot.
        name = pwd.getpwuid(os.geteuid()).pw_name
        rootless = (
            f"default_internal_user = {name}\ndefault_login_user = {name}\n"
            f"default_internal_group = {pwd.getpwuid(os.geteuid()).pw_gid}\n"
            "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
        )
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root}/mail/{USER}::\n")
    return f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{rootless}"""


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            time.sleep(0.3)  # a second Dovecot that lost a race for the port exits by now
            if process.poll() is None:
                return
            pytest.fail(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        except OSError:
            time.sleep(0.1)
    pytest.fail("dovecot did not start listening")


@pytest.fixture
def dovecot() -> Iterator[Imap]:
    """A private Dovecot on a free loopback port, its mail in a fresh temporary directory.

    Dovecot refuses UID 0 for mail, so under root the mailbox belongs to
    ``nobody`` in a directory outside pytest's root-only tmp_path.
    """
    if DOVECOT is None:
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="carewall-dovecot-"))
    root.chmod(0o755)
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid) if os.geteuid() == 0 else None
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root, port, uid, gid))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(port, process, root / "dovecot.log")
        yield Imap(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def actions(runtime: Runtime) -> list[str]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_poll_files_forwarded_mail_from_a_real_imap_server(runtime: Runtime, dovecot: Imap) -> None:
    make_user(runtime, "clin@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        clinician_id = user_id_for_email(session, "clin@clinic.example")
    dovecot.append(forwarded(phishing_eml(), "Clin <clin@clinic.example>"))
    dovecot.append(clean_eml("Invoice from a stranger"))  # not from an account: "mailbox"

    source = dovecot.mailbox()
    try:
        results = poll_report_mailbox(runtime, source, CLI)
    finally:
        source.close()
    assert [r.status for r in results] == ["new", "new"]
    assert [r.reporter for r in results] == ["clin@clinic.example", "jane.roe@clinic.example"]
    mine = queries.reports_of(runtime, clinician_id or "").reports
    others = queries.reports_of(runtime, "mailbox").reports
    # The forward was unwrapped: the report is the original phishing mail, not "FW: ...".
    assert [(r.subject, r.verdict, r.source) for r in mine] == [
        ("Urgent: your mailbox password expires today", "phishing", "imap")
    ]
    assert [r.subject for r in others] == ["Invoice from a stranger"]

    again = dovecot.mailbox()
    try:
        assert poll_report_mailbox(runtime, again, CLI) == []  # marked seen last time
    finally:
        again.close()
    trail = actions(runtime)
    assert trail.count("phishing:report:received") == 2
    assert trail.count("phishing:mailbox:polled") == 2


def test_carewall_mail_poll_command(
    runtime: Runtime, dovecot: Imap, cli_env: dict[str, str]
) -> None:
    dovecot.append(phishing_eml())
    env = {
        **cli_env,
        "COLUMNS": "200",
        "CAREWALL_MAIL_REPORT_IMAP_HOST": "127.0.0.1",
        "CAREWALL_MAIL_REPORT_IMAP_PORT": str(dovecot.port),
        "CAREWALL_MAIL_REPORT_IMAP_USER": USER,
        "CAREWALL_MAIL_REPORT_IMAP_PASSWORD": PASSWORD,
        "CAREWALL_MAIL_REPORT_IMAP_SSL": "false",
    }
    result = carewall(env, "mail", "poll")
    assert result.returncode == 0, result.stderr
    assert "helpdesk@micros0ft-support.example" in result.stdout
    assert "phishing" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def test_wrong_password_is_a_clear_error(dovecot: Imap) -> None:
    with pytest.raises(MailboxError, match="Could not open the report mailbox"):
        ImapMailbox("127.0.0.1", dovecot.port, USER, "wrong", "INBOX", ssl=False)
    with pytest.raises(MailboxError, match="no folder"):
        ImapMailbox("127.0.0.1", dovecot.port, USER, PASSWORD, "Nope", ssl=False)


def test_memory_source_files_marks_seen_and_skips_oversized(runtime: Runtime) -> None:
    source = MemoryMailbox(
        {"1": phishing_eml(), "2": b"Subject: huge\r\n\r\n" + b"x" * (MAX_MESSAGE_BYTES + 1)}
    )
    results = poll_report_mailbox(runtime, source, CLI)
    assert [(r.uid, r.status) for r in results] == [("1", "new"), ("2", "skipped")]
    assert "larger than 10 MB" in results[1].problem
    assert source.seen == {"1", "2"}
    assert poll_report_mailbox(runtime, source, CLI) == []
