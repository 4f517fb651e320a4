"""Navigation entries; each domain's routes add theirs with the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from carewall.identity import Role


@dataclass(frozen=True)
class NavItem:
    """A link in the header; `roles` empty means everyone, signed in or not."""

    label: str
    path: str
    roles: frozenset[str] = frozenset()


NAV_ITEMS: list[NavItem] = [
    NavItem("Home", "/"),
    NavItem("Users", "/admin/users", frozenset({Role.ADMIN.value})),
    NavItem("MFA policy", "/admin/policy", frozenset({Role.ADMIN.value})),
    NavItem(
        "Patients",
        "/patients",
        frozenset({Role.CLINICIAN.value, Role.FRONT_DESK.value, Role.BILLING.value}),
    ),
    NavItem("Analyze email", "/mail/analyze", frozenset(r.value for r in Role if r.is_staff)),
    NavItem("Reported email", "/admin/mail-reports", frozenset({Role.ADMIN.value})),
    NavItem("My record", "/portal", frozenset({Role.PATIENT.value})),
    NavItem(
        "Access report", "/admin/access-report", frozenset({Role.ADMIN.value, Role.AUDITOR.value})
    ),
    NavItem("Access flags", "/admin/access-flags", frozenset({Role.ADMIN.value})),
    NavItem("Account", "/account/security", frozenset(role.value for role in Role)),
]


def nav_for(role: str | None) -> list[NavItem]:
    """The links a visitor with `role` (None when anonymous) should see."""
    return [
        item for item in NAV_ITEMS if not item.roles or (role is not None and role in item.roles)
    ]
