"""Links Carewall hands out come from its configured public URL, never from `Host`.

The attack: a request with `Host: evil.example` (or a proxy that passes any
Host through) made Carewall build its FHIR links on the attacker's host:
`Location` after a create, `next` paging links, `fullUrl`s and the
CapabilityStatement's own address. A client that follows them sends its token
there. Links are built on `CAREWALL_BASE_URL`, or on the address `carewall
serve` listens on when it is not set; `carewall user add` prints invitation
links the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import apitokens, queries
from carewall.identity.apitokens import SCOPES
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.cli import CliResult, carewall
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.server import free_port, start_server
from tests.support.signin import post, signed_in

PUBLIC = "https://clinic.example/carewall"
EVIL = "evil.example"
FHIR_JSON = "application/fhir+json"


def _token(runtime: Runtime) -> str:
    make_user(runtime, "feed@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "feed@clinic.example")
    assert user_id is not None
    return apitokens.create_token(runtime, Caller.cli(), user_id, "feed", sorted(SCOPES))[0]


@pytest.fixture
def public_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(settings.model_copy(update={"base_url": PUBLIC + "/"}))
    yield runtime
    runtime.close()


def every_url(value: Any) -> list[str]:
    """Every string in a FHIR answer that looks like an absolute URL."""
    if isinstance(value, dict):
        return [u for item in value.values() for u in every_url(item)]
    if isinstance(value, list):
        return [u for item in value for u in every_url(item)]
    return [value] if isinstance(value, str) and "://" in value else []


def test_fhir_links_never_follow_the_host_header(public_runtime: Runtime) -> None:
    runtime = public_runtime
    token = _token(runtime)
    system = Caller.cli("test")
    create_resource(runtime, system, fhir_resource("Patient", "p1"))
    for _ in range(3):
        create_resource(runtime, system, fhir_resource("Observation", "p1"))
    auth = {"Authorization": f"Bearer {token}", "Host": EVIL, "Accept": FHIR_JSON}
    with TestClient(create_app(runtime), base_url=f"http://{EVIL}") as client:
        answers: list[Any] = []
        statement = client.get("/fhir/metadata", headers={"Host": EVIL})
        answers.append(statement.json())
        assert statement.json()["url"] == f"{PUBLIC}/fhir/metadata"
        created = client.post(
            "/fhir/Observation",
            content=json.dumps(fhir_resource("Observation", "p1")),
            headers={**auth, "Content-Type": FHIR_JSON},
        )
        location = created.headers["location"]
        assert location.startswith(f"{PUBLIC}/fhir/Observation/"), location
        page = client.get(
            "/fhir/Observation", params={"patient": "p1", "_count": "2"}, headers=auth
        )
        answers.append(page.json())
        links = {link["relation"]: link["url"] for link in page.json()["link"]}
        assert links["next"].startswith(f"{PUBLIC}/fhir/Observation?_cursor="), links
        assert links["self"].startswith(f"{PUBLIC}/fhir/Observation?"), links
        following = client.get(links["next"].removeprefix(PUBLIC), headers=auth)
        assert following.status_code == 200, "the next link works"
        answers.append(following.json())
        history = client.get(
            f"{location.split('/_history')[0].removeprefix(PUBLIC)}/_history", headers=auth
        )
        answers.append(history.json())
        searched = client.post("/fhir/Observation/_search", data={"patient": "p1"}, headers=auth)
        answers.append(searched.json())
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"request": {"method": "GET", "url": "Patient/p1"}},
                {"request": {"method": "GET", "url": f"{PUBLIC}/fhir/Patient/p1"}},
                {"request": {"method": "GET", "url": "Observation?patient=p1&_count=1"}},
            ],
        }
        batch = client.post(
            "/fhir", content=json.dumps(bundle), headers={**auth, "Content-Type": FHIR_JSON}
        )
        answers.append(batch.json())
        statuses = [e["response"]["status"] for e in batch.json()["entry"]]
        assert statuses == ["200 OK", "200 OK", "200 OK"], "the configured base is this server"
    urls = [u for answer in answers for u in every_url(answer)] + [location]
    assert urls
    strays = [
        u for u in urls if not u.startswith(PUBLIC) and "hl7.org" not in u and "loinc" not in u
    ]
    assert not strays, strays
    assert not [u for u in urls if EVIL in u]


def test_an_absolute_reference_to_the_host_header_is_not_this_server(
    public_runtime: Runtime,
) -> None:
    token = _token(public_runtime)
    create_resource(public_runtime, Caller.cli("test"), fhir_resource("Patient", "p1"))
    auth = {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"http://{EVIL}/fhir/Patient/p1"}}],
    }
    with TestClient(create_app(public_runtime), base_url=f"http://{EVIL}") as client:
        batch = client.post(
            "/fhir", content=json.dumps(bundle), headers={**auth, "Content-Type": FHIR_JSON}
        )
    assert batch.status_code in {200, 400}
    if batch.status_code == 200:
        assert batch.json()["entry"][0]["response"]["status"].startswith("400")


def test_the_served_port_is_the_default_public_url(runtime: Runtime, settings: Settings) -> None:
    """No CAREWALL_BASE_URL: links name the address `serve` listens on, whatever Host says."""
    port = free_port()
    env = {"CAREWALL_DATABASE_URL": settings.effective_database_url}
    server = start_server(settings.home, extra_env=env)  # picks its own port
    try:
        base = server.url  # http://127.0.0.1:<port>
        statement = httpx.get(f"{base}/fhir/metadata", headers={"Host": f"{EVIL}:{port}"})
        assert statement.json()["url"] == f"{base}/fhir/metadata"
    finally:
        server.stop()


def _user_add(env: dict[str, str], email: str) -> CliResult:
    return carewall(env, "user", "add", email, "--role", "clinician")


def test_user_add_prints_links_on_the_configured_public_url(cli_env: dict[str, str]) -> None:
    configured = _user_add({**cli_env, "CAREWALL_BASE_URL": PUBLIC}, "a@clinic.example")
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip().startswith(f"{PUBLIC}/invite/")
    on_port = _user_add({**cli_env, "CAREWALL_PORT": "8443"}, "b@clinic.example")
    assert on_port.returncode == 0, on_port.stderr
    assert on_port.stdout.strip().startswith("http://127.0.0.1:8443/invite/")
    assert "CAREWALL_BASE_URL" in on_port.stderr, "the operator is told how to fix the address"


def test_no_redirect_is_built_on_a_referer_from_elsewhere(
    runtime: Runtime, client: TestClient
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    dismissed = post(
        client,
        "/account/notices/00000000-0000-0000-0000-000000000000/dismiss",
        headers={"Referer": f"https://{EVIL}/account/security"},
        follow_redirects=False,
    )
    assert dismissed.status_code == 303
    assert dismissed.headers["location"] == "/account/security"


def test_a_trailing_slash_is_never_redirected_to_the_host_header(runtime: Runtime) -> None:
    """Starlette's slash redirect wrote an absolute `Location` on the `Host` header:
    `/admin/users/` sent the browser to evil.example, and `/invite/<token>/` carried
    the invitation token there. No redirect is built on `Host`."""
    link = make_user_invite(runtime)
    with TestClient(create_app(runtime), base_url=f"http://{EVIL}") as client:
        for path in ("/admin/users/", f"/invite/{link}/", "/patients/", "/fhir/metadata/"):
            answer = client.get(path, headers={"Host": EVIL}, follow_redirects=False)
            location = answer.headers.get("location", "")
            assert EVIL not in location, (path, location)
            assert link not in location
            assert answer.status_code in (303, 404), (path, answer.status_code)


def make_user_invite(runtime: Runtime) -> str:
    """A pending invitation's token (the part of the link after `/invite/`)."""
    from carewall.identity import accounts

    invited = accounts.invite_user(runtime, Caller.cli(), "new@clinic.example", "clinician")
    return invited.url.rsplit("/", 1)[1]
