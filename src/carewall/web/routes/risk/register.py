"""The risk register: a 5x5 heat map, each risk's inherent and residual scores, owners, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from carewall.core.clock import utcnow
from carewall.core.errors import CarewallError, ValidationError
from carewall.risk import queries, services
from carewall.risk.catalogue import catalogue
from carewall.risk.report import heat_maps
from carewall.risk.services import RISK_STATUSES, RiskInput
from carewall.web.auth import RuntimeDep
from carewall.web.routes.risk.common import Editor, Reader, back, editing
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
REGISTER = "/risk/register"
Score = Annotated[int, Form(ge=1, le=5)]


@router.get(REGISTER, response_class=HTMLResponse)
def register_page(request: Request, runtime: RuntimeDep, caller: Reader) -> Response:
    """Heat maps (inherent and residual) and the register, highest residual first."""
    with runtime.db.sessions() as session:
        risks = queries.risks(session)
    threats = catalogue().frameworks["hicp"].threats
    context = {
        "risks": risks,
        "threats": {t.id: t for t in threats},
        "missing_threats": [t for t in threats if t.id not in {r.threat for r in risks}],
        **heat_maps(risks),
        "today": utcnow().date(),
        "can_edit": editing(caller),
        "sections": {s.id: s for s in catalogue().sections},
    }
    return render(request, "risk/register.html", context)


@router.post(REGISTER + "/starter")
def starter(request: Request, runtime: RuntimeDep, caller: Editor) -> Response:
    """Add one risk per HICP threat not yet in the register."""
    added = services.add_starter_risks(runtime, caller)
    return back(
        request, REGISTER, f"{added} risk(s) added from the HICP threats; set owners and dates."
    )


def _form_context(caller: Reader, risk: queries.RiskView | None) -> dict[str, object]:
    book = catalogue()
    return {
        "risk": risk,
        "threats": book.frameworks["hicp"].threats,
        "sections": book.sections,
        "statuses": RISK_STATUSES,
        "can_edit": editing(caller),
    }


@router.get(REGISTER + "/new", response_class=HTMLResponse)
def new_risk(request: Request, caller: Editor) -> Response:
    """An empty risk form."""
    return render(request, "risk/risk_form.html", _form_context(caller, None))


@router.get(REGISTER + "/{risk_id}", response_class=HTMLResponse)
def risk_page(request: Request, runtime: RuntimeDep, caller: Reader, risk_id: str) -> Response:
    """One risk: the form for the security officer, read-only for the auditor."""
    with runtime.db.sessions() as session:
        found = queries.risk(session, risk_id)
    return render(request, "risk/risk_form.html", _form_context(caller, found))


@dataclass(frozen=True)
class _RiskFields:
    """The risk form as posted, before the due date is read (which may fail)."""

    title: str
    threat: str
    asset: str
    vulnerability: str
    scores: tuple[int, int, int, int]
    owner: str
    due_date: str
    status: str
    controls: list[str]
    notes: str

    def parsed(self) -> RiskInput:
        """The risk to store; a due date that is not one is a ValidationError, which the
        route shows on the form it came from."""
        try:
            due = date.fromisoformat(self.due_date) if self.due_date else None
        except ValueError as exc:
            raise ValidationError("The due date is not a date (YYYY-MM-DD).") from exc
        return RiskInput(
            title=self.title,
            threat=self.threat,
            asset=self.asset,
            vulnerability=self.vulnerability,
            inherent_likelihood=self.scores[0],
            inherent_impact=self.scores[1],
            residual_likelihood=self.scores[2],
            residual_impact=self.scores[3],
            owner=self.owner,
            due_date=due,
            status=self.status,
            controls=tuple(self.controls),
            notes=self.notes,
        )


def _risk_fields(
    inherent_likelihood: Score,
    inherent_impact: Score,
    residual_likelihood: Score,
    residual_impact: Score,
    title: Annotated[str, Form(max_length=400)] = "",
    threat: Annotated[str, Form(max_length=16)] = "",
    asset: Annotated[str, Form(max_length=600)] = "",
    vulnerability: Annotated[str, Form(max_length=1000)] = "",
    owner: Annotated[str, Form(max_length=300)] = "",
    due_date: Annotated[str, Form(max_length=20)] = "",
    status: Annotated[str, Form(max_length=16)] = "open",
    controls: Annotated[list[str] | None, Form()] = None,
    notes: Annotated[str, Form(max_length=8000)] = "",
) -> _RiskFields:
    """The fields both the new-risk and the edit form post, with their limits (one place,
    so the two forms cannot drift apart)."""
    scores = (inherent_likelihood, inherent_impact, residual_likelihood, residual_impact)
    return _RiskFields(
        title, threat, asset, vulnerability, scores, owner, due_date, status, controls or [], notes
    )


RiskFields = Annotated[_RiskFields, Depends(_risk_fields)]


@router.post(REGISTER)
def create(request: Request, runtime: RuntimeDep, caller: Editor, form: RiskFields) -> Response:
    """Add a risk."""
    try:
        services.create_risk(runtime, caller, form.parsed())
    except CarewallError as exc:
        return back(request, REGISTER + "/new", exc.message, "error")
    return back(request, REGISTER, "Risk added to the register.")


@router.post(REGISTER + "/{risk_id}")
def update(
    request: Request,
    runtime: RuntimeDep,
    caller: Editor,
    risk_id: str,
    form: RiskFields,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    """Change a risk (refused if someone else changed it since the form was opened)."""
    try:
        services.update_risk(runtime, caller, risk_id, form.parsed(), version)
    except CarewallError as exc:
        return back(request, f"{REGISTER}/{risk_id}", exc.message, "error")
    return back(request, REGISTER, "Risk updated.")
