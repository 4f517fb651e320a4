"""Who is asking, from where and why: the one caller context every domain call takes.

The web layer builds a `Caller` once per request (one dependency), the CLI once
per command, the job runner once per run; domains never look at requests. The
audit trail takes its actor, IP address, user agent and request id from it, so
every entry carries them the same way whichever door the call came through.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from carewall.core.roles import Role


class Purpose(StrEnum):
    """Purpose of use (HL7 v3 PurposeOfUse codes), recorded with every record access."""

    TREATMENT = "TREAT"
    PAYMENT = "HPAYMT"
    OPERATIONS = "HOPERAT"
    PATIENT_REQUEST = "PATRQT"
    EMERGENCY = "ETREAT"
    SYSTEM = "HSYSADMIN"


@dataclass(frozen=True)
class Origin:
    """Where a call came from: source IP, user agent and the request id of the log line."""

    ip: str = ""
    user_agent: str = ""
    request_id: str = ""

    @property
    def device(self) -> str:
        """A short device description for the sessions page ("Chrome on Windows")."""
        return describe_user_agent(self.user_agent)


def user_ref(user_id: str) -> str:
    """The audit reference of a user account; the only place the form is spelled."""
    return f"{_USER}{user_id}"


def user_id_of(ref: str) -> str | None:
    """The user id in an audit reference made by `user_ref`, else None (`cli`, `job:...`)."""
    return ref.removeprefix(_USER) if ref.startswith(_USER) else None


_USER = "user:"


@dataclass(frozen=True)
class Caller:
    """An immutable description of the caller of one request, command or job run.

    `ref` is what the audit trail records as the actor: `user:<id>` for people and
    their tokens, `cli` for the operator at the console, `job:<name>` for
    scheduled work, the link's kind for the holder of a personal link. `user_id`
    is empty for tooling. `role` is None only for a link holder, whom every
    permission check refuses. `system` marks trusted local tooling (CLI, jobs):
    it passes the permission checks and is still audited.
    Before sign-in there is no caller, only an `Origin`.
    """

    ref: str
    role: Role | None
    user_id: str = ""
    email: str = ""
    patient_id: str | None = None
    origin: Origin = field(default_factory=Origin)
    purpose: Purpose = Purpose.TREATMENT
    session_id: str | None = None
    token_id: str | None = None
    scopes: frozenset[str] | None = None
    system: bool = False

    @classmethod
    def for_user(
        cls,
        user_id: str,
        role: Role,
        *,
        email: str = "",
        patient_id: str | None = None,
        origin: Origin | None = None,
        session_id: str | None = None,
        token_id: str | None = None,
        scopes: frozenset[str] | None = None,
    ) -> Caller:
        """A signed-in person (browser session) or their API token."""
        return cls(
            ref=user_ref(user_id),
            role=role,
            user_id=user_id,
            email=email,
            patient_id=patient_id,
            origin=origin or Origin(),
            session_id=session_id,
            token_id=token_id,
            scopes=scopes,
        )

    @classmethod
    def cli(cls, name: str = "cli", *, user_agent: str = "cli") -> Caller:
        """The operator at the console (or the demo seeder): full access, audited as `name`."""
        return cls(
            ref=name,
            role=Role.ADMIN,
            origin=Origin(user_agent=user_agent),
            purpose=Purpose.SYSTEM,
            system=True,
        )

    @classmethod
    def link_holder(cls, kind: str, origin: Origin) -> Caller:
        """Someone holding a personal link (a learner's training link), with no account.

        There is no role: every permission check refuses a caller without one, so
        the link reaches only what its domain ties to the link itself. `kind`
        names the link in the audit trail (`learner-link`) until the domain
        knows whose link it is and names them instead.
        """
        return cls(ref=kind, role=None, origin=origin)

    @classmethod
    def job(cls, name: str) -> Caller:
        """A scheduled or queued job run: full access, audited as `job:<name>`."""
        return cls(
            ref=f"job:{name}",
            role=Role.ADMIN,
            origin=Origin(user_agent="carewall-jobs"),
            purpose=Purpose.SYSTEM,
            system=True,
        )

    @property
    def reads_by_matrix(self) -> bool:
        """The role reaches records through the permission matrix rather than one
        compartment: staff, integration feeds and tooling (not patients, not link holders)."""
        return self.role is not None and self.role.reads_by_matrix

    @property
    def channel(self) -> str | None:
        """What the call came through: `session:<id>` or `token:<id>` (None for tooling).

        Break-glass grants are bound to it: a grant started in one browser session
        opens nothing to the same person's API tokens or other sessions.
        """
        if self.session_id:
            return f"session:{self.session_id}"
        return f"token:{self.token_id}" if self.token_id else None

    def with_purpose(self, purpose: Purpose) -> Caller:
        """The same caller stating another purpose of use (e.g. emergency access)."""
        return dataclasses.replace(self, purpose=purpose)


def describe_user_agent(user_agent: str) -> str:
    """'Chrome on Windows' from a user-agent string, good enough for people to recognise."""
    ua = user_agent.lower()
    browser = next(
        (name for key, name in _BROWSERS if key in ua), "Command line" if ua == "cli" else "Browser"
    )
    system = next((name for key, name in _SYSTEMS if key in ua), "")
    return f"{browser} on {system}" if system else browser


_BROWSERS = [
    ("edg/", "Edge"),
    ("firefox/", "Firefox"),
    ("chrome/", "Chrome"),
    ("safari/", "Safari"),
    ("python-httpx", "Script"),
    ("curl/", "curl"),
]
_SYSTEMS = [
    ("windows", "Windows"),
    ("android", "Android"),
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("mac os", "macOS"),
    ("linux", "Linux"),
]
