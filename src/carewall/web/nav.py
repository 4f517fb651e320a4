"""Navigation entries; each domain's registration adds its own with the roles that see them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carewall.core.roles import Role


@dataclass(frozen=True)
class NavItem:
    """A link in the header; `roles` empty means everyone, signed in or not.

    `order` places the link among every domain's links (lower first).
    """

    label: str
    path: str
    roles: frozenset[str] = frozenset()
    order: int = 50


def roles(*allowed: Role) -> frozenset[str]:
    """The role names of `allowed`, for a `NavItem`."""
    return frozenset(role.value for role in allowed)


STAFF = roles(*(role for role in Role if role.is_staff))
EVERYONE_SIGNED_IN = roles(*(role for role in Role if role.is_person))


def nav_for(items: Sequence[NavItem], role: str | None) -> list[NavItem]:
    """The links a visitor with `role` (None when anonymous) should see, in order."""
    visible = [
        item for item in items if not item.roles or (role is not None and role in item.roles)
    ]
    return sorted(visible, key=lambda item: item.order)
