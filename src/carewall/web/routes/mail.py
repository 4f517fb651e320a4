"""Phishing pages and API: analyze a suspicious email, report it, and the officer's triage queue.

Every page shows message content only through ``carewall.phishing.preview``,
which yields plain text segments (links defanged) that the templates escape;
nothing from a message is ever rendered as markup.

The "Report" button on a verdict page sends the message back base64-encoded in
a hidden field. Form fields are capped at 1 MB by Starlette, so larger
messages are reported with the "Analyze and report" button of the upload form.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from carewall.core.errors import CarewallError, ValidationError
from carewall.core.inputs import ascii_int
from carewall.identity import Role
from carewall.phishing import Verdict, queries, rarity_sentence, services, to_rfc822
from carewall.phishing.defang import defang_text
from carewall.phishing.errors import MAX_MESSAGE_BYTES, MessageTooLargeError, check_message_size
from carewall.phishing.preview import build_preview
from carewall.web.auth import STAFF, Caller, RuntimeDep, require, require_api
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(tags=["mail"])
Staff = Annotated[Caller, Depends(require(STAFF))]
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
ApiStaff = Annotated[Caller, Depends(require_api(STAFF, scope="mail:analyze"))]
ANALYZE, REPORTS, QUEUE = "/mail/analyze", "/mail/reports", "/admin/mail-reports"
#: Largest message the verdict page can send back in its hidden field (base64 grows it by 4/3).
INLINE_REPORT_BYTES = 700 * 1024


def _read_upload(upload: UploadFile | None, pasted: str) -> bytes:
    if upload is not None and upload.filename:
        # Outlook .msg and winmail.dat become RFC 5322 here: the preview and a report read them too.
        return to_rfc822(check_message_size(upload.file.read(MAX_MESSAGE_BYTES + 1)))
    return check_message_size(pasted.encode("utf-8", "surrogateescape"))


def _verdict_page(request: Request, raw: bytes, verdict: Verdict, status: int = 200) -> Response:
    inline = len(raw) <= INLINE_REPORT_BYTES
    context = {
        "verdict": verdict,
        "preview": build_preview(raw, verdict),
        "message_b64": base64.b64encode(raw).decode() if inline else "",
        "rarity": rarity_sentence(verdict.score),
        "errors": [],
        "defang_text": defang_text,
    }
    return render(request, "mail/analyze.html", context, status=status)


@router.get(ANALYZE, response_class=HTMLResponse, include_in_schema=False)
def analyze_page(request: Request, caller: Staff) -> Response:
    """Upload or paste a suspicious email."""
    return render(request, "mail/analyze.html", {"verdict": None, "errors": []})


@router.post(ANALYZE, response_class=HTMLResponse, include_in_schema=False)
def analyze_submit(
    request: Request,
    runtime: RuntimeDep,
    caller: Staff,
    message: Annotated[UploadFile | None, File()] = None,
    source: Annotated[str, Form()] = "",
    report: Annotated[str, Form()] = "",
) -> Response:
    """Show the verdict and a safe view of the message; with ``report`` also file it."""
    origin = caller.origin
    try:
        raw = _read_upload(message, source)
        if report:
            filed = services.report_message(runtime, caller.user_id, raw, "upload", origin)
            return _reported(request, filed.status)
        verdict = services.analyze(runtime, raw)
    except CarewallError as exc:
        context = {"verdict": None, "errors": [exc.message]}
        return render(request, "mail/analyze.html", context, status=exc.status)
    services.record_analysis(runtime, caller.ref, verdict, origin, "web")
    return _verdict_page(request, raw, verdict)


def _reported(request: Request, status: str) -> Response:
    response = RedirectResponse(REPORTS, status_code=303)
    message = "Thank you: the security officer has your report."
    if status == "simulation":
        message = "Well spotted: that was a phishing simulation, and reporting it was right."
    flash(request, response, message)
    return response


@router.post("/mail/report", include_in_schema=False)
def report_submit(
    request: Request,
    runtime: RuntimeDep,
    caller: Staff,
    message_b64: Annotated[str, Form(max_length=1_000_000)],
) -> Response:
    """File the message shown on the verdict page for the security officer."""
    try:
        raw = base64.b64decode(message_b64, validate=True)
    except binascii.Error as exc:
        raise ValidationError("The message could not be read back; upload it again.") from exc
    filed = services.report_message(runtime, caller.user_id, raw, "upload", caller.origin)
    return _reported(request, filed.status)


Page = Annotated[int, Query(ge=1, le=100_000)]


@router.get(REPORTS, response_class=HTMLResponse, include_in_schema=False)
def my_reports(request: Request, runtime: RuntimeDep, caller: Staff, page: Page = 1) -> Response:
    """What I reported and what the security officer decided, newest first."""
    listed = queries.reports_of(runtime, caller.user_id, page=page)
    return render(request, "mail/reports.html", {"reports": listed.reports, "listed": listed})


@router.get(QUEUE, response_class=HTMLResponse, include_in_schema=False)
def queue_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    status: Annotated[str, Query(max_length=20)] = "new",
    page: Page = 1,
) -> Response:
    """The officer's queue, newest first, one status at a time (all with an empty status)."""
    status = status if status in queries.STATUSES else ""
    listed = queries.queue(runtime, status or None, page=page)
    with runtime.db.sessions() as session:
        counts = queries.status_counts(session)
    context: dict[str, Any] = {
        "reports": listed.reports,
        "listed": listed,
        "counts": counts,
        "status": status,
        "statuses": queries.STATUSES,
        "decisions": services.DECISIONS,
        "defang_text": defang_text,
    }
    return render(request, "mail/queue.html", context)


