"""Training on its own: reminders, the annual round, learner links, attempts, evidence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.audit import entries_with_action
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime
from carewall.registry import create_app, evidence_providers
from carewall.training import (
    QuizClosedError,
    TrainingTag,
    assign_annual,
    learner_for_link,
    new_learner_link,
    queries,
    send_reminders,
    start_quiz,
    submit_quiz,
)
from tests.functional.campaign_helpers import mailing_settings, practice
from tests.support.clock import FrozenClock
from tests.support.mail import Inbox, smtp_inbox


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def trained(settings: Settings, inbox: Inbox) -> Iterator[Runtime]:
    with practice(mailing_settings(settings, inbox)) as runtime:
        yield runtime


def _rows(runtime: Runtime, email: str) -> list[queries.AssignmentRow]:
    with runtime.db.sessions() as session:
        return [r for r in queries.assignments(session) if r.email == email]


def _learner(runtime: Runtime, member_id: str):  # type: ignore[no-untyped-def]
    token = new_learner_link(runtime, Caller.cli(), member_id).rsplit("/", 1)[1]
    with runtime.db.sessions() as session:
        return learner_for_link(session, token, Caller.cli()), token


def test_reminders_go_once_before_the_due_date_and_once_after(
    trained: Runtime, inbox: Inbox, clock: FrozenClock
) -> None:
    assert send_reminders(trained, Caller.cli()) == 0, "nothing is due for weeks"
    clock.advance(days=28)  # joining training is due in 30 days; reminders start 3 days before
    first = send_reminders(trained, Caller.cli())
    assert first == 12, "3 people x 4 joining modules"
    assert send_reminders(trained, Caller.cli()) == 0, "each reminder goes once"
    clock.advance(days=3)
    assert send_reminders(trained, Caller.cli()) == 12, "one more once overdue"
    assert send_reminders(trained, Caller.cli()) == 0
    reminders = [m for m in inbox.messages if m["Subject"] == "Reminder: your security training"]
    assert len(reminders) == 24
    assert "/training/l/" in reminders[0].get_payload(), "people without a login get a link"


def test_the_annual_round_skips_newcomers_and_recent_passes(
    trained: Runtime, clock: FrozenClock
) -> None:
    assert assign_annual(trained, Caller.cli()) == 0, "newcomers do their joining training first"
    ana = _rows(trained, "ana.lopez@clinic.example")
    learner, _ = _learner(trained, ana[0].member_id)
    for row in ana:
        paper = start_quiz(trained, learner, row.id)
        submit_quiz(trained, learner, paper.attempt_id, {q.id: q.answer for q in paper.questions})
    clock.advance(days=200)
    made = assign_annual(trained, Caller.cli())
    assert made == 0, "the others still have their joining modules open, Ana passed hers"
    clock.advance(days=200)
    made = assign_annual(trained, Caller.cli())
    assert made == 2, "a year after Ana's passes, her two annual modules come round"
    assert assign_annual(trained, Caller.cli()) == 0, "once per round"


def test_attempts_run_out_and_nobody_reaches_anyone_elses_training(trained: Runtime) -> None:
    ana = _rows(trained, "ana.lopez@clinic.example")[0]
    ben = _rows(trained, "ben.cho@clinic.example")[0]
    learner, _ = _learner(trained, ana.member_id)
    with pytest.raises(NotFoundError):
        start_quiz(trained, learner, ben.id)
    for _ in range(3):
        paper = start_quiz(trained, learner, ana.id)
        result = submit_quiz(trained, learner, paper.attempt_id, {})
        assert not result.passed
    after = {r.id: r for r in _rows(trained, "ana.lopez@clinic.example")}
    assert after[ana.id].status == "failed"
    with pytest.raises(QuizClosedError):
        start_quiz(trained, learner, ana.id)


def test_an_expired_learner_link_is_refused_and_audited(
    trained: Runtime, clock: FrozenClock
) -> None:
    ana = _rows(trained, "ana.lopez@clinic.example")[0]
    _, token = _learner(trained, ana.member_id)
    with TestClient(create_app(trained)) as client:
        assert client.get(f"/training/l/{token}").status_code == 200
        clock.advance(days=15)
        expired = client.get(f"/training/l/{token}")
        assert expired.status_code == 404
        assert "expired" in expired.text
        assert client.get("/training/l/" + "x" * 32).status_code == 404
    with trained.db.sessions() as session:
        assert len(entries_with_action(session, [TrainingTag.LINK_REFUSED])) == 2


def test_evidence_for_the_risk_module(trained: Runtime) -> None:
    providers = evidence_providers()
    training = providers["training"](trained)
    assert training["as_of"] is not None
    assert training["assignments"] == 12
    assert training["completion_rate"] == 0
    assert training["overdue_count"] == 0
    phishing = providers["phishing"](trained)
    assert phishing["as_of"] is None, "no campaign has been measured yet"
    assert phishing["campaigns_run"] == 0
