"""The staff directory: who the practice trains and may target with simulations.

People arrive by CSV import (upsert by e-mail, one clear error per bad row),
by hand, from Carewall's own staff accounts, and from addresses given to a
campaign. Every address must belong to the practice's own mail domains
(`CAREWALL_MAIL_ORG_DOMAINS`): a simulation must never reach anyone outside
the practice, so the check sits here, where every entry is made.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import queries as identity_queries
from carewall.training.assignments import assign_joining_in
from carewall.training.errors import OutsideOrganisationError
from carewall.training.events import audit, member_ref
from carewall.training.models import EMAIL_CHARS, NAME_CHARS, StaffMember
from carewall.training.tags import TrainingTag

CSV_COLUMNS = ("email", "name", "department", "role", "manager", "start_date")
_ALIASES = {"manager_email": "manager", "start": "start_date", "job_title": "role"}
MAX_IMPORT_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class StaffInput:
    """What is known about a person (empty strings mean "not given")."""

    email: str
    name: str = ""
    department: str = ""
    role: str = ""
    manager: str = ""
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """One CSV row that was not imported, and why (line numbers count the header as 1)."""

    line: int
    message: str


@dataclass(slots=True)
class ImportReport:
    """What a CSV import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


#: The demo practice's domain, used in demo mode when no domains are configured.
DEMO_DOMAIN = "clinic.example"


def org_domains(settings: Settings) -> set[str]:
    """The practice's own mail domains (the demo practice's in demo mode, if none are set)."""
    domains = {d.strip().lower().rstrip(".") for d in settings.mail_org_domains if d.strip()}
    if not domains and settings.demo:
        domains = {DEMO_DOMAIN}
    return domains


def check_address(settings: Settings, email: str) -> str:
    """The normalised address when it is valid and inside the practice's domains; else raise."""
    address = normalise_email(email)
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"{address or 'An empty value'} is not a valid e-mail address."
        ) from exc
    if len(address) > EMAIL_CHARS:
        raise ValidationError("That e-mail address is too long.")
    domains = org_domains(settings)
    domain = address.rsplit("@", 1)[1]
    if not domains:
        raise OutsideOrganisationError(
            "No practice mail domains are configured: set CAREWALL_MAIL_ORG_DOMAINS "
            "(e.g. '[\"clinic.example\"]') before adding staff or sending simulations."
        )
    if domain not in domains:
        allowed = ", ".join(sorted(domains))
        raise OutsideOrganisationError(
            f"{address} is outside the practice's mail domains ({allowed}); simulations and "
            "training only ever go to the practice's own staff."
        )
    return address


def _clean(value: str, label: str) -> str:
    text = " ".join(value.split())
    if len(text) > NAME_CHARS:
        raise ValidationError(f"The {label} is longer than {NAME_CHARS} characters.")
    return text


def _changes(member: StaffMember, data: StaffInput) -> dict[str, object]:
    """The fields `data` gives that differ from the entry (empty input never erases)."""
    wanted: dict[str, object] = {
        "name": data.name,
        "department": data.department,
        "role": data.role,
        "manager_email": data.manager,
        "start_date": data.start_date,
    }
    return {k: v for k, v in wanted.items() if v not in ("", None) and getattr(member, k) != v}


def upsert_in(
    session: Session, settings: Settings, caller: Caller, data: StaffInput, source: str
) -> tuple[StaffMember, str]:
    """Add or update one person in the caller's transaction: (entry, created|updated|unchanged)."""
    email = check_address(settings, data.email)
    clean = StaffInput(
        email=email,
        name=_clean(data.name, "name"),
        department=_clean(data.department, "department"),
        role=_clean(data.role, "role"),
        manager=normalise_email(data.manager),
        start_date=data.start_date,
    )
    member = session.scalar(select(StaffMember).where(StaffMember.email == email))
    now = utcnow()
    if member is None:
        member = _new_member(session, clean, source, now)
        audit(
            session, TrainingTag.STAFF_ADDED, caller, subject=member_ref(member.id), source=source
        )
        return member, "created"
    changes = _changes(member, clean)
    if not member.active:
        changes["active"] = True
    if not changes:
        return member, "unchanged"
    for name, value in changes.items():
        setattr(member, name, value)
    member.updated_at = now
    audit(
        session,
        TrainingTag.STAFF_UPDATED,
        caller,
        subject=member_ref(member.id),
        fields=sorted(changes),
        source=source,
    )
    return member, "updated"


