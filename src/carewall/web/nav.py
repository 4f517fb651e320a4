"""Navigation entries; each domain's routes add theirs with the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A link in the header; `roles` empty means everyone, signed in or not."""

    label: str
    path: str
    roles: frozenset[str] = frozenset()


NAV_ITEMS: list[NavItem] = [NavItem("Home", "/")]


def nav_for(role: str | None) -> list[NavItem]:
    """The links a visitor with `role` (None when anonymous) should see."""
    return [
        item for item in NAV_ITEMS if not item.roles or (role is not None and role in item.roles)
    ]
