"""A simulated phishing campaign end to end: launch, real SMTP, tracking, the lesson, training."""

from __future__ import annotations

import email
import io
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from carewall.audit import entries_with_action, verify
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.phishing import services
from carewall.phishing.simulation import HEADER
from carewall.phishing.simulation.campaigns import LaunchRequest, launch
from carewall.phishing.simulation.results import figures, recipient_results
from carewall.phishing.simulation.tags import SimulationTag
from carewall.registry import create_app
from carewall.training import modules
from tests.functional.campaign_helpers import (
    mailing_settings,
    practice,
    run_jobs,
    simulations,
    tracked_paths,
)
from tests.support.clock import FrozenClock
from tests.support.mail import Inbox, smtp_inbox

TYPED = "Typed-Secret-Value-7731"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def mailing(settings: Settings, inbox: Inbox) -> Iterator[Runtime]:
    with practice(mailing_settings(settings, inbox)) as runtime:
        yield runtime


def _launch(runtime: Runtime, **options: object) -> str:
    values: dict[str, object] = {
        "template_id": "ehr-password-expiry",
        "group": "everyone",
        "now": True,
    }
    return launch(runtime, Caller.cli(), LaunchRequest(**{**values, **options}))  # type: ignore[arg-type]


def _results(runtime: Runtime, campaign_id: str) -> dict[str, dict[str, object]]:
    with runtime.db.sessions() as session:
        return {r.email: r.to_json() for r in recipient_results(session, campaign_id)}


def _forward_as_attachment(original: email.message.Message) -> bytes:
    forward = EmailMessage()
    forward["From"] = "cara.diaz@clinic.example"
    forward["To"] = "security@clinic.example"
    forward["Subject"] = "FW: suspicious"
    forward.set_content("This looks like phishing.")
    forward.add_attachment(original.as_bytes(), maintype="message", subtype="rfc822")
    return forward.as_bytes()


