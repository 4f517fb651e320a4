"""The client IP that throttling and the audit trail see, as an attacker tries to choose it.

The attack: `X-Forwarded-For` is a header anyone can send. Trusted from any
peer, it lets a credential-stuffing run name a new address for every attempt
(no per-IP throttle ever trips) and write any address into the audit trail.
Forwarded headers count only from `CAREWALL_TRUSTED_PROXIES`; by default,
never. And every records audit entry carries the client IP (it used to be
empty there).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from carewall.audit import AuditEntryView, recent_entries
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import apitokens, queries
from carewall.identity.apitokens import SCOPES
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.factories import fhir_resource, make_user
from tests.support.server import LiveServer, start_server
from tests.support.signin import csrf, post, signed_in

FORGED = "203.0.113.9"
LOOPBACK = "127.0.0.1"


def entries(runtime: Runtime, prefix: str) -> list[AuditEntryView]:
    with runtime.db.sessions() as session:
        return [e for e in recent_entries(session, limit=5000) if e.action.startswith(prefix)]


@contextmanager
def served(settings: Settings, **env: str) -> Iterator[LiveServer]:
    """The real server (uvicorn) on this test's database."""
    extra = {"CAREWALL_DATABASE_URL": settings.effective_database_url, **env}
    server = start_server(settings.home, extra_env=extra)
    try:
        yield server
    finally:
        server.stop()


def _fail_sign_in(server: LiveServer, email: str, forwarded: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/login").text
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        return browser.post(
            "/login",
            data={"email": email, "password": "not the password 123", "csrf_token": token},
            headers={"X-Forwarded-For": forwarded},
        )


def test_a_forged_forwarded_for_neither_names_the_address_nor_escapes_the_ip_throttle(
    runtime: Runtime, settings: Settings
) -> None:
    with served(settings) as server:
        for n in range(6):  # six accounts, six made-up addresses, one real one
            _fail_sign_in(server, f"victim{n}@clinic.example", f"198.51.100.{n + 1}")
    failures = entries(runtime, "identity:login:failure")
    assert failures, "the failures are audited"
    assert {e.source_ip for e in failures} == {LOOPBACK}
    throttled = entries(runtime, "identity:ip:throttled")
    assert [e.source_ip for e in throttled] == [LOOPBACK], "the real address is throttled"


def test_a_configured_proxy_is_believed_for_the_client_it_names(
    runtime: Runtime, settings: Settings
) -> None:
    proxies = json.dumps(["127.0.0.0/8"])
    with served(settings, CAREWALL_TRUSTED_PROXIES=proxies) as server:
        _fail_sign_in(server, "a@clinic.example", FORGED)
        # A client may prepend anything; only the entry the proxy added counts.
        _fail_sign_in(server, "b@clinic.example", f"10.9.9.9, {FORGED}")
        _fail_sign_in(server, "c@clinic.example", "not-an-address")
    ips = [e.source_ip for e in sorted(entries(runtime, "identity:login:failure"), key=_seq)]
    assert ips == [FORGED, FORGED, LOOPBACK]


def _seq(entry: AuditEntryView) -> int:
    return entry.seq


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(settings: Settings) -> None:
    trusting = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    runtime = open_runtime(trusting)
    try:
        app = create_app(runtime)
        for peer, expected in (("10.1.2.3", FORGED), ("192.0.2.50", "192.0.2.50")):
            with TestClient(app, client=(peer, 4000)) as client:
                page = client.get("/login").text
                assert "csrf-token" in page
                post(
                    client,
                    "/login",
                    {"email": f"x{peer}@clinic.example", "password": "wrong password 1234"},
                    headers={"X-Forwarded-For": FORGED},
                )
            seen = [e.source_ip for e in entries(runtime, "identity:login:failure")]
            assert seen[0] == expected, (peer, seen)
    finally:
        runtime.close()


def test_an_invalid_trusted_proxy_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="CAREWALL_TRUSTED_PROXIES"):
        Settings(trusted_proxies=["10.0.0.0/8", "proxy.internal"])


CLIENT = "192.0.2.44"


@pytest.fixture
def fhir_and_pages(runtime: Runtime) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """A token client and a clinician's browser, both from CLIENT."""
    make_user(runtime, "feed@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "feed@clinic.example")
    assert user_id is not None
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "feed", sorted(SCOPES))
    app = create_app(runtime)
    with (
        TestClient(app, client=(CLIENT, 5000)) as api,
        TestClient(app, client=(CLIENT, 5001)) as browser,
    ):
        yield api, browser, {"Authorization": f"Bearer {secret}"}


def test_every_records_audit_entry_carries_the_client_address(
    runtime: Runtime, fhir_and_pages: tuple[TestClient, TestClient, dict[str, str]]
) -> None:
    api, browser, auth = fhir_and_pages
    system = Caller.cli("test")
    create_resource(runtime, system, fhir_resource("Patient", "p1"))
    create_resource(runtime, system, fhir_resource("Patient", "p2"))
    restrict_compartment(runtime, system, "p2", "vip")
    headers = {**auth, "Content-Type": "application/fhir+json"}
    made = api.post(
        "/fhir/Observation", content=json.dumps(fhir_resource("Observation", "p1")), headers=headers
    )
    assert made.status_code == 201, made.text
    obs = made.json()["id"]
    api.get(f"/fhir/Observation/{obs}", headers=auth)
    api.get(f"/fhir/Observation/{obs}/_history/1", headers=auth)
    api.get(f"/fhir/Observation/{obs}/_history", headers=auth)
    api.get("/fhir/Observation", params={"patient": "p1"}, headers=auth)
    api.get("/fhir/Patient/p2", headers=auth)  # restricted: denied, and audited as such
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": fhir_resource("Condition", "p1"),
                "request": {"method": "POST", "url": "Condition"},
            }
        ],
    }
    api.post("/fhir", content=json.dumps(bundle), headers=headers)
    api.delete(f"/fhir/Observation/{obs}", headers=auth)
    clinician = signed_in(browser, runtime, make_user(runtime, "doc@clinic.example", "clinician"))
    assert clinician.secret
    post(browser, "/patients/search", {"identifier": "nope"})
    browser.get("/patients/p1")
    post(browser, "/patients/p1/restrict", {"reason": "vip", "confirm": "yes"})
    post(browser, "/patients/p2/break-glass", {"reason": "emergency"})
    browser.get("/patients/p2")
    post(browser, "/patients/p2/break-glass/stop")
    assert csrf(browser)

    recorded = entries(runtime, "records:")
    actions = {e.action for e in recorded}
    assert {
        "records:resource:created",
        "records:resource:read",
        "records:search:performed",
    } <= actions
    by_request = [e for e in recorded if e.actor not in {"test"}]
    assert by_request, "entries made through HTTP"
    missing = sorted({e.action for e in by_request if e.source_ip != CLIENT})
    assert not missing, f"records entries without the client address: {missing}"
    assert all(e.user_agent for e in by_request)
