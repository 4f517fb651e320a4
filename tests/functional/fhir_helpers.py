"""A FHIR client's view of Carewall for attack-style tests: people with tokens, raw HTTP.

`tests/functional/test_fhir_api.py` has a `bearer` helper that makes one user
per role; the access-control tests need several people of the same role (a
second clinician, two patients), so tokens here are made per email.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carewall.audit import AuditEntryView, entries_about
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, apitokens, queries
from tests.functional.audit_helpers import about
from tests.functional.signin_helpers import make_user

FHIR_JSON = "application/fhir+json"
BOTH = ("fhir:read", "fhir:write")


def token_for(
    runtime: Runtime,
    email: str,
    role: Role,
    *,
    patient_id: str | None = None,
    scopes: tuple[str, ...] = BOTH,
) -> dict[str, str]:
    """Headers of a FHIR client holding a fresh token of a new user `email` with `role`."""
    make_user(runtime, email, str(role), patient_id=patient_id)
    return token_of(runtime, email, scopes)


def token_of(runtime: Runtime, email: str, scopes: tuple[str, ...] = BOTH) -> dict[str, str]:
    """Headers with a new API token of an existing user."""
    user_id = user_id_of(runtime, email)
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "fhir test", list(scopes))
    return {"Authorization": f"Bearer {secret}", "Accept": FHIR_JSON}


def user_id_of(runtime: Runtime, email: str) -> str:
    """The id of the user with this email."""
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    assert user_id is not None
    return user_id


def outcome(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an OperationOutcome with `status` (and first issue `code`); return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    if code is not None:
        assert body["issue"][0]["code"] == code, body
    return body


def audit_about(
    runtime: Runtime, subject: str, actions: Collection[str], limit: int = 200
) -> list[AuditEntryView]:
    """The audit entries filed under `subject` (directly or as one of several subjects).

    A patient (`Patient/{id}`) is looked up the way the accounting does: under
    its keyed reference and the old clear form, with the sealed details revealed.
    """
    with runtime.db.sessions() as session:
        if subject.startswith("Patient/"):
            return about(session, runtime, subject.removeprefix("Patient/"), actions, limit)
        return entries_about(session, subject, actions, limit)
