"""Outlook .msg and TNEF winmail.dat through the CLI, the web upload and the report mailbox."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.identity.queries import user_id_for_email
from carewall.phishing.imap import poll_report_mailbox
from carewall.phishing.services import open_report
from tests.support.cli import carewall
from tests.support.factories import CLI, make_user
from tests.support.mail import MemoryMailbox
from tests.support.signin import csrf, signed_in
from tests.unit.phishing.outlook_files import build_msg, build_tnef

HEADERS = (
    "From: PayPal Security <service@paypa1-secure.com>\r\nTo: front@clinic.example.org\r\n"
    "Subject: Verify your account\r\nMessage-ID: <m1@paypa1-secure.com>\r\n\r\n"
)


def phishing_msg() -> bytes:
    return build_msg(
        headers=HEADERS,
        subject="Verify your account",
        body="Verify your account now or it will be suspended.",
        html='<p>Verify <a href="http://198.51.100.7/login">https://www.paypal.com</a></p>',
    )


def tnef_with_program() -> bytes:
    return build_tnef(
        "Your invoice is attached.", [("invoice.pdf.exe", b"MZ\x90\x00" + b"\0" * 64)]
    )


def test_cli_analyzes_msg_and_winmail_dat(tmp_path: Path) -> None:
    (tmp_path / "suspicious.msg").write_bytes(phishing_msg())
    (tmp_path / "winmail.dat").write_bytes(tnef_with_program())
    (tmp_path / "other.dat").write_bytes(b"not mail")
    env = {"PATH": "/usr/bin:/bin", "CAREWALL_DATA_DIR": str(tmp_path / "never-created")}
    result = carewall(env, "mail", "analyze", "--json", str(tmp_path))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert any('"suspicious.msg' in line or "suspicious.msg" in line for line in lines)
    assert '"verdict": "phishing"' in next(line for line in lines if "suspicious.msg" in line)
    assert "attach.executable" in next(line for line in lines if "winmail.dat" in line)


def test_web_upload_of_a_msg_file_shows_its_verdict_and_meaning(
    client: TestClient, runtime: Runtime
) -> None:
    signed_in(client, runtime, make_user(runtime, "clin@clinic.example", "clinician"))
    page = client.post(
        "/mail/analyze",
        data={"csrf_token": csrf(client)},
        files={"message": ("suspicious.msg", phishing_msg(), "application/vnd.ms-outlook")},
    )
    assert page.status_code == 200, page.text
    assert 'class="badge verdict-phishing' in page.text
    assert "identity.brand_impersonation" in page.text
    assert re.search(
        r"Of 100 legitimate emails like yours, (fewer than 1|about \d+) score", page.text
    )
    assert "Verify your account" in page.text  # the converted message is what the preview shows


def test_report_mailbox_unwraps_an_outlook_msg_forward(runtime: Runtime) -> None:
    forward = EmailMessage()
    forward["From"] = "nurse@clinic.example"
    forward["To"] = "report@clinic.example"
    forward["Subject"] = "FW: Verify your account"
    forward.set_content("Suspicious, forwarded as attachment.")
    forward.add_attachment(
        phishing_msg(), maintype="application", subtype="vnd.ms-outlook", filename="Verify.msg"
    )
    winmail = EmailMessage()
    winmail["From"] = "Accounts <ap@vendor-mail.example.net>"
    winmail["To"] = "report@clinic.example"
    winmail["Subject"] = "Invoice"
    winmail.set_content("See attached")
    winmail.add_attachment(
        tnef_with_program(), maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    source = MemoryMailbox({"1": forward.as_bytes(), "2": winmail.as_bytes()})
    results = poll_report_mailbox(runtime, source, CLI)
    assert [r.verdict for r in results] == ["phishing", "phishing"]
    make_user(runtime, "officer@clinic.example", "admin")
    with runtime.db.sessions() as session:
        officer_id = user_id_for_email(session, "officer@clinic.example") or ""
    _, raw = open_report(
        runtime, Caller.for_user(officer_id, Role.ADMIN), results[0].report_id or ""
    )
    assert b"paypa1-secure.com" in raw[:2000]  # the report holds the converted original
