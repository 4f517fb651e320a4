"""The `integration` role: token-only accounts for system feeds (interface engine, nightly load).

What an operator and an administrator would check: the account is made on the
command line without an invitation, nobody can sign in as it, its token writes
whole Bundles of every type but opens no page, a restriction lets its writes in
and keeps its reads out, it never counts as staff without MFA, and everything
it does is audited and visible (with its tokens) on the users page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit import entries_about, recent_entries
from carewall.core.context import Caller, Purpose
from carewall.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import Role, accounts, apitokens, policy, queries
from carewall.identity.models import Invite, MfaPolicy
from carewall.records.access.break_glass import start_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.portal.accounting import Who, access_events, flag_access
from carewall.records.services import create_resource
from tests.support.cli import carewall
from tests.support.factories import (
    SYSTEM,
    bearer,
    fhir_resource,
    make_integration,
    make_resources,
    token_of,
    user_id_of,
)
from tests.support.fhir import outcome
from tests.support.signin import login, post, sign_in_admin

FEED = "feed@clinic.example"


def _feed(runtime: Runtime) -> tuple[str, dict[str, str]]:
    """An integration account and the headers of a fresh fhir:read+write token of it."""
    feed_id = make_integration(runtime, FEED)
    return feed_id, token_of(runtime, FEED)


def _bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def _post_entry(resource: dict[str, Any], full_url: str) -> dict[str, Any]:
    body = {k: v for k, v in resource.items() if k != "id"}
    return {
        "fullUrl": full_url,
        "resource": body,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def _feed_bundle() -> dict[str, Any]:
    """What a feed sends: a practice's Organization, a patient and a result referring to both."""
    patient_url, org_url = "urn:uuid:6d1e0b9c-0000-4000-8000-000000000001", "urn:uuid:org-1"
    observation = fhir_resource("Observation", "x", performer=[{"reference": org_url}])
    observation["subject"] = {"reference": patient_url}
    return _bundle(
        _post_entry(fhir_resource("Organization", "x"), org_url),
        _post_entry(fhir_resource("Patient", "x"), patient_url),
        _post_entry(observation, "urn:uuid:obs-1"),
    )


def test_user_add_creates_an_active_token_only_account_without_a_link(
    cli_env: dict[str, str], runtime: Runtime
) -> None:
    added = carewall(cli_env, "user", "add", FEED, "--role", "integration", "--name", "Lab feed")
    assert added.returncode == 0, added.stderr
    assert added.stdout == ""  # no invitation link: there is nobody to invite
    assert "token-only" in added.stderr
    assert f"carewall user token {FEED} --scope fhir:read,fhir:write" in added.stderr
    feed_id = user_id_of(runtime, FEED)
    with runtime.db.sessions() as session:
        assert session.scalars(select(Invite).where(Invite.user_id == feed_id)).all() == []
        [row] = [u for u in queries.users_overview(session) if u.email == FEED]
        created = entries_about(session, f"user:{feed_id}", ["identity:user:created"], 5)
    assert (row.role, row.status, row.display_name) == (Role.INTEGRATION, "active", "Lab feed")
    assert created
    assert created[0].actor == "cli"

    token = carewall(cli_env, "user", "token", FEED, "--scope", "fhir:read,fhir:write")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("cw_")
    listed = carewall(cli_env, "user", "list")
    assert "Token only" in listed.stdout

    with_patient = carewall(
        cli_env, "user", "add", "other@clinic.example", "--role", "integration", "--patient", "p"
    )
    assert with_patient.returncode == 1
    assert "--patient is for patient accounts" in with_patient.stderr


def test_nobody_signs_in_as_a_feed_and_guessing_never_locks_it(
    runtime: Runtime, client: TestClient
) -> None:
    feed_id, headers = _feed(runtime)
    for _ in range(12):  # past the lockout of a person's account
        refused = login(client, FEED, "violet harbour lantern 1987")
        assert refused.status_code == 401
        assert "location" not in refused.headers
    with runtime.db.sessions() as session:
        failures = entries_about(session, f"user:{feed_id}", ["identity:login:failure"], 20)
        [row] = [u for u in queries.users_overview(session) if u.email == FEED]
    assert {e.details.get("reason") for e in failures} == {"token_only"}
    assert not row.locked
    assert client.get("/fhir/metadata", headers=headers).status_code == 200
    patient = fhir_resource("Patient", "p-1")
    assert client.put("/fhir/Patient/p-1", json=patient, headers=headers).status_code == 201


