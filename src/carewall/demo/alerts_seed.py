"""Demo seeder for alerts: the detectors read the demo trail, and a few realistic alerts.

The demo practice's trail is short and ordinary, so the detectors find little
in it; three alerts show what the page looks like when they do: the demo
clinician opening far more patients than usual, a break-glass access with no
clinical note after it, and a burst of failed sign-ins. They are opened
through the same service as real ones (audited, deduplicated by key, so a
second demo start adds nothing).
"""

from __future__ import annotations

from datetime import timedelta

from carewall.alerts.detectors import CATALOGUE, Finding, Severity
from carewall.alerts.engine import scan
from carewall.alerts.services import acknowledge, open_alerts
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.identity import queries


def _alerts(runtime: Runtime) -> None:
    caller = Caller.cli("demo")
    scan(runtime, caller)
    with runtime.db.sessions() as session:
        clinician = queries.user_id_for_email(session, "clinician@clinic.example")
        billing = queries.user_id_for_email(session, "billing@clinic.example")
    now = utcnow()
    findings = []
    if clinician:
        findings.append(
            Finding(
                "volume",
                Severity.HIGH,
                f"user:{clinician}",
                "46 distinct patients opened today",
                "46 distinct patients today: above their own baseline (40 a day).",
                "demo:volume",
                (),
                now - timedelta(minutes=42),
                {"patients_today": 46},
            )
        )
    if billing:
        findings.append(
            Finding(
                "no_care",
                Severity.MEDIUM,
                f"user:{billing}",
                "Opened a patient without a care relationship",
                "Opened a patient without a care relationship (billing).",
                "demo:no_care",
                (),
                now - timedelta(hours=3),
            )
        )
    findings.append(
        Finding(
            "signin",
            Severity.HIGH,
            "",
            "Failed sign-ins for 14 accounts from one address",
            "14 different accounts failed to sign in from 203.0.113.7 within an hour: "
            "credential stuffing or password spraying.",
            "demo:signin",
            (),
            now - timedelta(hours=5),
            {"ip": "203.0.113.7"},
        )
    )
    opened = open_alerts(runtime, caller, [f for f in findings if f.detector in CATALOGUE])
    if opened:
        acknowledge(runtime, caller, opened[-1], "Firewall rule added for 203.0.113.0/24.")


ALERTS_SEEDER = Seeder("alerts-demo", _alerts)