def _new_member(session: Session, data: StaffInput, source: str, now: datetime) -> StaffMember:
    member = StaffMember(
        email=data.email,
        name=data.name,
        department=data.department,
        role=data.role,
        manager_email=data.manager,
        start_date=data.start_date,
        user_id=identity_queries.user_id_for_email(session, data.email),
        source=source,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(member)
    session.flush()
    return member


def add_member(runtime: Runtime, caller: Caller, data: StaffInput, source: str = "manual") -> str:
    """Add or update one person by hand; new people get their joining training."""
    with runtime.db.transaction() as session:
        member, outcome = upsert_in(session, runtime.settings, caller, data, source)
        if outcome == "created":
            assign_joining_in(session, runtime.settings, caller, member)
        return member.id


def parse_date(value: str) -> date | None:
    """An ISO date (YYYY-MM-DD), None when empty; ValidationError otherwise."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD).") from None


def _header(fields: list[str] | None) -> dict[str, str]:
    """Our column name for each header cell; the e-mail column is required."""
    if not fields:
        raise ValidationError("The file is empty: the first line must name the columns.")
    mapping: dict[str, str] = {}
    for cell in fields:
        key = cell.strip().lower().replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key in CSV_COLUMNS:
            mapping[cell] = key
    if "email" not in mapping.values():
        raise ValidationError(
            f"The first line must name the columns, with at least 'email' "
            f"(known: {', '.join(CSV_COLUMNS)})."
        )
    return mapping


def _row_input(row: dict[str, str | None], mapping: dict[str, str]) -> StaffInput:
    values = {ours: (row.get(cell) or "").strip() for cell, ours in mapping.items()}
    return StaffInput(
        email=values.get("email", ""),
        name=values.get("name", ""),
        department=values.get("department", ""),
        role=values.get("role", ""),
        manager=values.get("manager", ""),
        start_date=parse_date(values.get("start_date", "")),
    )


def import_csv(runtime: Runtime, caller: Caller, text: str) -> ImportReport:
    """Upsert every valid row by e-mail in one transaction; bad rows are reported, not fatal."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    mapping = _header(list(reader.fieldnames or []))
    report = ImportReport()
    seen: set[str] = set()
    with runtime.db.transaction() as session:
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_IMPORT_ROWS:
                report.errors.append(RowError(number, f"more than {MAX_IMPORT_ROWS} rows"))
                break
            try:
                data = _row_input(row, mapping)
                if normalise_email(data.email) in seen:
                    raise ValidationError(f"{data.email} appears twice in the file.")
                # Every refusal is raised before anything is written for the row.
                member, outcome = upsert_in(session, runtime.settings, caller, data, "csv")
                if outcome == "created":
                    assign_joining_in(session, runtime.settings, caller, member)
            except (ValidationError, OutsideOrganisationError) as exc:
                report.errors.append(RowError(number, exc.message))
                continue
            seen.add(member.email)
            setattr(report, outcome, getattr(report, outcome) + 1)
        audit(
            session,
            TrainingTag.STAFF_IMPORTED,
            caller,
            created=report.created,
            updated=report.updated,
            errors=len(report.errors),
        )
    return report


def sync_accounts(runtime: Runtime, caller: Caller) -> ImportReport:
    """Bring every active staff account inside the practice's domains into the directory."""
    report = ImportReport()
    with runtime.db.transaction() as session:
        for user in identity_queries.users_overview(session):
            if not user.role.is_staff or user.status != "active":
                continue
            data = StaffInput(email=user.email, name=user.display_name, role=user.role.label)
            try:
                member, outcome = upsert_in(session, runtime.settings, caller, data, "account")
            except (ValidationError, OutsideOrganisationError) as exc:
                report.errors.append(RowError(0, exc.message))
                continue
            if member.user_id is None:
                member.user_id = user.id
            if outcome == "created":
                assign_joining_in(session, runtime.settings, caller, member)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report