def test_a_campaign_from_launch_to_figures(
    mailing: Runtime, inbox: Inbox, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = mailing
    campaign_id = _launch(runtime)
    run_jobs(runtime)
    received = simulations(inbox)
    assert sorted(received) == [
        "ana.lopez@clinic.example",
        "ben.cho@clinic.example",
        "cara.diaz@clinic.example",
    ]
    ana = tracked_paths(received["ana.lopez@clinic.example"])
    ben = tracked_paths(received["ben.cho@clinic.example"])
    assert len({ana["click"], ben["click"]}) == 2, "every recipient has their own id"
    assert received["ana.lopez@clinic.example"]["Message-ID"].startswith("<")

    with TestClient(create_app(runtime)) as client:
        client.headers["user-agent"] = BROWSER
        # The mail filter checks the link the moment the message lands: a HEAD, then a GET.
        assert client.head(ana["click"]).status_code == 200
        assert client.get(ana["click"], follow_redirects=False).status_code == 303
        clock.advance(minutes=3)
        assert client.get(ana["pixel"]).headers["content-type"] == "image/gif"
        clicked = client.get(ana["click"], follow_redirects=False)
        assert clicked.headers["location"].startswith("/s/l/")
        landing = client.get(clicked.headers["location"])
        assert 'id="landing-form"' in landing.text
        assert 'name="password"' not in landing.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', landing.text)
        assert token
        submitted = client.post(
            clicked.headers["location"],
            data={
                "csrf_token": token.group(1),
                "fields": "username,password",
                "username": "ana.lopez",
                "password": TYPED,
            },
            follow_redirects=False,
        )
        assert submitted.headers["location"].startswith("/s/t/")
        lesson = client.get(submitted.headers["location"])
        assert "This was a phishing simulation" in lesson.text
        assert lesson.text.count('class="red-flag"') >= 4, (
            "each red flag is highlighted in the text"
        )
        assert "Start your training" in lesson.text
        training_path = re.search(r'href="(/training/l/[^"]+)" id="start-training"', lesson.text)
        assert training_path

        clock.advance(minutes=2)
        assert "Thank you for reporting" in client.get(ben["report"]).text

        # Ana does her remedial module through her personal link and passes.
        home = client.get(training_path.group(1))
        assignment = re.search(r'href="(/training/l/[^"]+/m/[^"]+)"', home.text)
        assert assignment, home.text
        start = client.post(
            f"{assignment.group(1)}/quiz",
            data={"csrf_token": token.group(1)},
            follow_redirects=False,
        )
        quiz = client.get(start.headers["location"])
        answers = _right_answers(quiz.text)
        result = client.post(
            start.headers["location"], data={"csrf_token": token.group(1), **answers}
        )
        assert "You passed" in result.text

    # Cara reports it through the report mailbox, forwarded as an attachment.
    clock.advance(minutes=4)
    filed = services.report_message(
        runtime,
        "mailbox",
        _forward_as_attachment(received["cara.diaz@clinic.example"]),
        "imap",
        Origin(user_agent="imap"),
    )
    assert filed.status == "simulation"

    results = _results(runtime, campaign_id)
    assert results["ana.lopez@clinic.example"]["clicked"] is not None
    assert results["ana.lopez@clinic.example"]["submitted"] is not None
    assert results["ana.lopez@clinic.example"]["scanner_events"] == 2
    assert results["ana.lopez@clinic.example"]["training_assigned"] == ["phishing-red-flags"]
    assert results["ben.cho@clinic.example"]["reported"] is not None
    assert results["ben.cho@clinic.example"]["clicked"] is None
    assert results["ben.cho@clinic.example"]["training_assigned"] == []
    assert results["cara.diaz@clinic.example"]["reported"] is not None
    with runtime.db.sessions() as session:
        figure = figures(session, campaign_id)
    assert verify(runtime.db).ok
    assert figure.funnel == {"sent": 3, "opened": 3, "clicked": 1, "submitted": 1, "reported": 2}
    assert figure.phish_prone == round(1 / 3, 4)
    assert figure.report_rate == round(2 / 3, 4)
    assert figure.scanner_events == 2

    # Nothing Ana typed is anywhere: not in the database file, its WAL, or the logs.
    _assert_nowhere(runtime, TYPED, caplog.text)


def _right_answers(page: str) -> dict[str, str]:
    bank = {q.text: q.answer for m in modules().values() for q in m.questions}
    answers = {}
    for block in page.split('<fieldset class="question">')[1:]:
        legend = re.search(r"<legend>\d+\. (.*?)</legend>", block, re.S)
        name = re.search(r'name="(q_[^"]+)"', block)
        assert legend
        assert name
        text = legend.group(1).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
        answers[name.group(1)] = str(bank[text])
    return answers


def _assert_nowhere(runtime: Runtime, typed: str, logs: str) -> None:
    assert typed not in logs
    url = runtime.settings.effective_database_url
    if url.startswith("sqlite"):
        database = Path(url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert typed.encode() not in path.read_bytes(), path
    with runtime.db.engine.connect() as connection:
        from sqlalchemy import text

        dumped = []
        for table in ("sim_events", "audit_entries", "job_tasks", "mail_reports"):
            dumped.extend(str(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert not any(typed in row for row in dumped)


def test_the_pdf_certificate_renders(mailing: Runtime, clock: FrozenClock) -> None:
    from carewall.training import (
        learner_for_link,
        new_learner_link,
        queries,
        start_quiz,
        submit_quiz,
    )
    from carewall.training.learning import certificate

    with mailing.db.sessions() as session:
        row = next(r for r in queries.assignments(session) if r.email.startswith("ana"))
    token = new_learner_link(mailing, Caller.cli(), row.member_id).rsplit("/", 1)[1]
    with mailing.db.sessions() as session:
        learner = learner_for_link(session, token, Caller.cli())
    paper = start_quiz(mailing, learner, row.id)
    submit_quiz(mailing, learner, paper.attempt_id, {q.id: q.answer for q in paper.questions})
    pdf = certificate(mailing, learner, row.id, Caller.cli())
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Certificate of completion" in text
    assert "Ana Lopez" in text
    assert row.module_title.split(":")[0] in text


def test_a_forged_simulation_header_is_a_threat(mailing: Runtime, inbox: Inbox) -> None:
    _launch(mailing)
    run_jobs(mailing)
    genuine = next(iter(simulations(inbox).values()))
    assert services.analyze(mailing, genuine.as_bytes()).simulation

    forged = EmailMessage()
    forged["From"] = "IT Desk <it@clinic-example-support.com>"
    forged["To"] = "ana.lopez@clinic.example"
    forged["Subject"] = "Verify your account now"
    marker = " ".join(str(genuine[HEADER]).split())
    forged[HEADER] = marker[:-4] + ("AAAA" if not marker.endswith("AAAA") else "BBBB")
    forged.set_content(
        "Your account will be suspended. Verify your password: http://192.0.2.7/login"
    )
    verdict = services.analyze(mailing, forged.as_bytes())
    assert not verdict.simulation
    assert verdict.verdict == "phishing"
    assert "simulation.forged" in verdict.signal_ids()
    filed = services.report_message(mailing, "mailbox", forged.as_bytes(), "imap", Origin())
    assert filed.status == "new", "a forged marker never files a report as a drill"
    with mailing.db.sessions() as session:
        assert entries_with_action(session, [SimulationTag.MARKER_FORGED])


def test_addresses_outside_the_practice_are_refused(mailing: Runtime) -> None:
    from carewall.training import OutsideOrganisationError

    request = LaunchRequest(template_id="voicemail", emails=("someone@gmail.com",), now=True)
    with pytest.raises(OutsideOrganisationError, match="outside the practice"):
        launch(mailing, Caller.cli(), request)