@router.get(QUEUE + "/{report_id}", response_class=HTMLResponse, include_in_schema=False)
def report_detail(request: Request, runtime: RuntimeDep, caller: Admin, report_id: str) -> Response:
    """One report with the safe view of the message (decrypting it is audited)."""
    report, raw = services.open_report(runtime, caller.user_id, report_id, caller.origin)
    verdict = services.analyze(runtime, raw)
    context = {"report": report, "verdict": verdict, "preview": build_preview(raw, verdict)}
    context.update(decisions=services.DECISIONS, defang_text=defang_text)
    return render(request, "mail/report_detail.html", context)


@router.post(QUEUE + "/{report_id}", include_in_schema=False)
def decide(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    report_id: str,
    outcome: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Close a report as confirmed phishing, safe, or a simulation; the reporter sees it."""
    services.decide(runtime, caller.user_id, report_id, outcome, note, caller.origin)
    response = RedirectResponse(QUEUE, status_code=303)
    flash(request, response, "Decision saved. The reporter can see it on their reports page.")
    return response


# -- JSON API -----------------------------------------------------------------------------


class SignalPublic(BaseModel):
    """One reason behind a verdict."""

    id: str
    weight: float
    explanation: str
    evidence: str = Field(description="The exact header, URL or file name the signal is about")


class VerdictPublic(BaseModel):
    """The analyzer's verdict, as `carewall mail analyze --json` prints it."""

    model_config = ConfigDict(populate_by_name=True)

    verdict: Literal["phishing", "suspicious", "clean"]
    score: float = Field(description="Sum of the signals' weights")
    signals: list[SignalPublic]
    simulation: bool = Field(description="Carried Carewall's own simulation header")
    malformed: bool
    subject: str
    from_: str = Field(alias="from")


#: JSON Schema pattern of a message that is not blank: one character other than ASCII whitespace.
NOT_BLANK = r"[^ \t\n\r\x0b\x0c]"


class MessageJson(BaseModel):
    """The message as text, for clients that cannot send raw bytes."""

    # Documents what `check_message_size` refuses (a message of nothing but ASCII
    # whitespace), so that clients know before they send; the check itself stays
    # there, with its own message.
    raw: str = Field(
        description="The complete RFC 5322 message source",
        json_schema_extra={"pattern": NOT_BLANK},
    )


async def message_body(request: Request) -> bytes:
    """The request body within the size limit: raw bytes, or JSON ``{"raw": "..."}``."""
    declared = ascii_int(request.headers.get("content-length", ""), MAX_MESSAGE_BYTES * 2)
    if declared is not None and declared > MAX_MESSAGE_BYTES * 2:
        raise MessageTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_MESSAGE_BYTES * 2:  # JSON escaping may double the size
            raise MessageTooLargeError
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return MessageJson.model_validate_json(bytes(body)).raw.encode(
                "utf-8", "surrogateescape"
            )
        except ValueError as exc:
            raise ValidationError(
                'Send the message as raw bytes or as JSON {"raw": "..."}.'
            ) from exc
    return bytes(body)


# A raw message of nothing but whitespace is refused too, which JSON Schema
# cannot say of binary data; an empty one at least is documented.
_RAW_MESSAGE: dict[str, Any] = {"type": "string", "format": "binary", "minLength": 1}
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "message/rfc822": {"schema": _RAW_MESSAGE},
            "application/octet-stream": {"schema": _RAW_MESSAGE},
            "application/json": {"schema": MessageJson.model_json_schema()},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token or session"},
    403: {"description": "Not staff, or the token lacks mail:analyze"},
    413: {"description": f"Message larger than {MAX_MESSAGE_BYTES} bytes"},
    422: {"description": "Empty or unreadable message"},
}


@router.post(
    "/api/v1/mail/analyze", response_model=VerdictPublic, openapi_extra=_BODY_DOC, responses=_ERRORS
)
def analyze_api(
    request: Request,
    runtime: RuntimeDep,
    caller: ApiStaff,
    raw: Annotated[bytes, Depends(message_body)],
) -> VerdictPublic:
    """Score one message (body: the raw .eml) and explain the verdict; nothing is stored."""
    verdict = services.analyze(runtime, raw)
    services.record_analysis(runtime, caller.ref, verdict, caller.origin, "api")
    return VerdictPublic.model_validate(verdict.to_dict())
