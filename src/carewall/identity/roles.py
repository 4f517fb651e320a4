"""Roles live in core (every layer's caller carries one); identity re-exports them."""

from carewall.core.roles import ALL_ROLES, PERSON_ROLES, STAFF_ROLES, Role

__all__ = ["ALL_ROLES", "PERSON_ROLES", "STAFF_ROLES", "Role"]
