"""`POST /fhir/{type}/_search` is honoured or refused, never widened to "everything".

Before the fix the body was read with a generic form parser: a multipart body
(file parts dropped), a JSON body or a text body gave no parameters at all,
and the search returned every resource of the type.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource, token_for
from tests.support.fhir import outcome
from tests.support.signin import csrf, sign_in_user

SYSTEM = Caller.cli("test")
SEARCH = "/fhir/Patient/_search"


@pytest.fixture
def desk(runtime: Runtime) -> dict[str, str]:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-s", name=[{"family": "Müller"}]))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-other"))
    return token_for(runtime, "desk@clinic.example", Role.FRONT_DESK)


def _ids(response_json: dict[str, object]) -> list[str]:
    entries = response_json["entry"]
    assert isinstance(entries, list)
    return [e["resource"]["id"] for e in entries]


def test_a_form_body_is_honoured(client: TestClient, desk: dict[str, str]) -> None:
    found = client.post(SEARCH, data={"family": "muller"}, headers=desk)
    assert found.status_code == 200, found.text
    assert _ids(found.json()) == ["p-s"]
    typed = {**desk, "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    assert _ids(client.post(SEARCH, content=b"family=muller", headers=typed).json()) == ["p-s"]
    both = client.post(f"{SEARCH}?_count=1", data={"family": "zebedee"}, headers=desk)
    assert _ids(both.json()) == ["p-other"]


@pytest.mark.parametrize(
    "send",
    [
        {"files": {"family": ("family.txt", b"muller", "text/plain")}},
        {"files": {"family": (None, "muller")}},
        {"json": {"family": "muller"}},
        {"content": b"family=muller", "headers": {"Content-Type": "text/plain"}},
        {"content": b"family=muller", "headers": {"Content-Type": "application/fhir+json"}},
    ],
    ids=["multipart-file", "multipart-field", "json", "text", "fhir-json"],
)
def test_other_bodies_are_refused_not_widened(
    client: TestClient, desk: dict[str, str], send: dict[str, object]
) -> None:
    extra = send.pop("headers", {})
    assert isinstance(extra, dict)
    response = client.post(SEARCH, headers={**desk, **extra}, **send)  # type: ignore[arg-type]
    body = outcome(response, 415, "not-supported")
    assert "x-www-form-urlencoded" in body["issue"][0]["diagnostics"]


def test_an_empty_body_asks_for_nothing_in_particular(
    client: TestClient, desk: dict[str, str]
) -> None:
    everything = client.post(SEARCH, headers=desk)
    assert everything.status_code == 200, everything.text
    listed = client.get("/fhir/Patient", headers=desk).json()
    assert sorted(_ids(everything.json())) == sorted(_ids(listed)) == ["p-other", "p-s"]


def test_unreadable_or_unknown_parameters_are_refused(
    client: TestClient, desk: dict[str, str]
) -> None:
    outcome(client.post(SEARCH, data={"famly": "muller"}, headers=desk), 400, "not-supported")
    form = {**desk, "Content-Type": "application/x-www-form-urlencoded"}
    outcome(client.post(SEARCH, content=b"family=m\xfcller", headers=form), 400)
    huge = b"family=" + b"x" * (70 * 1024)
    outcome(client.post(SEARCH, content=huge, headers=form), 413)


def test_a_browser_session_form_with_its_csrf_token_is_honoured(
    runtime: Runtime, client: TestClient, desk: dict[str, str]
) -> None:
    sign_in_user(client, runtime, "front@clinic.example", "front_desk")
    accept = {"Accept": "application/fhir+json"}
    form = {"family": "muller", "csrf_token": csrf(client)}
    found = client.post(SEARCH, data=form, headers=accept)
    assert found.status_code == 200, found.text
    assert _ids(found.json()) == ["p-s"]
    multipart = client.post(SEARCH, files={"family": (None, "muller")}, data=form, headers=accept)
    outcome(multipart, 415, "not-supported")
