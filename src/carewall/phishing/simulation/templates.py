"""Templates as administrators see them: the shipped library plus their edited clones.

Cloning copies a shipped (or edited) template under a new id; editing
changes subject, sender, bodies and the landing page. Every save sanitises
the HTML and re-checks the template, so what is stored is always sendable.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.phishing.simulation.events import audit
from carewall.phishing.simulation.library import (
    FIELD_NAME,
    LandingPage,
    Scenario,
    builtin_scenarios,
    check,
    from_content,
    sanitize_html,
)
from carewall.phishing.simulation.models import SimulationTemplate
from carewall.phishing.simulation.tags import SimulationTag


@dataclass(frozen=True, slots=True)
class TemplateEdit:
    """The fields an administrator may change."""

    title: str
    subject: str
    sender_name: str
    sender_address: str
    html: str
    text: str
    landing: str
    landing_heading: str = ""
    landing_fields: tuple[str, ...] = ()
    difficulty: str = "medium"


def all_templates(session: Session) -> list[Scenario]:
    """The shipped library, then edited templates by title."""
    custom = [
        from_content(row.content, builtin=False)
        for row in session.scalars(
            select(SimulationTemplate).order_by(SimulationTemplate.created_at)
        )
    ]
    return [*builtin_scenarios().values(), *sorted(custom, key=lambda s: s.title.lower())]


def template_in(session: Session, template_id: str) -> Scenario:
    """One template by id, shipped or edited; NotFoundError names what exists."""
    if template_id in builtin_scenarios():
        return builtin_scenarios()[template_id]
    row = session.get(SimulationTemplate, template_id)
    if row is None:
        known = ", ".join(s.id for s in all_templates(session))
        raise NotFoundError(f"No template is called {template_id!r}. Templates: {known}.")
    return from_content(row.content, builtin=False)


def _apply(base: Scenario, edit: TemplateEdit, new_id: str) -> Scenario:
    name, address = parseaddr(edit.sender_address)
    if "@" not in address.replace("{{sim_domain}}", "x.example") or name:
        raise ValidationError("Give the sender address alone, e.g. it-desk@{{sim_domain}}.")
    fields = tuple(f.strip().lower() for f in edit.landing_fields if f.strip())
    if any(not FIELD_NAME.match(f) for f in fields):
        raise ValidationError("Field names are short lower-case words such as username, password.")
    page = dataclasses.replace(
        base.landing_page,
        heading=edit.landing_heading.strip() or base.landing_page.heading,
        fields=fields,
    )
    scenario = dataclasses.replace(
        base,
        id=new_id,
        title=" ".join(edit.title.split())[:120] or base.title,
        subject=" ".join(edit.subject.split()),
        sender_name=" ".join(edit.sender_name.split())[:120],
        sender_address=address,
        html=sanitize_html(edit.html),
        text=edit.text.replace("\r\n", "\n"),
        landing=edit.landing,
        difficulty=edit.difficulty,
        landing_page=page if edit.landing != "none" else LandingPage(),
        builtin=False,
        base_id=base.base_id or base.id,
    )
    check(scenario)
    return scenario


def clone_template(runtime: Runtime, caller: Caller, base_id: str) -> str:
    """A copy of a template to edit; returns the new template's id."""
    now = utcnow()
    with runtime.db.transaction() as session:
        base = template_in(session, base_id)
        new_id = f"custom-{secrets.token_hex(4)}"
        scenario = dataclasses.replace(
            base,
            id=new_id,
            title=f"{base.title} (copy)",
            builtin=False,
            base_id=base.base_id or base.id,
        )
        session.add(
            SimulationTemplate(
                id=new_id,
                base_id=scenario.base_id,
                content=scenario.to_content(),
                created_by=caller.ref[:120],
                created_at=now,
                updated_at=now,
            )
        )
        audit(
            session,
            SimulationTag.TEMPLATE_SAVED,
            caller.origin,
            actor=caller.ref,
            subject=f"template:{new_id}",
            base=base.id,
        )
    return new_id


def update_template(runtime: Runtime, caller: Caller, template_id: str, edit: TemplateEdit) -> None:
    """Save an edited template (shipped templates are cloned first, never changed)."""
    with runtime.db.transaction() as session:
        row = session.get(SimulationTemplate, template_id)
        if row is None:
            raise NotFoundError("Only edited copies can be changed: clone the template first.")
        scenario = _apply(from_content(row.content, builtin=False), edit, template_id)
        row.content = scenario.to_content()
        row.updated_at = utcnow()
        audit(
            session,
            SimulationTag.TEMPLATE_SAVED,
            caller.origin,
            actor=caller.ref,
            subject=f"template:{template_id}",
        )
