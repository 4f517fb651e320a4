"""Demo seeder for reported mail: four messages staff forwarded, two still awaiting triage.

The messages are written for the demo (`data/mail/`, no mail corpus). They go
through the analyzer and the report service like an upload from the
"Report a suspicious email" page, at the times they would have been reported,
and the security officer has already decided two of them.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files

from carewall.core.clock import utcnow
from carewall.core.context import Origin
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.demo.training_seed import clock_at
from carewall.identity import queries
from carewall.phishing.services import decide, report_message

_ORIGIN = Origin(ip="10.20.0.31", user_agent="demo-seed")

#: (file, reporter, days ago, the officer's decision or None, the officer's note)
REPORTS = (
    (
        "01-payroll-update.eml",
        "frontdesk@clinic.example",
        8,
        "confirmed_phish",
        "Credential phish; the link is blocked at the firewall. Thank you for reporting it.",
    ),
    ("02-fax-invoice.eml", "billing@clinic.example", 7, None, ""),
    (
        "03-lab-results-portal.eml",
        "clinician@clinic.example",
        6,
        "safe",
        "Genuine monthly summary from the lab; nothing to do.",
    ),
    ("04-ceo-gift-cards.eml", "frontdesk@clinic.example", 1, None, ""),
)


def _user_id(runtime: Runtime, email: str) -> str | None:
    with runtime.db.sessions() as session:
        return queries.user_id_for_email(session, email)


def _reported_mail(runtime: Runtime) -> None:
    folder = files("carewall.demo") / "data" / "mail"
    officer = _user_id(runtime, "admin@clinic.example")
    now = utcnow()
    for name, reporter, days, outcome, note in REPORTS:
        reporter_id = _user_id(runtime, reporter)
        if reporter_id is None:
            continue
        raw = (folder / name).read_bytes()
        with clock_at(now - timedelta(days=days, hours=2)):
            filed = report_message(runtime, reporter_id, raw, "upload", _ORIGIN)
        if outcome is not None and officer is not None:
            with clock_at(now - timedelta(days=days, hours=-1)):
                decide(runtime, officer, filed.id, outcome, note, _ORIGIN)


MAIL_SEEDER = Seeder("phishing-reported-mail", _reported_mail, later=True)
