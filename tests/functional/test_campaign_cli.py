"""Campaign and staff commands as scripts use them: stable JSON, the id last, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.campaign_helpers import BASE_URL, simulations, tracked_paths
from tests.support.cli import carewall
from tests.support.mail import Inbox, smtp_inbox

STAFF = """email,name,department,role,manager,start_date
dee.ng@clinic.example,Dee Ng,Front desk,Receptionist,,2022-01-10
eli.ward@clinic.example,Eli Ward,Front desk,Receptionist,,not-a-date
fay.oduya@gmail.com,Fay Oduya,Billing,Billing specialist,,
"""


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def env(cli_env: dict[str, str], inbox: Inbox) -> dict[str, str]:
    return {
        **cli_env,
        "CAREWALL_SMTP_HOST": "127.0.0.1",
        "CAREWALL_SMTP_PORT": str(inbox.port),
        "CAREWALL_SMTP_STARTTLS": "false",
        "CAREWALL_MAIL_ORG_DOMAINS": '["clinic.example"]',
        "CAREWALL_BASE_URL": BASE_URL,
        "CAREWALL_CAMPAIGN_SCANNER_SECONDS": "0",
    }


def test_templates_list_is_stable_json(env: dict[str, str]) -> None:
    result = carewall(env, "campaign", "templates", "--json")
    assert result.returncode == 0, result.stderr
    templates = json.loads(result.stdout)
    assert len(templates) >= 12
    assert all(set(t) == {"id", "title", "difficulty", "landing"} for t in templates)
    assert {t["landing"] for t in templates} == {"credentials", "page", "none"}


def test_staff_import_reports_each_bad_row(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(STAFF, encoding="utf-8")
    result = carewall(env, "staff", "import", str(path))
    assert result.returncode == 1, "a refused row makes the import exit 1"
    assert "1 added" in result.stdout
    assert "line 3" in result.stderr
    assert "not a date" in result.stderr
    assert "line 4" in result.stderr
    assert "outside the practice" in result.stderr
    again = carewall(env, "staff", "import", str(path))
    assert "1 unchanged" in again.stdout, "importing twice updates nothing"
    listed = [
        json.loads(line) for line in carewall(env, "staff", "list", "--json").stdout.splitlines()
    ]
    assert [p["email"] for p in listed] == ["dee.ng@clinic.example"]


def test_launch_send_and_results(env: dict[str, str], inbox: Inbox) -> None:
    launched = carewall(
        env,
        "campaign", "launch", "--template", "voicemail",
        "--to", "gus.hale@clinic.example,hana.ito@clinic.example",
        "--name", "CLI drill", "--now",
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    campaign_id = launched.stdout.strip().splitlines()[-1]
    assert len(campaign_id) == 36
    assert carewall(env, "jobs", "run").returncode == 0
    received = simulations(inbox)
    assert sorted(received) == ["gus.hale@clinic.example", "hana.ito@clinic.example"]
    assert tracked_paths(received["gus.hale@clinic.example"])["click"].startswith("/s/c/")

    result = carewall(env, "campaign", "results", campaign_id, "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["email"] for r in rows} == {"gus.hale@clinic.example", "hana.ito@clinic.example"}
    for row in rows:
        assert {"email", "sent", "opened", "clicked", "submitted", "reported", "scanner_events",
                "training_assigned"} <= set(row)  # fmt: skip
        assert row["sent"] is not None
        assert row["clicked"] is None
        assert row["scanner_events"] == 0
        assert row["training_assigned"] == []


def test_bad_launches_fail_clearly(env: dict[str, str]) -> None:
    outside = carewall(env, "campaign", "launch", "--template", "voicemail", "--to", "x@gmail.com")
    assert outside.returncode == 1
    assert "outside the practice's mail domains" in outside.stderr
    unknown = carewall(env, "campaign", "launch", "--template", "nope", "--to", "a@clinic.example")
    assert unknown.returncode == 1
    assert "No template is called 'nope'" in unknown.stderr
    neither = carewall(env, "campaign", "launch", "--template", "voicemail")
    assert neither.returncode == 2
    missing = carewall(env, "campaign", "results", "00000000-0000-0000-0000-000000000000", "--json")
    assert missing.returncode == 1
    for result in (outside, unknown, neither, missing):
        assert "Traceback" not in result.stderr
