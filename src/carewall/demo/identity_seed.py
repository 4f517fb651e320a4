"""Demo seeder for identity: one active account per staff role."""

from __future__ import annotations

from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.demo.framework import DemoLogin, Seeder
from carewall.identity import Role, accounts

_DEMO = Origin(user_agent="demo-seed")
_SYSTEM = Caller.cli("demo", user_agent=_DEMO.user_agent)

# Demo-only passphrases, printed at start-up; they pass the password policy.
STAFF = (
    DemoLogin(Role.ADMIN, "admin@clinic.example", "amber falcon river 2026"),
    DemoLogin(Role.CLINICIAN, "clinician@clinic.example", "copper lantern meadow 7"),
    DemoLogin(Role.FRONT_DESK, "frontdesk@clinic.example", "quiet orchid harbor 42"),
    DemoLogin(Role.BILLING, "billing@clinic.example", "silver tundra piano 18"),
    DemoLogin(Role.AUDITOR, "auditor@clinic.example", "maple comet garden 93"),
)

# The people of the demo practice, so lists and the audit viewer show names, not addresses.
NAMES = {
    "admin@clinic.example": "Alex Morgan",
    "clinician@clinic.example": "Dr. Priya Raman",
    "frontdesk@clinic.example": "Sam Ortiz",
    "billing@clinic.example": "Jordan Lee",
    "auditor@clinic.example": "Casey Novak",
}


def _staff(runtime: Runtime) -> None:
    """One active account per staff role; each sets up a second factor at first sign-in."""
    admin, *others = STAFF
    created = accounts.create_admin(runtime, admin.email, admin.password, _DEMO)
    accounts.update_user(runtime, _SYSTEM, created.id, name=NAMES[admin.email], role=admin.role)
    for login in others:
        name = NAMES[login.email]
        link = accounts.invite_user(runtime, _SYSTEM, login.email, login.role, name=name)
        accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], login.password, _DEMO)


STAFF_SEEDER = Seeder("identity-staff", _staff, logins=STAFF)
