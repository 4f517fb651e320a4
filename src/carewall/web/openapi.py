"""The OpenAPI document says how the JSON API authenticates.

Authentication is Carewall's own dependency (`auth.require_api`), not one of
FastAPI's security classes, so FastAPI cannot document it by itself. This adds
the bearer scheme and, on every operation that requires a token, the scopes it
needs and the 401/403 answers a client must expect.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

SCHEME = "bearerToken"
_REFUSALS = {
    "401": {"description": "No valid bearer token (or signed-in session)"},
    "403": {"description": "The token's scopes or the owner's role do not allow this"},
}


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` with a generator that documents bearer authentication."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            _document_security(schema, _scopes_by_operation(app))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _scopes_by_operation(app: FastAPI) -> dict[tuple[str, str], str]:
    """(path, method) → the scope a route's token must carry."""
    found: dict[tuple[str, str], str] = {}
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        scope = _scope_of(route.dependant)
        if scope is not None:
            for method in route.methods or ():
                found[(route.path_format, method.lower())] = scope
    return found


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of routers FastAPI keeps wrapped when included."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def _scope_of(dependant: Dependant) -> str | None:
    scope: str | None = getattr(dependant.call, "carewall_scope", None)
    if scope is not None:
        return scope
    for child in dependant.dependencies:
        if (scope := _scope_of(child)) is not None:
            return scope
    return None


def _document_security(schema: dict[str, Any], scopes: dict[tuple[str, str], str]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`carewall user token` or the account page)",
    }
    for (path, method), scope in scopes.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        operation["security"] = [{SCHEME: [scope]}]
        for status, answer in _REFUSALS.items():
            operation.setdefault("responses", {}).setdefault(status, answer)
