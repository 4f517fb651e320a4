"""Auto-evidence checked against facts made in the test: factors, invitations, the audit chain."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from carewall.audit import AuditEvent, AuditTag, Outcome, record, verify
from carewall.audit.models import AuditEntry
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import accounts, passkeys, prepare_keys, sessions, signin
from carewall.identity.models import User
from carewall.registry import create_app, evidence_providers
from carewall.risk import collect
from tests.functional.test_passkeys_service import WEB_ORIGIN, SoftKey
from tests.support.cli import carewall
from tests.support.clock import FrozenClock
from tests.support.factories import CLI, PASSWORD, make_admin, make_integration, make_user
from tests.support.signin import signed_in

REQUIRED = ("mfa", "phishing", "training", "backup", "audit", "alerts")


def enrol_passkey(runtime: Runtime, email: str) -> None:
    """Register a software passkey as the account's first factor, through identity's services."""
    prepare_keys(runtime.keys)
    result = signin.sign_in_with_password(runtime, email, PASSWORD, CLI)
    active = sessions.resolve(runtime.db, runtime.settings, result.token, utcnow())
    assert active is not None
    soft = SoftKey()
    ceremony = passkeys.begin_registration(runtime, active, WEB_ORIGIN)
    passkeys.finish_registration(
        runtime, active, ceremony.challenge_id, soft.create(ceremony.options), "Key", CLI
    )


def make_practice(runtime: Runtime, clock: FrozenClock) -> None:
    """Staff and patients with and without second factors, and invitations old and new."""
    accounts.invite_user(runtime, Caller.cli(), "expired@clinic.example", "front_desk")
    clock.advance(days=8)  # past CAREWALL_INVITE_DAYS: this invitation no longer counts
    accounts.invite_user(runtime, Caller.cli(), "pending@clinic.example", "front_desk")
    admin = make_admin(runtime)
    make_user(runtime, "clin@clinic.example", "clinician")
    make_user(runtime, "billing@clinic.example", "billing")
    auditor = make_user(runtime, "gone@clinic.example", "auditor")
    make_integration(runtime, "feed@clinic.example")
    make_user(runtime, "pat@example.org", "patient", patient_id="p-1")
    make_user(runtime, "pat2@example.org", "patient", patient_id="p-2")
    app = create_app(runtime)
    for person in (admin, auditor):
        with TestClient(app) as client:
            signed_in(client, runtime, person)  # enrols an authenticator app
    enrol_passkey(runtime, "billing@clinic.example")
    enrol_passkey(runtime, "pat@example.org")  # patients may add one from their account page
    with runtime.db.transaction() as session:
        gone = session.scalar(select(User.id).where(User.email == "gone@clinic.example"))
    accounts.disable_user(runtime, Caller.cli(), str(gone))


def test_mfa_evidence_counts_the_accounts_made_in_the_test(
    runtime: Runtime, clock: FrozenClock
) -> None:
    make_practice(runtime, clock)

    evidence = collect(runtime, evidence_providers())
    mfa = evidence.sections["mfa"]

    # Active staff: admin (TOTP), clinician (none), billing (passkey). The disabled
    # auditor, the integration feed, invitees and patients are not staff.
    assert mfa["staff_active"] == 3
    assert mfa["staff_with_mfa"] == 2
    assert mfa["staff_with_passkey"] == 1
    assert mfa["admins_active"] == 1
    assert mfa["admins_with_mfa"] == 1
    assert mfa["patients_active"] == 2
    assert mfa["patients_with_mfa"] == 1
    assert mfa["patients_with_passkey"] == 1
    assert mfa["pending_invitations"] == 1  # the expired one does not count
    assert mfa["passkey_share"] == round(1 / 3, 4)
    assert mfa["as_of"] == clock.now.isoformat()
    assert evidence.status("mfa") == "measured"

    auto = evidence.auto_answers()
    assert auto["mfa-staff"].answer == "no"
    assert auto["mfa-staff"].measured[0].figure == "2 of 3 (67%)"
    assert auto["mfa-privileged"].answer == "yes"
    assert auto["mfa-patients"].measured[0].figure == "1 of 2 (50%)"
    assert auto["mfa-patients"].answer == "partial"


def test_platform_evidence_reads_the_settings_and_the_master_key(runtime: Runtime) -> None:
    evidence = collect(runtime, evidence_providers())
    policy, timeouts, crypto = (
        evidence.sections["password_policy"],
        evidence.sections["sessions"],
        evidence.sections["encryption"],
    )
    assert policy["min_length"] == runtime.settings.password_min_length
    assert policy["breached_screening"] is True
    assert timeouts["idle_minutes_staff"] == 15
    assert crypto["records_encrypted"] is True
    assert crypto["master_key_age_days"] == 0
    auto = evidence.auto_answers()
    assert auto["harden-auto-logoff"].answer == "yes"
    assert auto["harden-encryption-at-rest"].answer == "yes"
    assert auto["harden-transport"].answer == "no"  # not configured behind TLS


def test_risk_evidence_json_has_every_section_and_a_verified_chain(
    runtime: Runtime, cli_env: dict[str, str]
) -> None:
    make_admin(runtime)
    before = carewall(cli_env, "risk", "evidence", "--json")
    assert before.returncode == 0, before.stderr
    sections = json.loads(before.stdout)
    for name in REQUIRED:
        assert "as_of" in sections[name], name
    for name in ("phishing", "training", "backup", "alerts"):  # nothing measured yet
        assert sections[name]["as_of"] is None, name
        assert sections[name]["status"] == "not measured yet", name
    assert sections["audit"]["as_of"] is None  # never verified yet
    assert sections["mfa"]["staff_active"] == 1
    assert set(sections["mfa"]) >= {
        "staff_active",
        "staff_with_mfa",
        "admins_active",
        "admins_with_mfa",
        "patients_active",
        "patients_with_mfa",
        "pending_invitations",
        "passkey_share",
    }

    verified = carewall(cli_env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    audit = json.loads(carewall(cli_env, "risk", "evidence", "--json").stdout)["audit"]

    assert audit["as_of"] is not None
    assert audit["intact"] is True
    assert audit["entries_verified"] >= 1
    assert audit["status"] == "measured"


def test_a_broken_chain_answers_no_and_old_verification_goes_stale(
    runtime: Runtime, clock: FrozenClock
) -> None:
    make_admin(runtime)
    with runtime.db.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(body=b"tampered" * 8))
    result = verify(runtime.db)
    assert not result.ok
    with runtime.db.transaction() as session:  # what `carewall audit verify` records
        record(
            session,
            AuditEvent(
                action=AuditTag.CHAIN_BROKEN,
                outcome=Outcome.FAILURE,
                actor="cli",
                details={"count": result.count, "position": result.position},
            ),
        )
    evidence = collect(runtime, evidence_providers())
    assert evidence.sections["audit"]["intact"] is False
    assert evidence.sections["audit"]["broken_at"] == 1
    assert evidence.auto_answers()["log-audit-trail"].answer == "no"

    clock.advance(days=runtime.settings.risk_evidence_stale_days + 1)
    later = collect(runtime, evidence_providers())
    assert later.status("audit") == "stale"
    assert later.auto_answers()["log-audit-trail"].stale
    assert later.status("mfa") == "measured"  # measured afresh on every call
