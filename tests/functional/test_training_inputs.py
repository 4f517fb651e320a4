"""Training and campaign forms refuse odd numbers cleanly, and a quiz attempt is private.

The attacks: a quiz answer `q_<id>=²` (a digit to `str.isdigit()`, not to `int()`)
or 5000 digits (past Python's conversion limit) answered 500, from a signed-in
page and from a public learner link alike; so did "²" as an assignment's due
period or a campaign's rate. And posting to someone else's finished attempt
answered 409 "already submitted" where an unknown id answers 404, telling a
stranger that the attempt exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.registry import create_app
from carewall.training import new_learner_link, queries
from tests.functional.campaign_helpers import mailing_settings, practice
from tests.support.factories import make_admin
from tests.support.mail import Inbox, smtp_inbox
from tests.support.signin import csrf, post, signed_in

ODD_NUMBERS = ["\u00b2", "\u0663", "1" * 5000, "-1", "1.0", " 1e3"]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def trained(settings: Settings, inbox: Inbox) -> Iterator[Runtime]:
    with practice(mailing_settings(settings, inbox)) as runtime:
        yield runtime


def _link(runtime: Runtime, email: str) -> tuple[str, str]:
    """A learner's link base path and their first assignment's id."""
    with runtime.db.sessions() as session:
        row = next(r for r in queries.assignments(session) if r.email == email)
    token = new_learner_link(runtime, Caller.cli(), row.member_id).rsplit("/", 1)[1]
    return f"/training/l/{token}", row.id


def _start(client: TestClient, base: str, assignment_id: str) -> tuple[str, list[str]]:
    """Start an attempt through the link: its path and its question ids."""
    started = client.post(
        f"{base}/m/{assignment_id}/quiz",
        data={"csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    path = started.headers["location"]
    questions = sorted(set(re.findall(r'name="q_([^"]+)"', client.get(path).text)))
    assert questions
    return path, questions


def test_odd_quiz_answers_are_refused_not_a_crash(trained: Runtime) -> None:
    base, assignment_id = _link(trained, "ana.lopez@clinic.example")
    with TestClient(create_app(trained)) as client:
        path, questions = _start(client, base, assignment_id)
        for odd in ODD_NUMBERS:
            answers = {f"q_{q}": "0" for q in questions} | {f"q_{questions[0]}": odd}
            refused = client.post(path, data={**answers, "csrf_token": csrf(client)})
            assert 400 <= refused.status_code < 500, (odd[:10], refused.status_code)
        answers = {f"q_{q}": "0" for q in questions}
        marked = client.post(path, data={**answers, "csrf_token": csrf(client)})
        assert marked.status_code == 200, marked.text


def test_someone_elses_finished_attempt_is_not_found(trained: Runtime) -> None:
    ana, ana_assignment = _link(trained, "ana.lopez@clinic.example")
    ben, _ = _link(trained, "ben.cho@clinic.example")
    with TestClient(create_app(trained)) as client:
        path, questions = _start(client, ana, ana_assignment)
        answers = {f"q_{q}": "0" for q in questions}
        assert client.post(path, data={**answers, "csrf_token": csrf(client)}).status_code == 200
        attempt_id = path.rsplit("/", 1)[1]
        again = client.post(path, data={**answers, "csrf_token": csrf(client)})
        assert again.status_code == 409, "the owner is told it was submitted already"
        foreign = client.post(f"{ben}/q/{attempt_id}", data={**answers, "csrf_token": csrf(client)})
        unknown = client.post(
            f"{ben}/q/00000000-0000-0000-0000-000000000000",
            data={**answers, "csrf_token": csrf(client)},
        )
        assert unknown.status_code == 404
        assert foreign.status_code == 404, "a stranger cannot tell it exists"
        assert "does not exist" in foreign.text
        assert "does not exist" in unknown.text
        peek = client.get(f"{ben}/q/{attempt_id}")
        assert peek.status_code == 404
        assert "does not exist" in peek.text


def test_odd_due_periods_and_rates_are_refused_not_a_crash(trained: Runtime) -> None:
    with TestClient(create_app(trained)) as client:
        signed_in(client, trained, make_admin(trained))
        for odd in ODD_NUMBERS:
            assigned = post(
                client,
                "/admin/training/assign",
                {"module_id": "phishing-basics", "group": "everyone", "due_days": odd},
                follow_redirects=False,
            )
            assert assigned.status_code < 500, (odd[:10], assigned.status_code)
            launched = post(
                client,
                "/admin/campaigns",
                {"template_id": "x", "audience": "group", "group": "everyone", "rate": odd},
                follow_redirects=False,
            )
            assert launched.status_code < 500, (odd[:10], launched.status_code)
