"""`carewall init --admin-email` and `carewall user ...`, run in-process with a piped stdin."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from carewall.audit import entries_about
from carewall.core.runtime import Runtime
from carewall.identity import queries
from carewall.identity.queries import UserOverview
from tests.support.cli import carewall
from tests.support.factories import ADMIN_EMAIL, PASSWORD, make_user
from tests.support.mail import Inbox, smtp_inbox
from tests.support.signin import password_step, sign_in_admin, sign_in_user

NURSE = "nurse@example.org"


def _overview(runtime: Runtime, address: str) -> UserOverview:
    with runtime.db.sessions() as session:
        return next(u for u in queries.users_overview(session) if u.email == address)


def test_init_creates_the_first_admin_from_stdin(
    cli_env: dict[str, str], runtime: Runtime, client: TestClient
) -> None:
    result = carewall(
        cli_env, "init", "--admin-email", "Admin@Clinic.Example", stdin=f"{PASSWORD}\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Administrator created: admin@clinic.example" in result.stdout
    assert "second factor" in result.stdout
    assert password_step(client, ADMIN_EMAIL) == "/account/enroll"  # MFA set-up comes first
    again = carewall(cli_env, "init", "--admin-email", ADMIN_EMAIL, stdin=f"{PASSWORD}\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_init_refuses_a_weak_password(cli_env: dict[str, str], runtime: Runtime) -> None:
    result = carewall(cli_env, "init", "--admin-email", ADMIN_EMAIL, stdin="password\n")
    assert result.returncode == 1
    problems = " ".join(result.stderr.split())
    assert "at least 12 characters" in problems
    assert "common and leaked passwords" in problems
    assert "Traceback" not in result.stderr
    with runtime.db.sessions() as session:
        assert queries.users_overview(session) == []


def test_user_add_prints_a_working_link(cli_env: dict[str, str], client: TestClient) -> None:
    result = carewall(cli_env, "user", "add", NURSE, "--role", "clinician", "--name", "Nina")
    assert result.returncode == 0, result.stderr
    [url] = result.stdout.split()  # the link alone on stdout, for scripts
    assert "Not emailed" in result.stderr
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200
    assert NURSE in page.text
    refused = carewall(cli_env, "user", "add", "someone@example.org", "--role", "wizard")
    assert refused.returncode == 1
    assert "Unknown role 'wizard'; choose one of admin," in refused.stderr


def test_user_add_says_when_the_link_was_emailed(cli_env: dict[str, str]) -> None:
    with smtp_inbox() as inbox:
        env = {
            **cli_env,
            "CAREWALL_SMTP_HOST": "127.0.0.1",
            "CAREWALL_SMTP_PORT": str(inbox.port),
            "CAREWALL_SMTP_STARTTLS": "false",
        }
        result = carewall(env, "user", "add", "pat@example.org", "--role=patient", "--patient=P1")
    assert result.returncode == 0, result.stderr
    assert "emailed to pat@example.org" in result.stderr
    assert result.stdout.strip() in _only_message(inbox)


def _only_message(inbox: Inbox) -> str:
    assert len(inbox.messages) == 1
    return inbox.body()


def test_user_list_shows_mfa_status(
    cli_env: dict[str, str], runtime: Runtime, client: TestClient
) -> None:
    sign_in_admin(client, runtime)
    make_user(runtime, NURSE, "clinician")
    table = carewall(cli_env, "user", "list")
    assert table.returncode == 0, table.stderr
    admin_line = next(line for line in table.stdout.splitlines() if ADMIN_EMAIL in line)
    nurse_line = next(line for line in table.stdout.splitlines() if NURSE in line)
    assert "TOTP 1, 10 recovery codes" in admin_line
    assert "No MFA" in nurse_line
    listed = json.loads(carewall(cli_env, "user", "list", "--json").stdout)
    by_email = {row["email"]: row for row in listed}
    assert by_email[ADMIN_EMAIL]["mfa"] is True
    assert by_email[ADMIN_EMAIL]["last_login_at"] is not None
    assert by_email[NURSE]["mfa"] is False
    assert by_email[NURSE]["role"] == "clinician"


def test_user_token_acts_with_its_owners_role(
    cli_env: dict[str, str], runtime: Runtime, client: TestClient
) -> None:
    make_user(runtime, NURSE, "clinician")
    result = carewall(cli_env, "user", "token", NURSE, "--scope", "api:read", "--expires-days", "7")
    assert result.returncode == 0, result.stderr
    [token] = result.stdout.split()
    assert re.fullmatch(r"cw_[A-Za-z0-9_-]+", token)
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["role"] == "clinician"
    assert me.json()["scopes"] == ["api:read"]
    admin_page = client.get("/admin/users", headers=bearer, follow_redirects=False)
    # A token is no admin, and pages need a session: refused outright, not sent to sign-in.
    assert admin_page.status_code == 403
    assert "not web pages" in admin_page.text
    assert carewall(cli_env, "user", "disable", NURSE).returncode == 0
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_disable_enable_and_reset_mfa(
    cli_env: dict[str, str], runtime: Runtime, client: TestClient
) -> None:
    sign_in_user(client, runtime, NURSE, "clinician")
    reset = carewall(cli_env, "user", "reset-mfa", NURSE)
    assert reset.returncode == 0, reset.stderr
    after = _overview(runtime, NURSE)
    assert (after.totp, after.recovery_left) == (0, 0)
    assert client.get("/account/security", follow_redirects=False).status_code == 303
    assert password_step(client, NURSE) == "/account/enroll"
    assert carewall(cli_env, "user", "disable", NURSE).returncode == 0
    assert _overview(runtime, NURSE).status == "disabled"
    assert carewall(cli_env, "user", "enable", NURSE).returncode == 0
    assert _overview(runtime, NURSE).status == "active"
    with runtime.db.sessions() as session:
        subject = f"user:{after.id}"
        actions = ["identity:mfa:reset", "identity:user:disabled", "identity:user:activated"]
        entries = [e for e in entries_about(session, subject, actions) if e.actor == "cli"]
    assert {e.action for e in entries} == set(actions)
    assert {e.user_agent for e in entries} == {"cli"}


def test_unknown_email_and_bad_scope_are_clear_errors(
    cli_env: dict[str, str], runtime: Runtime
) -> None:
    make_user(runtime, NURSE, "clinician")
    cases = [
        (("disable", "ghost@example.org"), "No user with the email address 'ghost@example.org'"),
        (("token", NURSE, "--scope", "root"), "Unknown or missing scopes ['root']"),
    ]
    for args, message in cases:
        result = carewall(cli_env, "user", *args)
        assert result.returncode == 1, args
        assert message in " ".join(result.stderr.split())
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
