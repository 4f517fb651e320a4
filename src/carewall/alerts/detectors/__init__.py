"""The detectors, and the catalogue of what each alert kind means (for pages, docs, CLI).

`build` returns the detectors that read the trail; the mass-change detector
runs on the request path instead (`alerts.masschange`) and is only listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from carewall.alerts.detectors.access import (
    AfterHoursDetector,
    RelationshipDetector,
    VolumeDetector,
)
from carewall.alerts.detectors.base import (
    SEVERITY_ORDER,
    Detector,
    Entry,
    Facts,
    Failure,
    Finding,
    Severity,
    StaffFacts,
    State,
    Tuning,
)
from carewall.alerts.detectors.events import (
    BreakGlassDetector,
    BulkDetector,
    FlaggedDetector,
    SignInDetector,
)

__all__ = [
    "CATALOGUE",
    "SEVERITY_ORDER",
    "Detector",
    "Entry",
    "Facts",
    "Failure",
    "Finding",
    "Kind",
    "Severity",
    "StaffFacts",
    "State",
    "Tuning",
    "build",
]


@dataclass(frozen=True)
class Kind:
    """One kind of alert: its id, title, plain explanation and usual severity."""

    id: str
    title: str
    explanation: str
    severity: Severity


def build(tuning: Tuning) -> list[Detector]:
    """Every detector that reads the audit trail, in the order they see each entry."""
    return [
        VolumeDetector(tuning),
        RelationshipDetector(tuning),
        AfterHoursDetector(tuning),
        BreakGlassDetector(tuning),
        BulkDetector(tuning),
        SignInDetector(tuning),
        FlaggedDetector(tuning),
    ]


CATALOGUE: dict[str, Kind] = {
    kind.id: kind
    for kind in (
        Kind("volume", VolumeDetector.title, VolumeDetector.explanation, Severity.HIGH),
        Kind(
            "no_care",
            "Record opened without a care relationship",
            "A clinician opened a patient with no encounter, appointment or care team naming them.",
            Severity.MEDIUM,
        ),
        Kind(
            "household",
            "Own record or household",
            "A member of staff opened their own record, or a patient with the same family "
            "name or address as theirs.",
            Severity.HIGH,
        ),
        Kind(
            "sensitive",
            "VIP, employee, restricted or deceased record",
            "A member of staff opened a VIP, employee, restricted or deceased patient's "
            "record without a care relationship.",
            Severity.HIGH,
        ),
        Kind(
            "after_hours", AfterHoursDetector.title, AfterHoursDetector.explanation, Severity.MEDIUM
        ),
        Kind(
            "break_glass", BreakGlassDetector.title, BreakGlassDetector.explanation, Severity.MEDIUM
        ),
        Kind("bulk", BulkDetector.title, BulkDetector.explanation, Severity.HIGH),
        Kind("signin", SignInDetector.title, SignInDetector.explanation, Severity.HIGH),
        Kind("patient_flagged", FlaggedDetector.title, FlaggedDetector.explanation, Severity.HIGH),
        Kind(
            "mass_change",
            "Ransomware-like mass change",
            "One session or token updated or deleted more records in a short time than the "
            "limit allows: it is suspended at once (integration accounts are only alerted on).",
            Severity.CRITICAL,
        ),
    )
}
