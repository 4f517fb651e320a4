"""The /risk pages through the real app: the officer answers and attaches, the auditor reads."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from carewall.audit import entries_with_action
from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.risk.tags import RiskTag
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user
from tests.support.signin import csrf, post, signed_in

UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No job loop: its first tick (five seconds in, later on a loaded machine) runs the
    due jobs, and evidence they change between two assessments would be a change too."""
    return settings.model_copy(update={"jobs_in_process": False})


@pytest.fixture
def officer(runtime: Runtime, clock: FrozenClock, client: TestClient) -> TestClient:
    """The security officer, signed in (with an authenticator, so MFA is measured)."""
    signed_in(client, runtime, make_admin(runtime))
    return client


def start(client: TestClient) -> str:
    response = post(
        client,
        "/risk/assessments",
        {"title": "Annual", "org_size": "small"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    found = re.search(rf"/risk/assessments/({UUID})", response.headers["location"])
    assert found
    return found.group(1)


def test_the_officer_answers_overrides_with_a_reason_and_resumes(
    runtime: Runtime, officer: TestClient
) -> None:
    assert "Start an assessment" in officer.get("/risk").text
    assessment = start(officer)
    page = officer.get(f"/risk/assessments/{assessment}/sections/mfa").text
    assert "What Carewall measured" in page
    assert "1 of 1 (100%)" in page  # the officer's own account
    assert 'href="/admin/users"' in page  # where the figure comes from

    url = f"/risk/assessments/{assessment}/answers/mfa-staff"
    refused = post(officer, url, {"value": "no"}, follow_redirects=True)
    assert "overriding it needs a reason" in refused.text
    saved = post(
        officer,
        url,
        {
            "value": "no",
            "reason": "Shared front-desk login found",
            "owner": "Dana",
            "note": "Fix by June",
        },
        follow_redirects=True,
    )
    assert "Answer saved." in saved.text
    assert "override of a measured answer" in saved.text
    assert "Shared front-desk login found" in saved.text
    with runtime.db.sessions() as session:
        (entry,) = entries_with_action(session, [RiskTag.ANSWER_OVERRIDDEN])
    assert entry.details["measured_answer"] == "yes"

    post(officer, f"/risk/assessments/{assessment}/answers/mfa-remote", {"value": "yes"})
    overview = officer.get(f"/risk/assessments/{assessment}").text  # resume later
    # 5 of 6: measured (4, one overridden), mfa-remote stated; mfa-email still open.
    assert "Shared front-desk login found" in overview  # listed as an override
    assert re.search(
        r"Multi-factor authentication</a></td>\s*<td><progress max=\"6\" value=\"5\"", overview
    )


def test_evidence_files_upload_encrypted_and_download_as_attachments(
    runtime: Runtime, officer: TestClient
) -> None:
    assessment = start(officer)
    url = f"/risk/assessments/{assessment}/attachments/ir-plan"
    body = b"<script>alert(1)</script> plan"
    response = officer.post(
        url,
        data={"csrf_token": csrf(officer)},
        files={"file": ("plan.html", body, "text/html")},
        follow_redirects=True,
    )
    assert "plan.html attached (version 1)" in response.text
    link = re.search(rf'href="/risk/attachments/({UUID})"', response.text)
    assert link
    download = officer.get(f"/risk/attachments/{link.group(1)}")
    assert download.status_code == 200
    assert download.content == body
    assert download.headers["content-type"] == "application/octet-stream"  # never rendered
    assert download.headers["content-disposition"].startswith("attachment;")

    empty = officer.post(
        url,
        data={"csrf_token": csrf(officer)},
        files={"file": ("empty.txt", b"", "text/plain")},
        follow_redirects=True,
    )
    assert "The file is empty." in empty.text


def test_the_auditor_reads_but_cannot_change(
    runtime: Runtime, client: TestClient, officer: TestClient
) -> None:
    assessment = start(officer)
    post(officer, "/risk/register/starter")
    auditor = make_user(runtime, "aud@clinic.example", "auditor")
    signed_in(client, runtime, auditor)
    page = client.get(f"/risk/assessments/{assessment}/sections/backups")
    assert page.status_code == 200
    assert "Save answer" not in page.text
    refused = post(
        client,
        f"/risk/assessments/{assessment}/answers/backup-regular",
        {"value": "yes"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    register = client.get("/risk/register").text
    assert register.count('class="risk-row"') == 5
    assert "Add a risk" not in register
    for path in (
        "/risk",
        "/risk/plan",
        "/risk/costs",
        "/risk/evidence",
        f"/risk/assessments/{assessment}/compare",
    ):
        assert client.get(path).status_code == 200, path


def test_register_costs_completion_and_comparison(runtime: Runtime, officer: TestClient) -> None:
    first = start(officer)
    post(officer, f"/risk/assessments/{first}/answers/ir-plan", {"value": "no"})
    done = post(officer, f"/risk/assessments/{first}/complete", follow_redirects=True)
    assert "Assessment completed: grade" in done.text
    assert "Completed" in done.text

    bad = post(
        officer,
        "/risk/register",
        {
            "title": "Flood",
            "inherent_likelihood": "2",
            "inherent_impact": "4",
            "residual_likelihood": "1",
            "residual_impact": "4",
            "due_date": "next week",
        },
        follow_redirects=True,
    )
    assert "not a date" in bad.text
    made = post(
        officer,
        "/risk/register",
        {
            "title": "Flood",
            "inherent_likelihood": "2",
            "inherent_impact": "4",
            "residual_likelihood": "1",
            "residual_impact": "4",
            "due_date": "2030-01-31",
            "owner": "Dana",
            "controls": "backups",
        },
        follow_redirects=True,
    )
    assert "Risk added to the register." in made.text
    assert "Flood" in made.text

    costs = post(
        officer,
        "/risk/costs",
        {
            "revenue_per_day.low": "1000",
            "revenue_per_day.mode": "2,000",
            "revenue_per_day.high": "$3000",
            "note": "our accounts",
        },
        follow_redirects=True,
    )
    assert "Figures saved" in costs.text
    assert "Set by the practice: our accounts" in costs.text
    partial = post(officer, "/risk/costs", {"cost_per_record.low": "5"}, follow_redirects=True)
    assert "give all three numbers" in partial.text

    second = start(officer)
    post(officer, f"/risk/assessments/{second}/answers/ir-plan", {"value": "yes"})
    compare = officer.get(f"/risk/assessments/{second}/compare").text
    # The plan now exists (yes), the analysis was done and the register has a risk.
    assert "Answers that changed (3)" in compare
    assert re.search(r"written incident response plan.*?<td>No</td><td>Yes</td>", compare, re.S)


ABSURD = [
    ("1", "1e999", "1e999"),  # infinity: the estimate became NaN and the page a 500
    ("nan", "nan", "nan"),
    ("-inf", "1", "inf"),
    ("1", "1e300", "1e300"),
    ("1", "1" * 5000, "1" * 5000),
]


def test_non_finite_or_absurd_cost_figures_are_refused_and_the_page_stays_up(
    runtime: Runtime, officer: TestClient
) -> None:
    """Before, "1 / 1e999 / 1e999" was saved and GET /risk/costs answered 500 for ever."""
    for low, mode, high in ABSURD:
        saved = post(
            officer,
            "/risk/costs",
            {
                "cost_per_record.low": low,
                "cost_per_record.mode": mode,
                "cost_per_record.high": high,
            },
            follow_redirects=True,
        )
        assert saved.status_code == 200, saved.text
        assert "Figures saved" not in saved.text, (low, mode, high)
    # A bad value already stored (by an older version, or by hand) is set aside, not a 500.
    from sqlalchemy import update

    from carewall.risk.models import RiskCostFigure

    post(
        officer,
        "/risk/costs",
        {"cost_per_record.low": "1", "cost_per_record.mode": "2", "cost_per_record.high": "3"},
    )
    with runtime.db.transaction() as session:
        session.execute(update(RiskCostFigure).values(mode=float("inf"), high=float("inf")))
    page = officer.get("/risk/costs")
    assert page.status_code == 200, page.text
    assert "NaN" not in page.text
    assert "Set by the practice" not in page.text, "the bad figure is set aside"
