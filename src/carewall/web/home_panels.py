"""The home page's panels: what needs doing, per role, from each domain's own figures.

Each function is a `HomePanel.context`: it reads (through the domains' query
functions), never writes, and returns what its template under
`templates/home/` shows. The registrations pick who sees which panel.
Panels that list patients go through the records chokepoint, so they show
only what the role may see and are audited like any other look.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from carewall.core.context import Caller
from carewall.identity import Role, notices, queries
from carewall.identity.sessions import Stage
from carewall.phishing.queries import status_counts
from carewall.phishing.simulation.results import phishing_evidence
from carewall.records.finder import Identity, lookup_patients_for
from carewall.records.overview import EmergencyAccess, emergency_access, recent_patients_for
from carewall.records.portal.flags import OPEN, list_flags
from carewall.records.readers import demographics_of
from carewall.training.queries import training_evidence
from carewall.web.auth import current_session, runtime_of, session_caller

MAX_LISTED = 5


def home_caller(request: Request) -> Caller | None:
    """The signed-in caller of the home page (None before sign-in is complete)."""
    active = current_session(request)
    if active is None or active.stage is not Stage.FULL:
        return None
    return session_caller(request, active)


def notices_panel(request: Request) -> Mapping[str, Any]:
    """Unread notices, each with a link to what it is about (when it is about something)."""
    caller = home_caller(request)
    if caller is None or caller.user_id is None:
        return {"notices": []}
    with runtime_of(request).db.sessions() as session:
        unread = notices.unread(session, caller.user_id)
    rows = [
        {
            "id": n.id,
            "level": n.level,
            "message": n.message,
            "at": n.created_at,
            "link": notice_link(n.message, caller.role),
        }
        for n in unread[:10]
    ]
    return {"notices": rows, "more": max(len(unread) - 10, 0)}


# What a notice is about, from its opening words (the texts are ours: identity, records,
# backup). A notice keeps no patient detail (its table is not sealed): the page it links
# to names the patient for those allowed to see it.
_NOTICE_LINKS = (
    ("A patient flagged record access", "/admin/access-flags", Role.ADMIN),
    ("Emergency access to a restricted record", "/#emergency-h", Role.ADMIN),
    ("Backups:", "/admin/backups", Role.ADMIN),
    ("An account was locked", "/admin/users", Role.ADMIN),
    ("A passkey of", "/admin/users", Role.ADMIN),
    ("A user has only", "/admin/users", Role.ADMIN),
)


_FLAG_NUMBER = re.compile(r"\(flag #(\d+)\)")


def notice_link(message: str, role: Role | None) -> str | None:
    """The page a notice is about, for this role (a flag notice: that flag)."""
    for start, link, needed in _NOTICE_LINKS:
        if message.startswith(start) and role is needed:
            flag = _FLAG_NUMBER.search(message)
            return f"{link}/{flag.group(1)}" if flag and link == "/admin/access-flags" else link
    return "/account/security" if "recovery code" in message or "MFA" in message else None


def accounts_panel(request: Request) -> Mapping[str, Any]:
    """MFA gaps, pending invitations and locked accounts (the security officer)."""
    with runtime_of(request).db.sessions() as session:
        users = queries.users_overview(session)
    active_staff = [u for u in users if u.status == "active" and u.role.is_staff]
    return {
        "no_mfa": [u for u in active_staff if not u.has_mfa],
        "staff": len(active_staff),
        "invited": [u for u in users if u.status == "invited"],
        "locked": [u for u in users if u.locked],
        "limit": MAX_LISTED,
    }


def flags_panel(request: Request) -> Mapping[str, Any]:
    """Patients' open access flags, oldest first (the security officer)."""
    caller = home_caller(request)
    if caller is None:
        return {"flags": []}
    flags = list_flags(runtime_of(request), caller, status=OPEN)
    return {"flags": sorted(flags, key=lambda f: f.seq), "limit": MAX_LISTED}


def emergency_panel(request: Request) -> Mapping[str, Any]:
    """Break-glass use of the last two weeks, live grants first (the security officer)."""
    caller = home_caller(request)
    if caller is None:
        return {"grants": []}
    runtime = runtime_of(request)
    grants = sorted(emergency_access(runtime, caller), key=lambda g: not g.active)
    return {"grants": grants, "patients": _patients_of(request, caller, grants[:MAX_LISTED])}


def _patients_of(
    request: Request, caller: Caller, grants: list[EmergencyAccess]
) -> Mapping[str, Identity]:
    """Who each listed grant opened: identity only, through the officer's audited lookup
    (one entry naming the patients shown, as the restricted-records page does)."""
    ids = sorted({g.patient_id for g in grants if g.patient_id})
    if not ids:
        return {}
    page = lookup_patients_for(runtime_of(request), caller, {"_id": ids}, count=len(ids))
    return {m.identity.id: m.identity for m in page.matches}


def own_grants_panel(request: Request) -> Mapping[str, Any]:
    """The clinician's own emergency access that is still open."""
    caller = home_caller(request)
    if caller is None:
        return {"grants": []}
    grants = emergency_access(runtime_of(request), caller, user_id=caller.ref, days=1)
    return {"grants": [g for g in grants if g.active]}


def recent_patients_panel(request: Request) -> Mapping[str, Any]:
    """Patients this staff member opened lately, and a search box."""
    caller = home_caller(request)
    if caller is None:
        return {"patients": []}
    found = recent_patients_for(runtime_of(request), caller)
    return {"patients": [demographics_of(p) for p in found]}


def triage_panel(request: Request) -> Mapping[str, Any]:
    """Reported mail awaiting the security officer's decision."""
    with runtime_of(request).db.sessions() as session:
        counts = status_counts(session)
    return {"new": counts.get("new", 0), "total": sum(counts.values())}


def awareness_panel(request: Request) -> Mapping[str, Any]:
    """The latest phishing drill's figures and training completion."""
    with runtime_of(request).db.sessions() as session:
        phishing = phishing_evidence(session)
        training = training_evidence(session)
    return {"phishing": phishing, "training": training}


def links_panel(request: Request) -> Mapping[str, Any]:
    """A panel of links only (the patient's record, the auditor's reports)."""
    return {}
