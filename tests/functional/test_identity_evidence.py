"""Evidence for the risk module: MFA coverage by role, passkeys, accounts without MFA."""

from __future__ import annotations

from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user
from tests.support.signin import signed_in


def test_mfa_coverage_counts_active_accounts_by_role(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    admin = make_admin(runtime)
    make_user(runtime, "clin@clinic.example", "clinician")
    make_user(runtime, "pat@example.org", "patient", patient_id="p-1")
    signed_in(client, runtime, admin)  # enrols TOTP

    with runtime.db.sessions() as session:
        coverage = queries.mfa_coverage(session)

    assert coverage.by_role[Role.ADMIN].with_mfa == 1
    assert coverage.by_role[Role.CLINICIAN].active == 1
    assert coverage.by_role[Role.CLINICIAN].with_mfa == 0
    assert coverage.staff_share == 0.5
    assert coverage.patient_share == 0.0
    assert coverage.phishing_resistant_staff_share == 0.0
    assert coverage.accounts_without_mfa == 2
