"""The work one request can cause is bounded (issue 9, item 5), through HTTP.

The attack as reported: a batch of 1000 searches with `_count=1000` took 155 s of
server time, because every search decrypted every match and the web layer then
cut out one page. Now the database pages (only the page's rows are read and
decrypted), `_count` is clamped, a Bundle has a work budget refused up front, a
large transaction is checked and sealed before it takes the write lock, and the
staff search page, the chart and the portal read at most a fixed number of
records per page view.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text

from carewall.audit import entries_with_action, verify
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role
from carewall.records import Purpose, RecordsTag
from carewall.records.bundles.entries import read_bundle
from carewall.records.bundles.transactions import process_bundle
from carewall.records.services import create_resource
from carewall.records.store.search import PageRequest
from carewall.registry import create_app
from carewall.web.chart import SECTION_LIMIT
from carewall.web.routes.patients import SEARCH_PAGE
from tests.support.factories import FHIR_JSON, SYSTEM, bearer, fhir_resource, make_user
from tests.support.fhir import outcome
from tests.support.signin import post_form, sign_in_user, signed_in

BASE = "http://127.0.0.1:8000/fhir"


def observations(runtime: Runtime, patient_id: str, count: int) -> None:
    """`count` Observations in one transaction Bundle (as the system, no HTTP)."""
    entries = [
        {
            "resource": {
                k: v for k, v in fhir_resource("Observation", patient_id).items() if k != "id"
            },
            "request": {"method": "POST", "url": "Observation"},
        }
        for _ in range(count)
    ]
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    done = process_bundle(
        runtime, SYSTEM, read_bundle(body, BASE), Purpose.SYSTEM, lambda _t, _q: PageRequest({}, 1)
    )
    assert {result.status for result in done.results} == {201}


def send(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return client.post("/fhir/", json=body, headers={**headers, "Content-Type": FHIR_JSON})


def searches_audited(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return len(entries_with_action(session, [RecordsTag.SEARCH_PERFORMED], limit=100_000))


def test_a_count_above_the_maximum_is_clamped_and_pages_on(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-many"))
    observations(runtime, "p-many", 205)
    first = client.get("/fhir/Observation?patient=p-many&_count=100000", headers=doctor)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["total"] == 205
    assert len(page["entry"]) == 200, "clamped to the maximum page size, not refused"
    following = {link["relation"]: link["url"] for link in page["link"]}["next"]
    rest = client.get(following, headers=doctor).json()
    assert len(rest["entry"]) == 5
    assert "next" not in {link["relation"] for link in rest["link"]}
    seen = {e["resource"]["id"] for e in page["entry"]} | {
        e["resource"]["id"] for e in rest["entry"]
    }
    assert len(seen) == 205


def test_paging_links_use_the_configured_base_url_not_the_host_header(
    settings: Settings,
) -> None:
    configured = settings.model_copy(update={"base_url": "https://records.clinic.example/"})
    runtime = open_runtime(configured)
    try:
        doctor = bearer(runtime, Role.CLINICIAN)
        create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-links"))
        observations(runtime, "p-links", 3)
        with TestClient(create_app(runtime)) as client:
            headers = {**doctor, "Host": "attacker.example"}
            page = client.get("/fhir/Observation?patient=p-links&_count=1", headers=headers).json()
            by_post = client.post(
                "/fhir/Observation/_search",
                data={"patient": "p-links", "_count": "1"},
                headers=headers,
            ).json()
    finally:
        runtime.close()
    for bundle in (page, by_post):
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["next"].startswith("https://records.clinic.example/fhir/Observation?_cursor=")
        assert links["self"].startswith("https://records.clinic.example/fhir/Observation")
        assert "attacker.example" not in str(bundle["link"])


def test_a_search_reads_only_the_page_it_returns(runtime: Runtime, client: TestClient) -> None:
    """A row past the page is never decrypted: damage it, and the first page still works."""
    doctor = bearer(runtime, Role.CLINICIAN)
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-page"))
    for logical_id in ("obs-1", "obs-2", "obs-3"):
        create_resource(
            runtime, SYSTEM, fhir_resource("Observation", "p-page") | {"id": logical_id}
        )
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE fhir_resources SET ciphertext = :junk WHERE logical_id = 'obs-3'"),
            {"junk": b"\x00" * 64},
        )
    page = client.get("/fhir/Observation?patient=p-page&_count=2", headers=doctor)
    assert page.status_code == 200, page.text
    assert [e["resource"]["id"] for e in page.json()["entry"]] == ["obs-1", "obs-2"]
    assert page.json()["total"] == 3
    with runtime.db.sessions() as session:
        audited = entries_with_action(session, [RecordsTag.SEARCH_PERFORMED], limit=1)[0]
    assert audited.details["count"] == 2, "the audit names what was returned, not every match"


def test_a_bundle_over_its_work_budget_is_refused_before_any_work(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-budget"))
    observations(runtime, "p-budget", 3)
    search = {"request": {"method": "GET", "url": "Observation?patient=p-budget&_count=1000"}}
    before = searches_audited(runtime)
    for kind in ("batch", "transaction"):
        body = {"resourceType": "Bundle", "type": kind, "entry": [search] * 1000}
        refused = outcome(send(client, body, doctor), 400, "too-costly")
        assert refused["issue"][0]["expression"] == ["Bundle.entry"]
    assert searches_audited(runtime) == before, "refused before any search ran"

    # 20 searches of a (clamped) full page each fit the default budget of 5000.
    body = {"resourceType": "Bundle", "type": "batch", "entry": [search] * 20}
    answered = send(client, body, doctor)
    assert answered.status_code == 200, answered.text
    assert {e["response"]["status"].split()[0] for e in answered.json()["entry"]} == {"200"}
    assert searches_audited(runtime) == before + 20


def test_a_large_transaction_writes_and_audits_every_entry(
    runtime: Runtime, client: TestClient
) -> None:
    """Checked and sealed before the write lock, written after: nothing is lost or unaudited."""
    doctor = bearer(runtime, Role.CLINICIAN)
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-big"))
    existing = [f"big-{n}" for n in range(150)]
    for logical_id in existing:
        create_resource(runtime, SYSTEM, fhir_resource("Observation", "p-big") | {"id": logical_id})
    doomed = existing[:10]
    identifier = {"system": "urn:test", "value": uuid.uuid4().hex}
    new = {k: v for k, v in fhir_resource("Observation", "p-big").items() if k != "id"}
    entries: list[dict[str, Any]] = [
        {"request": {"method": "DELETE", "url": f"Observation/{i}"}} for i in doomed
    ]
    entries += [
        {
            "resource": fhir_resource("Observation", "p-big", valueString=f"v2 {i}") | {"id": i},
            "request": {"method": "PUT", "url": f"Observation/{i}"},
        }
        for i in existing[10:]
    ]
    entries += [{"resource": new, "request": {"method": "POST", "url": "Observation"}}] * 150
    entries.append(
        {
            "resource": new | {"identifier": [identifier]},
            "request": {
                "method": "POST",
                "url": "Observation",
                "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
            },
        }
    )
    entries.append({"request": {"method": "GET", "url": "Observation?patient=p-big&_count=1"}})
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = send(client, body, doctor)
    assert response.status_code == 200, response.text
    answered = response.json()["entry"]
    assert [e["response"]["status"].split()[0] for e in answered] == (
        ["204"] * 10 + ["200"] * 140 + ["201"] * 151 + ["200"]
    )
    assert answered[-1]["resource"]["total"] == 140 + 151, "the read sees the writes"
    # 150 updates and deletes from one token in a minute is the ransomware pattern the
    # alerts domain stops: the transaction commits, the token is suspended after it.
    assert client.get(f"/fhir/Observation/{existing[10]}", headers=doctor).status_code == 403
    reader = bearer(runtime, Role.CLINICIAN, scopes=("fhir:read",))
    for logical_id in doomed:
        assert client.get(f"/fhir/Observation/{logical_id}", headers=reader).status_code == 410
    updated = client.get(f"/fhir/Observation/{existing[10]}", headers=reader).json()
    assert updated["valueString"] == f"v2 {existing[10]}"
    assert updated["meta"]["versionId"] == "2"

    with runtime.db.sessions() as session:
        changes = entries_with_action(
            session,
            [RecordsTag.RESOURCE_CREATED, RecordsTag.RESOURCE_UPDATED, RecordsTag.RESOURCE_DELETED],
            limit=100_000,
        )
    by_doctor = [e for e in changes if e.actor != SYSTEM.ref]
    assert len(by_doctor) == 10 + 140 + 151
    assert verify(runtime.db).ok


def test_the_staff_search_page_reads_at_most_one_page(runtime: Runtime, client: TestClient) -> None:
    for _ in range(SEARCH_PAGE + 1):
        name = [{"family": "Abernathy", "given": ["Sam"]}]
        create_resource(
            runtime,
            SYSTEM,
            fhir_resource("Patient", str(uuid.uuid4()), name=name, birthDate="1970-01-02"),
        )
    sign_in_user(client, runtime, "searcher@clinic.example", "clinician")
    page = post_form(client, "/patients/search", {"family": "Abernathy", "birthdate": "1970-01-02"})
    assert page.status_code == 200, page.text
    assert page.text.count('<tr><th scope="row">') == SEARCH_PAGE
    assert 'id="next-page"' in page.text
    with runtime.db.sessions() as session:
        audited = entries_with_action(session, [RecordsTag.SEARCH_PERFORMED], limit=1)[0]
    assert audited.details["count"] == SEARCH_PAGE, "only the patients shown are named"


def test_the_chart_and_the_portal_read_a_bounded_number_per_section(runtime: Runtime) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-long", name=[{"family": "Long"}]))
    observations(runtime, "p-long", SECTION_LIMIT + 1)
    app = create_app(runtime)
    with TestClient(app) as staff:
        sign_in_user(staff, runtime, "charter@clinic.example", "clinician")
        chart = staff.get("/patients/p-long")
    assert chart.status_code == 200, chart.text
    assert 'class="muted capped"' in chart.text
    person = make_user(runtime, "long@example.org", "patient", patient_id="p-long")
    with TestClient(app) as portal:
        signed_in(portal, runtime, person)
        home = portal.get("/portal")
    assert home.status_code == 200, home.text
    assert 'id="record-partial"' in home.text
    with runtime.db.sessions() as session:
        searches = entries_with_action(session, [RecordsTag.SEARCH_PERFORMED], limit=100)
    observation_searches = [e for e in searches if e.details["resource_type"] == "Observation"]
    assert observation_searches, "both pages searched the observations"
    assert all(e.details["count"] == SECTION_LIMIT for e in observation_searches)
