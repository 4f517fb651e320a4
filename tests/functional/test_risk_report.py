"""The insurance report: the PDF renders (looked at as PNG) and states the measured figures."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carewall.audit import AuditEvent, AuditTag, entries_with_action, record, verify
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.registry import create_app, evidence_providers
from carewall.risk import services
from carewall.risk.services import AnswerInput
from carewall.risk.tags import RiskTag
from tests.support.cli import carewall
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user
from tests.support.signin import signed_in

OFFICER = Caller.cli("officer")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is installed by ./scripts/test",
)


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def completed_practice(runtime: Runtime, clock: FrozenClock) -> str:
    """One admin with an authenticator, one clinician without, a verified chain, an assessment."""
    admin = make_admin(runtime)
    make_user(runtime, "clin@clinic.example", "clinician")
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, admin)
    result = verify(runtime.db)
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(
                action=AuditTag.CHAIN_VERIFIED, actor="cli", details={"count": result.count}
            ),
        )
    draft = services.start_assessment(runtime, OFFICER, title="Annual 2025", org_size="small")
    for question, value in (("mfa-remote", "yes"), ("backup-regular", "no"), ("ir-plan", "yes")):
        services.save_answer(
            runtime,
            OFFICER,
            evidence_providers(),
            draft,
            question,
            AnswerInput(value, owner="Dana", note=f"note for {question}"),
        )
    services.add_starter_risks(runtime, OFFICER)
    clock.advance(minutes=5)
    services.complete_assessment(runtime, OFFICER, evidence_providers(), draft)
    return draft


@needs_poppler
def test_the_pdf_renders_and_states_the_measured_figures(
    runtime: Runtime, clock: FrozenClock, cli_env: dict[str, str], tmp_path: Path
) -> None:
    completed_practice(runtime, clock)
    out = tmp_path / "insurance.pdf"

    done = carewall(cli_env, "report", "insurance", "--out", str(out))

    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "Board summary" in text.title() or "BOARD SUMMARY" in text
    # The board page's figures, and the insurer packet's evidence lines with their dates.
    assert "Staff with a second factor 1 of 2 (50%)" in text  # staff: admin and clinician
    assert "Staff accounts with a second factor: 1 of 2 (50%)" in text
    assert "Administrators with a second factor: 1 of 1 (100%)" in text
    assert "Annual 2025" in text
    assert "Insurer packet" in text
    assert "intact" in text  # the verified chain
    assert "Ransomware attack" in text  # the register
    assert "$10.9M" in text  # IBM's 2023 health care average, cited
    with runtime.db.sessions() as session:
        (generated,) = entries_with_action(session, [RiskTag.REPORT_GENERATED])
    assert generated.details["format"] == "pdf"
    assert str(generated.details["fingerprint"]) in text.replace(" ", "")

    subprocess.run(
        ["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(out), str(tmp_path / "page")],
        check=True,
    )
    (page,) = tmp_path.glob("page*.png")
    assert page.stat().st_size > 10_000  # a drawn page, not a blank one


def test_the_html_file_stands_alone(
    runtime: Runtime, clock: FrozenClock, cli_env: dict[str, str], tmp_path: Path
) -> None:
    completed_practice(runtime, clock)
    out = tmp_path / "insurance.html"

    done = carewall(cli_env, "report", "insurance", "--out", str(out))

    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert "<style>" in html
    assert "<link" not in html
    assert 'src="http' not in html
    assert "<svg" in html  # the charts are drawn in the file
    assert "1 of 2 (50%)" in html
    assert "grade D" in done.stderr or "grade F" in done.stderr


def test_other_formats_are_a_usage_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    done = carewall(cli_env, "report", "insurance", "--out", str(tmp_path / "report.docx"))
    assert done.returncode == 2
    assert "pdf or .html" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_report_works_before_any_assessment(runtime: Runtime, tmp_path: Path) -> None:
    from carewall.risk.report import build_report
    from carewall.web.reports import render_html

    make_admin(runtime)
    report = build_report(runtime, evidence_providers())
    html = render_html(report)
    assert report.draft
    assert "no assessment yet" in html
    assert "not measured yet" in html  # backups, training, phishing, alerts


def test_the_auditor_downloads_the_pdf_and_it_is_audited(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    completed_practice(runtime, clock)
    auditor = make_user(runtime, "audit@clinic.example", "auditor")
    signed_in(client, runtime, auditor)
    response = client.get("/risk/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response.headers["content-disposition"]
    with runtime.db.sessions() as session:
        (generated,) = entries_with_action(session, [RiskTag.REPORT_GENERATED])
    assert generated.actor.startswith("user:")
