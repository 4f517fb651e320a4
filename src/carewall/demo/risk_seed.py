"""Demo seeder for risk: a register, last year's assessment and this year's, completed.

Last year's assessment is recorded as a baseline done before Carewall (stated
answers only, dated a year back); this year's is answered through the same
services people use, so its measured answers are the demo practice's real
figures (staff have not enrolled a second factor yet: the report says so).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from carewall.audit import AuditEvent, AuditTag, Outcome, record, verify
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.risk import Providers, collect, queries, services
from carewall.risk.services import AnswerInput, RiskInput

DEMO = Caller.cli("demo")
OWNER = "Dana Whitfield, practice manager"
IT = "Northside IT (managed service)"

# This year's answers by people (measured questions are left to the evidence).
CURRENT: dict[str, tuple[str, str, str]] = {
    "mfa-remote": ("yes", IT, "VPN and the remote support tool both require an authenticator."),
    "mfa-email": ("yes", IT, "Microsoft 365 security defaults on; legacy protocols blocked."),
    "email-filtering": ("yes", IT, "Defender for Office 365 Plan 1: safe attachments and links."),
    "email-authentication": ("partial", IT, "SPF and DKIM published; DMARC at p=none."),
    "email-external-tag": ("yes", IT, ""),
    "email-encryption": ("yes", OWNER, "Message encryption available; staff use the portal."),
    "web-filtering": ("partial", IT, "DNS filtering at the office, not on laptops at home."),
    "backup-regular": ("yes", IT, "Nightly image backups of the server."),
    "backup-offline": ("yes", IT, "Immutable cloud copy with 30-day object lock."),
    "backup-encrypted": ("yes", IT, ""),
    "backup-tested": ("partial", IT, "File restores tested; no full restore this year."),
    "backup-separate-credentials": ("no", IT, "Backup console uses a domain admin account."),
    "pam-separate-accounts": ("yes", IT, ""),
    "pam-no-local-admin": ("partial", IT, "Two front-desk PCs still have local admin."),
    "pam-review": ("no", OWNER, ""),
    "edr-deployed": ("yes", IT, "On all 14 workstations and the server."),
    "edr-monitored": ("partial", IT, "Alerts reviewed in business hours only."),
    "patch-critical": ("yes", IT, "Automatic updates; monthly patch day for the server."),
    "vuln-scanning": ("no", IT, ""),
    "ir-plan": ("yes", OWNER, "Two-page plan with the insurer's breach hotline."),
    "ir-tested": ("no", OWNER, "Tabletop booked for next quarter."),
    "ir-notification": ("yes", OWNER, ""),
    "log-central": ("partial", IT, "Microsoft 365 and firewall logs kept 90 days; server not."),
    "log-review": ("yes", OWNER, "Monthly access report review, noted in the log book."),
    "train-reporting": ("yes", OWNER, "Report button in Outlook and the analyze page."),
    "harden-rdp": ("yes", IT, "RDP closed at the firewall; reached through the VPN."),
    "harden-baseline": ("partial", IT, "Vendor baseline on new machines only."),
    "harden-disk-encryption": ("yes", IT, "BitLocker on every laptop; phones enrolled in Intune."),
    "eol-none": ("partial", IT, "One Windows 10 PC runs the X-ray software; isolated VLAN."),
    "vendor-inventory": ("yes", OWNER, "Twelve vendors; BAAs on file."),
    "vendor-assessment": ("partial", OWNER, ""),
    "vendor-remote-access": ("yes", IT, ""),
    "gov-officer": ("yes", OWNER, "Practice manager named security official in 2024."),
    "gov-policies": ("yes", OWNER, ""),
    "gov-sanctions": ("yes", OWNER, ""),
    "gov-evaluation": ("partial", OWNER, ""),
    "gov-leadership": ("yes", OWNER, "Twice-yearly report to the partners."),
    "gov-insurance": ("yes", OWNER, "Policy renews in March; ransomware sublimit $250k."),
    "gov-context": ("yes", OWNER, ""),
    "wf-unique-accounts": ("yes", OWNER, ""),
    "wf-onboarding": ("yes", OWNER, ""),
    "wf-offboarding": ("yes", OWNER, "Leaver checklist used for both departures this year."),
    "wf-access-review": ("partial", OWNER, ""),
    "wf-reminders": ("yes", OWNER, ""),
    "wf-data-handling": ("yes", OWNER, ""),
    "acc-role-based": ("yes", OWNER, ""),
    "acc-clearinghouse": ("na", OWNER, ""),
    "data-classification": ("yes", OWNER, ""),
    "data-use": ("yes", OWNER, ""),
    "data-disposal": ("yes", OWNER, "Certified shredding and disk destruction service."),
    "data-contingency": ("partial", OWNER, "Paper fallback written; restore order not yet."),
    "asset-inventory": ("partial", IT, "Computers listed; software not yet."),
    "asset-procurement": ("yes", OWNER, ""),
    "net-segmentation": ("yes", IT, "Staff, devices and guest VLANs."),
    "net-firewall": ("yes", IT, ""),
    "net-guest": ("yes", IT, ""),
    "phys-facility": ("yes", OWNER, ""),
    "phys-maintenance": ("no", OWNER, ""),
    "phys-contingency": ("yes", OWNER, ""),
    "phys-workstations": ("yes", OWNER, ""),
    "ir-information-sharing": ("yes", OWNER, "HC3 and CISA alerts to the practice manager."),
    "md-inventory": ("yes", IT, "ECG cart and X-ray unit listed with support dates."),
    "md-network": ("yes", IT, ""),
    "md-procurement": ("partial", OWNER, ""),
    "doc-retention": ("yes", OWNER, ""),
    "doc-group-health-plan": ("na", OWNER, ""),
}
NA_REASONS = {
    "acc-clearinghouse": "The practice does not run a health care clearinghouse.",
    "doc-group-health-plan": "Staff health cover is bought from a carrier; no self-sponsored plan.",
}
# Last year, before Carewall: the answers that differed.
PREVIOUS_CHANGES = {
    "mfa-remote": "partial",
    "mfa-email": "no",
    "mfa-staff": "no",
    "mfa-privileged": "partial",
    "email-filtering": "partial",
    "backup-offline": "no",
    "backup-tested": "no",
    "edr-deployed": "no",
    "edr-monitored": "no",
    "ir-plan": "no",
    "ir-notification": "partial",
    "train-awareness": "partial",
    "train-phishing": "no",
    "harden-disk-encryption": "partial",
    "gov-officer": "no",
    "gov-risk-analysis": "no",
    "gov-policies": "partial",
    "log-review": "no",
    "wf-offboarding": "partial",
    "net-segmentation": "partial",
}
# Register entries: (HICP threat, owner, due in days, residual L, residual I, status, sections).
REGISTER = {
    "T1": (OWNER, 60, 3, 3, "mitigating", ("mfa", "email", "training")),
    "T2": (IT, 30, 2, 5, "mitigating", ("backups", "edr", "patching", "hardening")),
    "T3": (IT, 90, 2, 2, "mitigating", ("hardening",)),
    "T4": (OWNER, 120, 2, 3, "open", ("workforce", "logging")),
    "T5": (IT, 180, 2, 3, "accepted", ("devices", "assets")),
}
PLAN_TEXT = b"""Northside Family Practice - incident response plan (summary)
1. Isolate: unplug affected machines from the network; do not switch them off.
2. Call: Northside IT, then the insurer's breach hotline, then counsel.
3. Work on paper: downtime forms are in the front-desk cabinet.
4. Notify: counsel decides on HHS, patient and state notifications.
"""


def _answers(previous: bool) -> dict[str, AnswerInput]:
    found = {
        qid: AnswerInput(value, reason=NA_REASONS.get(qid, ""), note=note, owner=owner)
        for qid, (value, owner, note) in CURRENT.items()
    }
    if previous:
        for qid, value in PREVIOUS_CHANGES.items():
            found[qid] = AnswerInput(value, owner=OWNER)
        found = {
            qid: AnswerInput(a.value, reason=a.reason, owner=a.owner) for qid, a in found.items()
        }
    return found


def _verify_audit_chain(runtime: Runtime) -> None:
    """What `carewall audit verify` does, so the demo's audit evidence is measured."""
    result = verify(runtime.db, deep=False)
    tag = AuditTag.CHAIN_VERIFIED if result.ok else AuditTag.CHAIN_BROKEN
    outcome = Outcome.SUCCESS if result.ok else Outcome.FAILURE
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(
                action=tag, outcome=outcome, actor=DEMO.ref, details={"count": result.count}
            ),
        )


