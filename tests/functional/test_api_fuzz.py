"""Fuzzing the HTTP APIs: the JSON API from its OpenAPI schema, the FHIR API by hand.

Whatever a client sends, the answer is never a server error nor a traceback,
and it is what the schema promises (status code, content type, body shape).
Bounded and derandomised so that CI sees the same cases every run; SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import apitokens, queries
from carewall.identity.apitokens import SCOPES
from carewall.records import SUPPORTED_TYPES
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.factories import fhir_resource, make_user

FHIR_JSON = "application/fhir+json"
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/')
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],  # a loaded CI machine is slow, not wrong
)
FUZZ_FHIR = settings(FUZZ, max_examples=50)  # one endpoint per test, each case cheap


class Fuzzed:
    """The app under fuzzing, a patient in its vault and a token that may do everything."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.app: FastAPI = create_app(runtime)
        email = "fuzz-clinician@clinic.example"
        make_user(runtime, email, "clinician")
        with runtime.db.sessions() as session:
            user_id = queries.user_id_for_email(session, email)
        assert user_id is not None
        secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "fuzz", sorted(SCOPES))
        self.auth = {"Authorization": f"Bearer {secret}"}
        patient = fhir_resource("Patient", "fuzz-patient")
        create_resource(runtime, Caller.cli("test"), patient)
        self.patient_id = str(patient["id"])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One SQLite-backed app for the whole module (fuzzing needs speed, not isolation)."""
    base: Path = tmp_path_factory.mktemp("fuzz")
    runtime = open_runtime(
        Settings(home=base / "home", database_url=f"sqlite:///{base / 'carewall.db'}")
    )
    yield Fuzzed(runtime)
    runtime.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> schemathesis.BaseSchema:
    """The JSON API's own OpenAPI document, served by the app under test."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed.app)


def assert_no_traceback(body: str) -> None:
    """Error bodies say what went wrong, never where in the code."""
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, body[:500]


def has_inputs(operation: schemathesis.APIOperation) -> bool:
    """Whether the operation takes anything a negative case could get wrong."""
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def check_acceptance(case: schemathesis.Case, response: schemathesis.Response) -> None:
    """Schema-valid input is accepted, but for one rule a schema cannot state.

    Schemathesis's own `positive_data_acceptance` is replaced by this: the analyzer
    refuses a raw message of nothing but whitespace (422 `message_empty`), which
    JSON Schema can say of a JSON string (and does) but not of binary data.
    """
    if response.status_code != 422:
        return
    blank_binary = case.media_type != "application/json" and (
        response.json()["error"]["code"] == "message_empty"
    )
    assert blank_binary, f"schema-valid input refused: {case.as_curl_command()}\n{response.text}"


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_json_api_conforms_to_its_schema(
    fuzzed: Fuzzed, api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 4, "the JSON API publishes its operations"
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
            continue

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                headers=fuzzed.auth, excluded_checks=[positive_data_acceptance]
            )
            assert response.status_code < 500, case.as_curl_command()
            assert_no_traceback(response.text)
            if mode is GenerationMode.POSITIVE:
                check_acceptance(case, response)

        call()


# --- The FHIR API: not in the OpenAPI document, fuzzed with hand-made strategies. ---

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
PATIENT_FIELDS = {
    "id": st.text(max_size=70) | JSON_VALUES,
    "name": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "family": st.text() | JSON_VALUES,
                "given": st.lists(st.text()) | JSON_VALUES,
            },
        )
    )
    | JSON_VALUES,
    "birthDate": st.dates().map(str) | st.text(max_size=12) | JSON_VALUES,
    "gender": st.sampled_from(["female", "male", "other", "unknown", "Female"]) | JSON_VALUES,
    "identifier": st.lists(
        st.fixed_dictionaries({}, optional={"system": st.text(), "value": st.text() | JSON_VALUES})
    )
    | JSON_VALUES,
    "telecom": st.lists(
        st.fixed_dictionaries(
            {"system": st.sampled_from(["phone", "email", "x"]), "value": st.text()}
        )
    ),
    "meta": JSON_VALUES,
    "text": JSON_VALUES,
    "contained": JSON_VALUES,
    "extension": JSON_VALUES,
}
PATIENTISH = st.fixed_dictionaries({"resourceType": st.just("Patient")}, optional=PATIENT_FIELDS)
ODD_TYPE = st.sampled_from(["Observation", "patient", "", "Patient "]) | JSON_VALUES
MISTYPED = st.fixed_dictionaries({"resourceType": ODD_TYPE}, optional=PATIENT_FIELDS)
BODIES = PATIENTISH | MISTYPED | st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6)
PARAM_NAMES = st.sampled_from(
    [
        "_id",
        "identifier",
        "family",
        "given",
        "name",
        "birthdate",
        "phone",
        "email",
        "code",
        "patient",
        "subject",
        "_count",
        "_cursor",
        "_format",
        "_sort",
        "family:exact",
        "unknown",
    ]
) | st.text(min_size=1, max_size=10)
QUERIES = st.lists(st.tuples(PARAM_NAMES, st.text(max_size=30)), max_size=5)


