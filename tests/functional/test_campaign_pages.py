"""The administrator's campaign and training pages, and a learner with a login, through the app."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.demo.identity_seed import STAFF
from carewall.registry import create_app, seed_demo
from carewall.training import modules
from tests.functional.campaign_helpers import mailing_settings, practice, run_jobs, simulations
from tests.support.clock import FrozenClock
from tests.support.factories import Person, make_admin, make_user
from tests.support.mail import Inbox, smtp_inbox
from tests.support.signin import csrf, post_form, signed_in


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def runtime(settings: Settings, inbox: Inbox) -> Iterator[Runtime]:  # type: ignore[override]
    with practice(mailing_settings(settings, inbox)) as opened:
        yield opened


@pytest.fixture
def admin(runtime: Runtime, clock: FrozenClock, client: TestClient) -> TestClient:
    signed_in(client, runtime, make_admin(runtime))
    return client


def test_launch_from_the_page_and_follow_the_results(
    runtime: Runtime, admin: TestClient, inbox: Inbox
) -> None:
    page = admin.get("/admin/campaigns")
    assert page.status_code == 200
    assert "No campaign has sent anything yet" in page.text
    launched = post_form(
        admin,
        "/admin/campaigns",
        {
            "template_id": "lab-results-ready",
            "audience": "group",
            "group": "Front desk",
            "send_now": "1",
            "assign_training": "1",
            "name": "Front desk drill",
        },
    )
    assert launched.status_code == 303, launched.text
    detail_path = launched.headers["location"]
    run_jobs(runtime)
    assert list(simulations(inbox)) == ["ana.lopez@clinic.example"]
    detail = admin.get(detail_path)
    assert "Front desk drill" in detail.text
    assert 'id="recipients-table"' in detail.text
    assert "<svg" in detail.text
    assert admin.get("/admin/campaigns").status_code == 200
    exported = admin.get(f"{detail_path}/results.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "ana.lopez@clinic.example" in exported.text

    refused = post_form(
        admin,
        "/admin/campaigns",
        {"template_id": "voicemail", "audience": "emails", "emails": "someone@gmail.com"},
    )
    assert refused.status_code == 422
    assert "outside the practice" in refused.text


def test_clone_edit_preview_and_sanitise_a_template(admin: TestClient) -> None:
    cloned = post_form(admin, "/admin/campaigns/templates/voicemail/clone")
    path = cloned.headers["location"]
    assert path.startswith("/admin/campaigns/templates/custom-")
    saved = post_form(
        admin,
        path,
        {
            "title": "Voicemail (edited)",
            "subject": "You have 2 new voicemails",
            "sender_name": "Phone system",
            "sender_address": "voice@{{sim_domain}}",
            "html": "<p>Hi {{first_name}}</p><script>alert(1)</script>"
            '<img src="https://tracker.example/x.png"><a href="{{link}}">Play</a>',
            "text": "Hi {{first_name}}, play it: {{link}}",
            "landing": "page",
            "difficulty": "easy",
            "landing_heading": "",
            "landing_fields": "",
        },
    )
    assert saved.status_code == 303
    page = admin.get(path)
    assert "Voicemail (edited)" in page.text
    preview = page.text.split('id="preview-mail"', 1)[1].split("</div>", 1)[0]
    assert "<script" not in preview
    assert "tracker.example" not in preview, "a preview never loads remote content"
    assert "Hi Alex" in preview
    listing = admin.get("/admin/campaigns/templates")
    assert "Voicemail (edited)" in listing.text


def test_training_administration(runtime: Runtime, admin: TestClient) -> None:
    page = admin.get("/admin/training")
    assert page.status_code == 200
    assert "ana.lopez@clinic.example" in page.text
    csv_file = "email,name,department\ndan.roy@clinic.example,Dan Roy,Lab\nbad-address,Nobody,Lab\n"
    imported = admin.post(
        "/admin/training/import",
        data={"csrf_token": csrf(admin)},
        files={"file": ("staff.csv", csv_file.encode(), "text/csv")},
        follow_redirects=True,
    )
    assert "1 added" in imported.text
    assert "line 3" in imported.text
    group = {"name": "Lab", "kind": "department", "rule": "Lab"}
    assert post_form(admin, "/admin/training/groups", group).status_code == 303
    assigned = post_form(
        admin, "/admin/training/assign", {"module_id": "ransomware", "group": "Lab"}
    )
    assert assigned.status_code == 303
    page = admin.get("/admin/training")
    assert 'id="by-module"' in page.text
    assert "Ransomware in a medical practice" in page.text
    exported = admin.get("/admin/training/export.csv")
    assert "dan.roy@clinic.example,Dan Roy,Lab,ransomware,manual,assigned" in exported.text
    member = re.search(r'action="(/admin/training/staff/[^"]+/link)"', page.text)
    assert member
    link = post_form(admin, member.group(1))
    assert link.status_code == 303


def test_a_learner_with_a_login_trains_on_their_home_page(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    person = make_user(runtime, "ana.lopez@clinic.example", "front_desk")
    signed_in(client, runtime, person)
    home = client.get("/")
    assert "Your security training" in home.text, "assignments show on the home page"
    mine = client.get("/training")
    start = re.search(r'href="(/training/m/[^"]+)"', mine.text)
    assert start
    lesson = client.get(start.group(1))
    assert "Take the quiz" in lesson.text
    begun = post_form(client, f"{start.group(1)}/quiz")
    quiz = client.get(begun.headers["location"])
    bank = {q.id: q.answer for m in modules().values() for q in m.questions}
    answers = {
        name: str(bank[name[2:]]) for name in set(re.findall(r'name="(q_[^"]+)"', quiz.text))
    }
    result = post_form(client, begun.headers["location"], answers)
    assert "You passed" in result.text
    certificate = re.search(
        r'href="(/training/m/[^"]+/certificate.pdf)"', client.get("/training").text
    )
    assert certificate
    pdf = client.get(certificate.group(1))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    other = client.get("/training/m/00000000-0000-0000-0000-000000000000")
    assert other.status_code == 404


def test_the_demo_pages_render(runtime: Runtime, clock: FrozenClock) -> None:
    seed_demo(runtime)
    demo_admin = STAFF[0]
    with TestClient(create_app(runtime)) as admin:
        signed_in(admin, runtime, Person(demo_admin.email, demo_admin.password))
        listing = admin.get("/admin/campaigns")
        assert "Second drill: EHR password expiry" in listing.text
        campaign = re.search(r'href="(/admin/campaigns/[0-9a-f-]{36})"', listing.text)
        assert campaign
        detail = admin.get(campaign.group(1))
        assert "scanner:" in detail.text
        assert admin.get("/admin/training").status_code == 200
        assert admin.get("/admin/campaigns/templates/ehr-password-expiry").status_code == 200


def test_a_hand_picked_group_is_a_campaign_target(
    runtime: Runtime, admin: TestClient, inbox: Inbox
) -> None:
    made = post_form(admin, "/admin/training/groups", {"name": "Fire wardens", "kind": "manual"})
    assert made.status_code == 303
    page = admin.get("/admin/training")
    action = re.search(r'action="(/admin/training/groups/[^"]+/members)"', page.text)
    assert action
    ids = re.findall(r'name="member_ids" value="([^"]+)"', page.text)[:2]
    admin.post(
        action.group(1),
        data={"csrf_token": csrf(admin), "member_ids": ids},
        follow_redirects=False,
    )
    assert "Fire wardens: manual, 2 people" in admin.get("/admin/training").text
    launched = post_form(
        admin,
        "/admin/campaigns",
        {
            "template_id": "delivery-notice",
            "audience": "group",
            "group": "Fire wardens",
            "send_now": "1",
        },
    )
    assert launched.status_code == 303
    run_jobs(runtime)
    assert len(simulations(inbox)) == 2