def _register(runtime: Runtime) -> None:
    services.add_starter_risks(runtime, DEMO)
    today = utcnow().date()
    with runtime.db.sessions() as session:
        entries = queries.risks(session)
    for entry in entries:
        owner, due, likelihood, impact, status, sections = REGISTER[entry.threat]
        services.update_risk(
            runtime,
            DEMO,
            entry.id,
            RiskInput(
                title=entry.title,
                threat=entry.threat,
                asset=entry.asset,
                vulnerability=entry.vulnerability,
                inherent_likelihood=entry.inherent_likelihood,
                inherent_impact=entry.inherent_impact,
                residual_likelihood=likelihood,
                residual_impact=impact,
                owner=owner,
                due_date=today + timedelta(days=due),
                status=status,
                controls=sections,
            ),
            entry.version,
        )


def seed_risk(runtime: Runtime, providers: Providers) -> None:
    """Register, last year's baseline, this year's completed assessment with an attachment."""
    _verify_audit_chain(runtime)
    _register(runtime)
    services.record_past_assessment(
        runtime,
        DEMO,
        title="Security risk analysis (before Carewall)",
        org_size="small",
        completed_on=(utcnow() - timedelta(days=365)).date(),
        answers=_answers(previous=True),
    )
    current = services.start_assessment(
        runtime, DEMO, title=f"Annual risk assessment {utcnow():%Y}", org_size="small"
    )
    measured = collect(runtime, providers).auto_answers()
    for qid, given in _answers(previous=False).items():
        if qid in measured and measured[qid].answered:
            continue  # Carewall measures it (another module's demo data): the evidence answers
        services.save_answer(runtime, DEMO, providers, current, qid, given)
    services.add_attachment(
        runtime,
        DEMO,
        current,
        "ir-plan",
        filename="incident-response-plan.txt",
        content_type="text/plain",
        data=PLAN_TEXT,
    )
    services.set_cost_figures(
        runtime,
        DEMO,
        {"revenue_per_day": (4000.0, 6500.0, 9000.0)},
        note="From last year's accounts: about $1.6M over 250 clinic days.",
    )
    services.complete_assessment(runtime, DEMO, providers, current)


def risk_seeder(providers: Callable[[], Providers]) -> Seeder:
    """The demo step, given the registry's way to find the evidence providers."""
    return Seeder("risk-assessments", lambda runtime: seed_risk(runtime, providers()), later=True)