@pytest.fixture(scope="module")
def fhir_client(fuzzed: Fuzzed) -> Iterator[TestClient]:
    """A FHIR client of the fuzzed app holding the all-scopes token."""
    with TestClient(fuzzed.app, headers={**fuzzed.auth, "Accept": FHIR_JSON}) as client:
        yield client


def assert_fhir_answer(response: Any) -> dict[str, Any]:
    """No server error; errors as OperationOutcome; always FHIR JSON, never a traceback."""
    assert response.status_code < 500, response.text
    assert_no_traceback(response.text)
    assert response.headers["content-type"].startswith(FHIR_JSON), response.headers
    body: dict[str, Any] = response.json()
    if response.status_code >= 400:
        OperationOutcome.model_validate(body)
        assert body["issue"], body
    return body


@FUZZ_FHIR
@given(body=BODIES)
@example(body={"resourceType": "Patient", "name": [{"family": "Quill", "given": None}]})
def test_fhir_create_survives_any_json_object(
    fhir_client: TestClient, body: dict[str, Any]
) -> None:
    response = fhir_client.post(
        "/fhir/Patient",
        content=json.dumps(body),
        headers={"Content-Type": FHIR_JSON},
    )
    answer = assert_fhir_answer(response)
    event(f"status {response.status_code}")
    if response.status_code == 201:
        assert answer["resourceType"] == "Patient"
        assert response.headers["location"].endswith(f"/Patient/{answer['id']}/_history/1")
    else:
        assert response.status_code in {400, 422}, response.text


@FUZZ_FHIR
@given(resource_type=st.sampled_from(sorted(SUPPORTED_TYPES)), data=st.data())
def test_fhir_create_survives_mangled_resources(
    fhir_client: TestClient, fuzzed: Fuzzed, resource_type: str, data: st.DataObject
) -> None:
    """A valid resource of each type with some fields replaced by anything at all."""
    body = fhir_resource(resource_type, fuzzed.patient_id)
    fields = sorted(set(body) - {"resourceType"} | {"meta", "text", "extension", "contained"})
    for name in data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        body[name] = data.draw(JSON_VALUES, label=name)
    response = fhir_client.post(
        f"/fhir/{resource_type}", content=json.dumps(body), headers={"Content-Type": FHIR_JSON}
    )
    answer = assert_fhir_answer(response)
    event(f"status {response.status_code}")
    if response.status_code == 201:
        assert answer["resourceType"] == resource_type
    else:
        assert response.status_code in {400, 403, 404, 422}, response.text


@FUZZ_FHIR
@given(resource_type=st.sampled_from(sorted(SUPPORTED_TYPES)), query=QUERIES)
def test_fhir_search_survives_any_query(
    fhir_client: TestClient, resource_type: str, query: list[tuple[str, str]]
) -> None:
    response = fhir_client.get(f"/fhir/{resource_type}", params=query)
    answer = assert_fhir_answer(response)
    event(f"status {response.status_code}")
    if response.status_code == 200:
        assert answer["resourceType"] == "Bundle"
        assert answer["type"] == "searchset"
    else:
        assert response.status_code in {400, 403, 406}, response.text


# Version numbers as clients send them, and as attackers do: past 32 and 64 bits,
# past int()'s 4300-digit limit, non-ASCII digits.
VERSIONS = (
    st.integers(min_value=0, max_value=2**80).map(str)
    | st.sampled_from([str(2**31), str(2**63), str(2**64), "9" * 5000, "\u0663", "1.0", "-1"])
    | st.text(max_size=12)
)
IF_MATCH = st.none() | VERSIONS.map(lambda v: f'W/"{v}"') | st.text(max_size=20)