def test_a_feed_is_never_invited_from_the_pages_nor_turned_into_a_person(
    runtime: Runtime, client: TestClient
) -> None:
    sign_in_admin(client, runtime)
    page = client.get("/admin/users").text
    invite_form = page[page.index('id="invite-role"') :]
    assert 'value="integration"' not in invite_form[: invite_form.index("</select>")]
    refused = post(client, "/admin/users", {"email": FEED, "role": "integration"})
    assert refused.status_code == 422
    assert "carewall user add EMAIL --role integration" in refused.text
    feed_id = make_integration(runtime, FEED)
    cli = Caller.cli()
    with pytest.raises(ValidationError, match="integration account stays one"):
        accounts.update_user(runtime, cli, feed_id, name="Feed", role="clinician")
    nurse = accounts.invite_user(runtime, cli, "nurse@clinic.example", "clinician").user_id
    with pytest.raises(ValidationError, match="integration account stays one"):
        accounts.update_user(runtime, cli, nurse, name="Nurse", role="integration")
    edit = client.get(f"/admin/users/{feed_id}").text
    assert 'value="clinician"' not in edit


def test_a_feed_token_opens_no_web_page(runtime: Runtime, client: TestClient) -> None:
    feed_id, headers = _feed(runtime)
    for path in ("/patients", "/admin/users", "/account/security", "/portal", "/risk"):
        page = client.get(path, headers=headers, follow_redirects=False)
        assert page.status_code == 403, path
        assert "API tokens open the JSON and FHIR APIs, not web pages" in page.text
    with runtime.db.sessions() as session:
        refusals = entries_about(session, "/admin/users", ["identity:access:denied"], 5)
    assert refusals[0].actor == f"user:{feed_id}"
    anonymous = client.get("/admin/users", follow_redirects=False)
    assert anonymous.status_code == 303  # a browser without a session still goes to sign-in
    mail = client.post(
        "/api/v1/mail/analyze", headers={**headers, "Content-Type": "message/rfc822"}, content=b""
    )
    assert mail.status_code == 403  # the staff JSON API is for people


def test_a_feed_posts_a_whole_bundle_that_a_clinician_may_not(
    runtime: Runtime, client: TestClient
) -> None:
    feed_id, headers = _feed(runtime)
    clinician = bearer(runtime, Role.CLINICIAN)
    refused = client.post("/fhir/", json=_feed_bundle(), headers=clinician)
    outcome(refused, 403, "forbidden")  # a clinician may not write Organization

    done = client.post("/fhir/", json=_feed_bundle(), headers=headers)
    assert done.status_code == 200, done.text
    statuses = [entry["response"]["status"] for entry in done.json()["entry"]]
    assert statuses == ["201 Created"] * 3
    with runtime.db.sessions() as session:
        mine = [e for e in recent_entries(session, 50) if e.actor == f"user:{feed_id}"]
    assert any(e.action == "records:bundle:processed" for e in mine), [e.action for e in mine]
    assert all(e.details.get("role", "integration") == "integration" for e in mine)


def test_a_restriction_lets_a_feed_write_but_not_read(runtime: Runtime, client: TestClient) -> None:
    _, headers = _feed(runtime)
    ids = make_resources(runtime, "p-vip", ["Patient", "Observation"])
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")

    result = fhir_resource("Observation", "p-vip", id="lab-vip-1")
    created = client.put("/fhir/Observation/lab-vip-1", json=result, headers=headers)
    assert created.status_code == 201, created.text
    assert "may write but not read back" in created.text  # written, not shown back
    assert created.headers["ETag"] == 'W/"1"'
    update = fhir_resource("Observation", "p-vip", id=ids["Observation"], status="amended")
    written = client.put(f"/fhir/Observation/{ids['Observation']}", json=update, headers=headers)
    assert written.status_code == 200, written.text

    # Read back in a transaction, the restricted entry is said, not shown, and refused.
    refusals_before = _refusals(runtime)
    loaded = client.post(
        "/fhir/",
        json={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": result, "request": {"method": "PUT", "url": "Observation/lab-vip-1"}},
                {
                    "resource": fhir_resource("Organization", "", id="lab-org"),
                    "request": {"method": "PUT", "url": "Organization/lab-org"},
                },
            ],
        },
        headers={**headers, "Prefer": "return=representation"},
    )
    assert loaded.status_code == 200, loaded.text
    vip, organization = loaded.json()["entry"]
    assert "resource" not in vip
    assert "may write but not read back" in vip["response"]["outcome"]["issue"][0]["diagnostics"]
    assert organization["resource"]["id"] == "lab-org"
    assert _refusals(runtime) == refusals_before + 1

    outcome(client.get("/fhir/Observation/lab-vip-1", headers=headers), 403, "forbidden")
    outcome(client.get(f"/fhir/Patient/{ids['Patient']}", headers=headers), 403, "forbidden")
    found = client.get("/fhir/Observation", params={"subject": "Patient/p-vip"}, headers=headers)
    assert found.status_code == 200
    assert not [e for e in found.json().get("entry", []) if e.get("search", {}).get("mode")]


