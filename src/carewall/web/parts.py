"""What a domain contributes to the web application: its routers and navigation links."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from carewall.web.nav import NavItem


@dataclass(frozen=True)
class WebPart:
    """One domain's pages and API routes, and the header links to them."""

    routers: tuple[APIRouter, ...] = ()
    nav: tuple[NavItem, ...] = ()
