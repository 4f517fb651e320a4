"""The assessment: versioned answers, audited overrides, encrypted files, snapshots, register."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from carewall.audit import entries_with_action
from carewall.core.context import Caller
from carewall.core.errors import PermissionDeniedError, ValidationError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.registry import evidence_providers, install
from carewall.risk import queries, services
from carewall.risk.errors import (
    AssessmentClosedError,
    AttachmentTooLargeError,
    ReasonRequiredError,
)
from carewall.risk.models import RiskAttachment
from carewall.risk.services import AnswerInput, RiskInput
from carewall.risk.tags import RiskTag
from carewall.risk.workspace import open_view
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user

OFFICER = Caller.cli("officer")
AUDITOR = Caller.for_user("auditor-id", Role.AUDITOR)


@pytest.fixture
def draft(runtime: Runtime) -> str:
    """An installed runtime with one administrator (so MFA is measured) and a draft."""
    install(runtime)
    make_admin(runtime)
    return services.start_assessment(runtime, OFFICER, title="2025", org_size="small")


def audited(runtime: Runtime, tag: RiskTag) -> list[dict[str, object]]:
    with runtime.db.sessions() as session:
        return [e.details for e in entries_with_action(session, [tag])]


def save(runtime: Runtime, draft: str, question: str, **given: str) -> None:
    services.save_answer(
        runtime, OFFICER, evidence_providers(), draft, question, AnswerInput(**given)
    )


def test_answers_are_versioned_and_the_newest_counts(runtime: Runtime, draft: str) -> None:
    save(runtime, draft, "mfa-remote", value="no", owner="IT")
    save(runtime, draft, "mfa-remote", value="yes", owner="IT", note="VPN now needs MFA")

    with runtime.db.sessions() as session:
        history = queries.answer_history(session, draft, "mfa-remote")
    assert [(a.version, a.value) for a in history] == [(2, "yes"), (1, "no")]
    view = open_view(runtime, evidence_providers(), draft)
    assert view.answers["mfa-remote"].answer == "yes"
    assert view.answers["mfa-remote"].stored is not None
    assert view.answers["mfa-remote"].stored.note == "VPN now needs MFA"
    assert [d["version"] for d in audited(runtime, RiskTag.ANSWER_SAVED)] == [2, 1]


def test_a_measured_answer_is_prefilled_and_overriding_it_needs_a_reason_and_is_audited(
    runtime: Runtime, draft: str
) -> None:
    view = open_view(runtime, evidence_providers(), draft)
    measured = view.answers["mfa-privileged"]
    assert (measured.answer, measured.source) == ("no", "auto")  # the admin has no factor yet
    assert measured.auto is not None
    assert measured.auto.measured[0].figure == "0 of 1 (0%)"

    with pytest.raises(ReasonRequiredError):
        save(runtime, draft, "mfa-privileged", value="yes")
    assert audited(runtime, RiskTag.ANSWER_OVERRIDDEN) == []

    save(
        runtime, draft, "mfa-privileged", value="yes", reason="Admin uses a hardware key at the VPN"
    )
    after = open_view(runtime, evidence_providers(), draft).answers["mfa-privileged"]
    assert (after.answer, after.source) == ("yes", "override")
    assert after.stored is not None
    assert after.stored.reason == "Admin uses a hardware key at the VPN"
    assert after.stored.measured is not None
    assert after.stored.measured["answer"] == "no"  # what the person overrode is kept
    (entry,) = audited(runtime, RiskTag.ANSWER_OVERRIDDEN)
    assert entry["question"] == "mfa-privileged"
    assert entry["value"] == "yes"
    assert entry["measured_answer"] == "no"

    save(runtime, draft, "mfa-privileged", value="auto")  # hand it back to the evidence
    back = open_view(runtime, evidence_providers(), draft).answers["mfa-privileged"]
    assert (back.answer, back.source) == ("no", "auto")


def test_not_applicable_needs_a_reason(runtime: Runtime, draft: str) -> None:
    with pytest.raises(ReasonRequiredError):
        save(runtime, draft, "acc-clearinghouse", value="na")
    save(runtime, draft, "acc-clearinghouse", value="na", reason="No clearinghouse here")
    view = open_view(runtime, evidence_providers(), draft)
    assert view.answers["acc-clearinghouse"].answer == "na"


def test_bad_answers_and_roles_are_refused(runtime: Runtime, draft: str) -> None:
    with pytest.raises(ValidationError):
        save(runtime, draft, "mfa-remote", value="maybe")
    with pytest.raises(ValidationError):
        save(runtime, draft, "mfa-remote", value="auto")  # nothing measures it
    with pytest.raises(ValidationError):
        save(runtime, draft, "vuln-pentest", value="yes")  # not asked of a small practice
    with pytest.raises(PermissionDeniedError):
        services.save_answer(
            runtime, AUDITOR, evidence_providers(), draft, "mfa-remote", AnswerInput("yes")
        )
    with pytest.raises(ValidationError):
        services.start_assessment(runtime, OFFICER, title="second", org_size="small")


def test_attachments_are_encrypted_hashed_versioned_and_their_download_audited(
    runtime: Runtime, draft: str
) -> None:
    policy = b"Incident response plan: call the insurer's hotline first.\n"
    first = services.add_attachment(
        runtime,
        OFFICER,
        draft,
        "ir-plan",
        filename="../plan.txt",
        content_type="text/plain",
        data=policy,
    )
    second = services.add_attachment(
        runtime,
        OFFICER,
        draft,
        "ir-plan",
        filename="plan.txt",
        content_type="text/html<script>",
        data=policy + b"v2",
    )
    assert (first.filename, first.version, second.version) == ("plan.txt", 1, 2)
    assert first.sha256 == hashlib.sha256(policy).hexdigest()
    assert second.content_type == "application/octet-stream"
    with runtime.db.sessions() as session:
        stored = session.scalars(select(RiskAttachment.ciphertext)).all()
    assert all(b"insurer" not in blob for blob in stored)

    info, data = services.attachment_for(runtime, AUDITOR, first.id)
    assert data == policy
    assert info.sha256 == first.sha256
    assert audited(runtime, RiskTag.ATTACHMENT_DOWNLOADED)[0]["attachment"] == first.id

    runtime.settings = runtime.settings.model_copy(update={"risk_attachment_max_bytes": 1024})
    with pytest.raises(AttachmentTooLargeError):
        services.add_attachment(
            runtime,
            OFFICER,
            draft,
            "ir-plan",
            filename="big.bin",
            content_type="",
            data=b"x" * 2048,
        )


def test_a_completed_assessment_is_a_frozen_snapshot_compared_with_the_next(
    runtime: Runtime, draft: str, clock: FrozenClock
) -> None:
    save(runtime, draft, "mfa-remote", value="no")
    save(runtime, draft, "gov-officer", value="yes", owner="Practice manager")
    done = services.complete_assessment(runtime, OFFICER, evidence_providers(), draft)
    assert done.summary is not None
    assert done.summary.completed
    frozen_mfa = done.answers["mfa-staff"].auto
    assert frozen_mfa is not None
    assert frozen_mfa.measured[0].figure == "0 of 1 (0%)"
    with pytest.raises(AssessmentClosedError):
        save(runtime, draft, "mfa-remote", value="yes")

    clock.advance(days=400)
    make_user(runtime, "second@clinic.example", "admin")  # no second factor yet
    again = open_view(runtime, evidence_providers(), draft)
    assert again.answers["mfa-staff"].auto is not None
    assert again.answers["mfa-staff"].auto.measured[0].figure == "0 of 1 (0%)"  # as it was

    second = services.start_assessment(runtime, OFFICER, title="2026", org_size="small")
    carried = open_view(runtime, evidence_providers(), second)
    assert carried.answers["gov-officer"].source == "carried"  # people's answers come along
    assert carried.answers["mfa-staff"].auto is not None
    assert carried.answers["mfa-staff"].auto.measured[0].figure == "0 of 2 (0%)"  # live again
    assert carried.answers["gov-risk-analysis"].answer == "partial"  # last one 400 days ago
    with runtime.db.sessions() as session:
        assert queries.assessment(session, second).previous_id == draft
    (completed,) = audited(runtime, RiskTag.ASSESSMENT_COMPLETED)
    assert completed["grade"] == done.readiness.grade


def test_a_past_assessment_is_recorded_as_a_dated_baseline(
    runtime: Runtime, draft: str, clock: FrozenClock
) -> None:
    past = services.record_past_assessment(
        runtime,
        OFFICER,
        title="Paper SRA",
        org_size="small",
        completed_on=(clock.now - timedelta(days=365)).date(),
        answers={
            "mfa-email": AnswerInput("no"),
            "acc-clearinghouse": AnswerInput("na", reason="n/a here"),
        },
    )
    view = open_view(runtime, evidence_providers(), past)
    assert view.summary is not None
    assert view.summary.completed_at is not None
    assert view.summary.completed_at.date() == (clock.now - timedelta(days=365)).date()
    assert view.answers["mfa-email"].answer == "no"
    assert view.answers["mfa-staff"].answer == "unknown"  # nothing was measured then
    with pytest.raises(ValidationError):
        services.record_past_assessment(
            runtime,
            OFFICER,
            title="x",
            org_size="small",
            completed_on=(clock.now + timedelta(days=2)).date(),
            answers={},
        )


def test_the_register_scores_owners_dates_and_refuses_stale_edits(
    runtime: Runtime, draft: str
) -> None:
    added = services.add_starter_risks(runtime, OFFICER)
    assert added == 5
    assert services.add_starter_risks(runtime, OFFICER) == 0
    with runtime.db.sessions() as session:
        ransomware = next(r for r in queries.risks(session) if r.threat == "T2")
    changed = RiskInput(
        title=ransomware.title,
        threat="T2",
        inherent_likelihood=3,
        inherent_impact=5,
        residual_likelihood=2,
        residual_impact=4,
        owner="IT",
        status="mitigating",
        controls=("backups",),
    )
    services.update_risk(runtime, OFFICER, ransomware.id, changed, ransomware.version)
    with pytest.raises(services.ConcurrentChangeError):
        services.update_risk(runtime, OFFICER, ransomware.id, changed, ransomware.version)
    with pytest.raises(ValidationError):
        services.create_risk(runtime, OFFICER, RiskInput(title="x", inherent_impact=6))
    with runtime.db.sessions() as session:
        after = queries.risk(session, ransomware.id)
    assert (after.inherent, after.residual, after.owner) == (15, 8, "IT")

    view = open_view(runtime, evidence_providers(), draft)
    backups = [p for p in view.plan if p.question.section == "backups"]
    assert backups
    assert all(ransomware.title in p.risks for p in backups)


def test_cost_figures_set_and_reset_are_audited(runtime: Runtime, draft: str) -> None:
    changed, reset = services.set_cost_figures(
        runtime, OFFICER, {"revenue_per_day": (1000.0, 2000.0, 3000.0)}, note="our accounts"
    )
    assert (changed, reset) == (["revenue_per_day"], [])
    assert services.set_cost_figures(
        runtime, OFFICER, {"revenue_per_day": (1000.0, 2000.0, 3000.0)}
    ) == ([], [])  # nothing changed, nothing written
    with pytest.raises(ValidationError):
        services.set_cost_figures(runtime, OFFICER, {"share_exposed": (0.1, 0.5, 2.0)})
    services.set_cost_figures(runtime, OFFICER, {"revenue_per_day": None})
    assert [d["reset"] for d in audited(runtime, RiskTag.COSTS_UPDATED)] == [
        ["revenue_per_day"],
        [],
    ]
