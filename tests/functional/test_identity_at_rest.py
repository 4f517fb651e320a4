"""Sign-in secrets are never stored as given (README "Signing in"; threat model).

With a copy of the database, nobody can sign in as anyone: passwords are
Argon2id hashes, TOTP secrets are encrypted, and recovery codes, session ids,
API tokens and invitation tokens are stored as digests only.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import accounts, apitokens
from carewall.identity.queries import user_id_for_email
from carewall.web.auth import SESSION_COOKIE
from tests.support.factories import PASSWORD, make_user
from tests.support.signin import signed_in

TABLES = ("users", "invites", "web_sessions", "totp_devices", "recovery_codes", "api_tokens")


def _dump(runtime: Runtime) -> str:
    parts = []
    with runtime.db.engine.connect() as connection:
        for table in (*TABLES, "audit_entries"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                parts.extend(v.hex() if isinstance(v, bytes) else str(v) for v in row)
                parts.extend(v.decode("latin-1") for v in row if isinstance(v, bytes))
    return "\n".join(parts)


def test_no_sign_in_secret_is_stored_as_given(runtime: Runtime, client: TestClient) -> None:
    pending = accounts.invite_user(runtime, Caller.cli(), "new@clinic.example", "clinician")
    invite_token = pending.url.rsplit("/", 1)[1]
    person = make_user(runtime, "nurse@clinic.example", "clinician")
    signed_in(client, runtime, person)
    session_id = client.cookies.get(SESSION_COOKIE)
    assert session_id
    with runtime.db.sessions() as session:
        user_id = user_id_for_email(session, "nurse@clinic.example")
    assert user_id
    api_token, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "script", ["fhir:read"])
    stored = _dump(runtime)
    assert PASSWORD not in stored
    assert "$argon2id$" in stored, "passwords are Argon2id hashes"
    assert person.secret
    assert person.secret not in stored, "TOTP secrets are encrypted"
    assert person.recovery_codes
    for code in person.recovery_codes:
        assert code not in stored, "recovery codes are stored as digests"
    for secret in (session_id, api_token, api_token[10:], invite_token):
        assert secret not in stored
