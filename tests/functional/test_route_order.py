"""The order in which the application matches routes: hot API routes first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.jobs import JobRegistry
from carewall.registry import create_app as create_registered_app
from carewall.web.app import create_app
from carewall.web.parts import WebPart


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


def _paths(route: object) -> list[str]:
    """The paths of a route, or of the routes an included router holds."""
    inner = getattr(route, "original_router", None)
    if inner is not None:
        return [path for child in inner.routes for path in _paths(child)]
    return [str(getattr(route, "path", ""))]