@FUZZ_FHIR
@given(
    resource_type=st.sampled_from(sorted(SUPPORTED_TYPES)) | st.text(min_size=1, max_size=20),
    logical_id=st.text(min_size=1, max_size=80),
    content_type=st.sampled_from([FHIR_JSON, "application/json", "text/plain", ""]),
    if_match=IF_MATCH,
    data=st.data(),
)
@example(
    resource_type="Patient",
    logical_id="fuzz-patient",
    content_type=FHIR_JSON,
    if_match=f'W/"{2**64}"',
    data=None,
)
def test_fhir_update_survives_any_path_and_body(
    fhir_client: TestClient,
    resource_type: str,
    logical_id: str,
    content_type: str,
    if_match: str | None,
    data: st.DataObject | None,
) -> None:
    body: dict[str, Any] = fhir_resource("Patient", logical_id)
    raw = json.dumps(body).encode()
    if data is not None:
        body = data.draw(BODIES)
        if data.draw(st.booleans(), label="id as in the URL"):
            body = {**body, "resourceType": resource_type, "id": logical_id}
        raw = data.draw(st.just(json.dumps(body).encode()) | st.binary(max_size=200), label="raw")
    headers = [(b"Content-Type", content_type.encode())]
    if if_match is not None and if_match.isprintable():
        headers.append((b"If-Match", if_match.encode()))  # non-ASCII digits as UTF-8 bytes
    response = fhir_client.put(
        f"/fhir/{quote(resource_type, safe='')}/{quote(logical_id, safe='')}",
        content=raw,
        headers=headers,
    )
    assert_fhir_answer(response)
    event(f"status {response.status_code}")
    assert response.status_code in {200, 201, 400, 403, 404, 405, 409, 412, 413, 415, 422}, (
        response.text
    )


@FUZZ_FHIR
@given(
    resource_type=st.sampled_from(sorted(SUPPORTED_TYPES)),
    logical_id=st.text(min_size=1, max_size=80) | st.just("a" * 5000) | st.just("fuzz-patient"),
    version=VERSIONS,
)
@example(resource_type="Patient", logical_id="fuzz-patient", version=str(2**64))
@example(resource_type="Patient", logical_id="a\x00b", version="1")
def test_fhir_reads_survive_any_id_and_version(
    fhir_client: TestClient, resource_type: str, logical_id: str, version: str
) -> None:
    path = f"/fhir/{resource_type}/{quote(logical_id, safe='')}"
    for url in (path, f"{path}/_history", f"{path}/_history/{quote(version, safe='')}"):
        response = fhir_client.get(url)
        assert_fhir_answer(response)
        event(f"status {response.status_code}")
        assert response.status_code in {200, 400, 403, 404, 410}, response.text


@FUZZ_FHIR
@given(
    depth=st.integers(min_value=1, max_value=200_000),
    where=st.sampled_from(["create", "update", "transaction"]),
    opener=st.sampled_from(["[", '{"a":']),
)
@example(depth=100_000, where="create", opener="[")
@example(depth=900, where="transaction", opener='{"a":')
def test_fhir_writes_survive_any_nesting_depth(
    fhir_client: TestClient, fuzzed: Fuzzed, depth: int, where: str, opener: str
) -> None:
    """JSON nested past the parser's recursion limit, or deep enough to exhaust the code
    that walks a resource, is refused with 400; shallow nesting is judged on its merits."""
    closer = "]" if opener == "[" else "}"
    deep = opener * depth + "1" + closer * depth
    patient = f'{{"resourceType": "Patient", "id": "{fuzzed.patient_id}", "extension": {deep}}}'
    if where == "create":
        response = fhir_client.post(
            "/fhir/Patient", content=patient, headers={"Content-Type": FHIR_JSON}
        )
    elif where == "update":
        response = fhir_client.put(
            f"/fhir/Patient/{fuzzed.patient_id}",
            content=patient,
            headers={"Content-Type": FHIR_JSON},
        )
    else:
        url = f"Patient/{fuzzed.patient_id}"
        bundle = (
            '{"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": '
            f'{patient}, "request": {{"method": "PUT", "url": "{url}"}}}}]}}'
        )
        response = fhir_client.post("/fhir", content=bundle, headers={"Content-Type": FHIR_JSON})
    assert_fhir_answer(response)
    event(f"status {response.status_code}")
    assert response.status_code in {400, 422}, response.text
