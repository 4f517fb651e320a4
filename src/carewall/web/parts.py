"""What a domain contributes to the web application: its routers and navigation links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request

from carewall.web.nav import NavItem


@dataclass(frozen=True)
class HomePanel:
    """A panel on the home page for signed-in users with one of `roles` (e.g. backup health).

    `context` builds the template's variables for the request; it reads, never writes.
    `order` places it among every domain's panels (lower first: what needs doing
    before figures). Each template says what an empty panel means, never nothing.
    """

    template: str
    roles: frozenset[str]
    context: Callable[[Request], Mapping[str, Any]]
    order: int = 50


@dataclass(frozen=True)
class WebPart:
    """One domain's pages and API routes, the header links to them, and home-page panels.

    `hot_routers` are those machines call at rates no page sees (the FHIR API). The
    application matches them before every other domain's routers: FastAPI tries
    each route in turn, twice per request, and a FHIR read placed behind eighty
    others spent about 8% of its CPU matching routes (py-spy, `bench/fhir_read.py`).
    """

    routers: tuple[APIRouter, ...] = ()
    hot_routers: tuple[APIRouter, ...] = ()
    nav: tuple[NavItem, ...] = ()
    home: tuple[HomePanel, ...] = ()