def test_a_feed_cannot_break_the_glass(runtime: Runtime) -> None:
    feed_id = make_integration(runtime, FEED)
    _, token = apitokens.create_token(runtime, Caller.cli(), feed_id, "feed", ["fhir:read"])
    caller = Caller.for_user(
        feed_id, Role.INTEGRATION, token_id=token.id, scopes=frozenset({"fhir:read"})
    ).with_purpose(Purpose.EMERGENCY)
    make_resources(runtime, "p-vip", ["Patient"])
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    with pytest.raises(PermissionDeniedError):
        start_break_glass(runtime, caller, "p-vip", "emergency", "lab feed", 10)


def test_a_feed_never_counts_as_a_person_without_mfa(runtime: Runtime, client: TestClient) -> None:
    sign_in_admin(client, runtime)
    make_integration(runtime, FEED)
    with runtime.db.sessions() as session:
        coverage = queries.mfa_coverage(session)
        rules = policy.policies(session, runtime.settings)
    assert coverage.accounts_without_mfa == 0
    assert coverage.staff_share == 1.0
    assert Role.INTEGRATION not in coverage.by_role
    assert Role.INTEGRATION not in rules
    users = client.get("/admin/users").text
    assert "Every active account has a second factor" in users
    assert 'id="required-integration"' not in client.get("/admin/policy").text
    saved = post(client, "/admin/policy", {"required": "clinician"})
    assert saved.status_code == 200
    with runtime.db.sessions() as session:
        assert session.get(MfaPolicy, "integration") is None
    home = client.get("/").text
    assert FEED not in home  # the accounts panel lists people without MFA, not feeds


def test_the_admin_sees_a_feed_its_tokens_and_its_trail_and_can_stop_it(
    runtime: Runtime, client: TestClient
) -> None:
    sign_in_admin(client, runtime)
    feed_id, headers = _feed(runtime)
    assert client.get("/fhir/Patient", headers=headers).status_code == 200
    client.cookies.clear()
    sign_in_admin(client, runtime, "second-admin@clinic.example")

    page = client.get("/admin/users").text
    card = re.search(rf'<article class="card" data-integration="{FEED}">.*?</article>', page, re.S)
    assert card, "the feed is listed with its tokens"
    assert "fhir:read, fhir:write" in card.group(0)
    assert "Works" in card.group(0)
    assert f'href="/admin/audit?actor=user:{feed_id}"' in card.group(0)
    assert "never" not in re.search(r"<tbody>.*</tbody>", card.group(0), re.S).group(0)  # type: ignore[union-attr]

    trail = client.get("/admin/audit", params={"actor": f"user:{feed_id}"})
    assert trail.status_code == 200
    assert "records:search:performed" in trail.text
    assert "Integration (integration account)" in trail.text

    [token_id] = re.findall(rf"/admin/users/{feed_id}/tokens/([0-9a-f-]+)/revoke", card.group(0))
    revoked = post(client, f"/admin/users/{feed_id}/tokens/{token_id}/revoke")
    assert revoked.status_code == 200
    assert "Token revoked" in revoked.text
    assert client.get("/fhir/Patient", headers=headers).status_code == 401

    second = token_of(runtime, FEED)
    assert client.get("/fhir/Patient", headers=second).status_code == 200
    disabled = post(client, f"/admin/users/{feed_id}/disable")
    assert disabled.status_code == 200
    assert client.get("/fhir/Patient", headers=second).status_code == 401
    with runtime.db.sessions() as session:
        done = entries_about(session, f"user:{feed_id}", ["identity:token:revoked"], 5)
    assert done


def test_a_feed_s_read_shows_to_the_patient_as_a_data_feed_for_operations(
    runtime: Runtime, client: TestClient
) -> None:
    """A feed is no member of staff: the portal lists its reads as a system's, which a
    patient cannot flag, and a read without a stated purpose is audited as operations."""
    _, headers = _feed(runtime)
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "p-feed"))
    assert client.get("/fhir/Patient/p-feed", headers=headers).status_code == 200
    [event] = [e for e in access_events(runtime, "p-feed") if e.action == "records:resource:read"]
    assert (event.who, event.name) == (Who.SYSTEM, f"Data feed ({FEED})")
    assert event.purpose == Purpose.OPERATIONS
    patient = Caller.for_user("u-p", Role.PATIENT, patient_id="p-feed")
    with pytest.raises(NotFoundError):
        flag_access(runtime, patient, event.seq, "I do not know this")


def _refusals(runtime: Runtime) -> int:
    """How many records:access:denied entries the trail holds."""
    with runtime.db.sessions() as session:
        return sum(e.action == "records:access:denied" for e in recent_entries(session, 500))
