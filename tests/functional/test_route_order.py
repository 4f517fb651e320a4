"""The order in which the application matches routes: hot API routes first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.jobs import JobRegistry
from carewall.registry import create_app as create_registered_app
from carewall.web.app import create_app
from carewall.web.parts import WebPart
from tests.support.factories import token_for

FAST_READ = "/fhir/{resource_type:fhir_type}/{logical_id:fhir_id}"


def test_a_hot_router_is_matched_before_the_routers_of_every_part(runtime: Runtime) -> None:
    pages, hot = APIRouter(), APIRouter()

    @pages.get("/x/{anything}")
    def page(anything: str) -> dict[str, str]:
        return {"from": "page"}

    @hot.get("/x/hot")
    def fast() -> dict[str, str]:
        return {"from": "hot"}

    parts = [WebPart(routers=(pages,)), WebPart(hot_routers=(hot,))]
    client = TestClient(create_app(runtime, parts, JobRegistry([], [])))
    assert client.get("/x/hot").json() == {"from": "hot"}
    assert client.get("/x/page").json() == {"from": "page"}


def test_the_fhir_api_comes_before_every_page(runtime: Runtime) -> None:
    app = create_registered_app(runtime)
    paths = [path for route in app.router.routes for path in _paths(route)]
    assert paths.index("/fhir/{resource_type}/{logical_id}") < paths.index("/login")


def test_the_read_by_id_is_matched_before_every_other_route_of_the_api(
    runtime: Runtime,
) -> None:
    app = create_registered_app(runtime)
    paths = [path for route in app.router.routes for path in _paths(route)]
    api = [path for path in paths if path.startswith("/fhir")]
    assert api[0] == FAST_READ
    assert paths.index(FAST_READ) < paths.index("/fhir/Patient/$export")


def test_the_first_read_route_hides_no_other_route(runtime: Runtime, client: TestClient) -> None:
    """Two-segment GETs that are not a well-formed read reach the routes they reached
    before the read was moved first."""
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    answers = {
        path: client.get(path, headers=doctor).json()["issue"][0]["diagnostics"]
        for path in (
            "/fhir/bulkstatus/nope",
            "/fhir/Patient/$export",
            "/fhir/Patient/a_b",
            "/fhir/patient/x",
            "/fhir/Patient/x",
        )
    }
    assert answers["/fhir/bulkstatus/nope"].startswith("No such export")
    assert "Prefer" in answers["/fhir/Patient/$export"]  # the Bulk Data kick-off's check
    assert answers["/fhir/Patient/a_b"] == "Patient/'a_b' does not exist."
    assert answers["/fhir/patient/x"] == "patient is not a supported resource type."
    assert answers["/fhir/Patient/x"] == "Patient/x was not found."


def test_the_first_read_route_still_answers_json_only(runtime: Runtime, client: TestClient) -> None:
    """`read_router` declares no format check: `read` makes it itself."""
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    refused = client.get("/fhir/Patient/x?_format=xml", headers=doctor)
    assert refused.status_code == 406
    assert (
        client.get("/fhir/Patient/x", headers={**doctor, "Accept": "text/xml"}).status_code == 406
    )


def _paths(route: object) -> list[str]:
    """The paths of a route, or of the routes an included router holds."""
    inner = getattr(route, "original_router", None)
    if inner is not None:
        return [path for child in inner.routes for path in _paths(child)]
    return [str(getattr(route, "path", ""))]
