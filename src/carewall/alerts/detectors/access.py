"""Detectors over staff access to patient records: volume, care relationship, household,
sensitive records, after hours.

"Opening" a patient is reading a resource of their record or its history
(`records:resource:read`, `records:history:read`); a search that merely lists
patients is the wide-search detector's concern. Patients reading their own
record and tooling (`cli`, `job:*`) are never subjects of these detectors.
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from carewall.alerts.detectors.base import (
    Entry,
    Facts,
    Finding,
    Severity,
    StaffFacts,
    State,
    TunedDetector,
    Tuning,
    allowed,
)
from carewall.core.roles import Role
from carewall.records.facts import PatientFacts

OPEN_ACTIONS = frozenset({"records:resource:read", "records:history:read"})
EMERGENCY = "ETREAT"
_MIN_HISTORY_DAYS = 5
_AFTER_HOURS_MEMORY_DAYS = 30
_NEW_USER_DAYS = 7


def opener(entry: Entry, facts: Facts, tuning: Tuning) -> StaffFacts | None:
    """The member of staff who opened a patient with this entry (None: not such an entry)."""
    if entry.action not in OPEN_ACTIONS or entry.outcome != "success" or not entry.patients:
        return None
    if not entry.actor.startswith("user:"):
        return None
    staff = facts.staff(entry.actor)
    if staff is None or staff.role in {Role.PATIENT, Role.INTEGRATION}:
        return None
    return None if allowed(tuning, staff, entry.actor) else staff


def _stamp(ts: datetime) -> float:
    return ts.timestamp()


def _last_openings(openings: list[list[Any]]) -> dict[str, float]:
    """Each patient's last opening, from the `[stamp, patient]` pairs state held before."""
    last: dict[str, float] = {}
    for stamp, patient in openings:
        last[patient] = max(stamp, last.get(patient, stamp))
    return last


def _threshold(counts: list[int], tuning: Tuning) -> float:
    """median + k * MAD of daily distinct-patient counts, never below the floor."""
    mid = median(counts)
    mad = median(abs(c - mid) for c in counts)
    return max(float(tuning.min_daily), mid + tuning.mad_factor * max(mad, 1.0))


class VolumeDetector(TunedDetector):
    """Far more distinct patients than usual: the user's own baseline, their role peers',
    and an absolute cap while there is no baseline yet."""

    id = "volume"
    title = "Unusual number of patients opened"
    explanation = (
        "A member of staff opened far more distinct patients than usual: above the median "
        "plus a multiple of the median absolute deviation of their own days over the last "
        "weeks (or, while they have too few days, of the days of others in the same role), "
        "or, with no history at all, more than the cold-start cap within a few minutes."
    )
    severity = Severity.HIGH
    actions = OPEN_ACTIONS

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        staff = opener(entry, facts, self.tuning)
        if staff is None:
            return []
        day = self.tuning.day(entry.ts)
        today = state.setdefault("today", {}).setdefault(entry.actor, {"day": day, "p": []})
        history = state.setdefault("hist", {}).setdefault(entry.actor, {})
        if today["day"] != day:
            history[today["day"]] = len(today["p"])
            for old in sorted(history)[: max(len(history) - self.tuning.baseline_days, 0)]:
                del history[old]
            today.update(day=day, p=[])
        seen = set(today["p"])
        new = [p for p in entry.patients if p not in seen]
        today["p"].extend(new)
        state.setdefault("role", {})[entry.actor] = staff.role
        window = self._window(entry, state)
        return self._judge(entry, staff, day, len(today["p"]), window, state)

    def _window(self, entry: Entry, state: State) -> int:
        """Distinct patients the actor opened within the volume window up to this entry.

        Kept as each patient's last opening, not as every opening: a clinician who
        reads the same chart all morning made the list, and the work of each entry,
        grow with every read (the scan of a busy day's trail went quadratic).
        """
        windows = state.setdefault("win", {})
        recent = windows.get(entry.actor)
        if not isinstance(recent, dict):  # absent, or the list of openings of old
            recent = _last_openings(recent or [])
            windows[entry.actor] = recent
        stamp = _stamp(entry.ts)
        for patient in entry.patients:
            recent[patient] = max(stamp, recent.get(patient, stamp))
        horizon = stamp - self.tuning.volume_window.total_seconds()
        for patient in [p for p, last in recent.items() if last < horizon]:
            del recent[patient]
        return len(recent)

    def _judge(
        self, entry: Entry, staff: StaffFacts, day: str, count: int, window: int, state: State
    ) -> list[Finding]:
        fired = state.setdefault("fired", {})
        if fired.get(entry.actor) == day:
            return []  # one volume alert per person a day
        found = self._verdict(entry, staff, day, count, window, state)
        if found:
            fired[entry.actor] = day
        return found

    def _verdict(
        self, entry: Entry, staff: StaffFacts, day: str, count: int, window: int, state: State
    ) -> list[Finding]:
        own = list(state["hist"].get(entry.actor, {}).values())
        limit, basis = None, ""
        if len(own) >= _MIN_HISTORY_DAYS:
            limit, basis = _threshold(own, self.tuning), "their own baseline"
        else:
            peers = self._peer_days(entry.actor, staff.role, state)
            if len(peers) >= _MIN_HISTORY_DAYS:
                limit, basis = _threshold(peers, self.tuning), f"the baseline of {staff.role} peers"
        if limit is not None and count > limit:
            return [self._finding(entry, day, count, f"above {basis} ({limit:.0f} a day)")]
        if len(own) < _MIN_HISTORY_DAYS and window > self.tuning.volume_cap:
            minutes = int(self.tuning.volume_window.total_seconds() // 60)
            why = f"{window} in {minutes} minutes, above the cold-start cap"
            return [self._finding(entry, day, count, why)]
        return []

    def _peer_days(self, actor: str, role: str, state: State) -> list[int]:
        roles = state.get("role", {})
        days: list[int] = []
        for other, history in state.get("hist", {}).items():
            if other != actor and roles.get(other) == role and len(history) >= _MIN_HISTORY_DAYS:
                days.extend(history.values())
        return days

    def _finding(self, entry: Entry, day: str, count: int, why: str) -> Finding:
        return Finding(
            detector=self.id,
            severity=self.severity,
            user=entry.actor,
            title=f"{count} distinct patients opened on {day}",
            explanation=f"{count} distinct patients today: {why}.",
            key=f"volume:{entry.actor}:{day}",
            seqs=(entry.seq,),
            evidence_at=entry.ts,
            facts={"patients_today": count},
        )


class RelationshipDetector(TunedDetector):
    """Records a member of staff should have no reason to open: no care relationship
    (clinicians), their own household, VIP / employee / restricted / deceased records."""

    id = "relationship"
    title = "Record opened without a care relationship"
    explanation = (
        "A clinician opened a patient with no encounter, appointment or care team naming "
        "them; or anyone on staff opened a record sharing their family name or address (or "
        "their own record), or a VIP, employee, restricted or deceased patient without a "
        "care relationship."
    )
    severity = Severity.MEDIUM
    actions = OPEN_ACTIONS

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        staff = opener(entry, facts, self.tuning)
        if staff is None or len(entry.patients) != 1:
            return []
        pid = entry.patients[0]
        patient = facts.patient(pid)
        if not patient.exists:
            return []
        emergency = entry.details.get("purpose") == EMERGENCY
        found = self._judge(staff, pid, patient, emergency)
        if found is None:
            return []
        kind, severity, why = found
        day = self.tuning.day(entry.ts)
        return [
            Finding(
                detector=f"{kind}",
                severity=severity,
                user=entry.actor,
                title=why,
                explanation=f"{why} ({staff.role}).",
                # One no-care alert per person a day (a spree is one alert, linked to
                # its first entry); the rarer kinds, one per patient.
                key=f"{kind}:{entry.actor}:{day}"
                if kind == "no_care"
                else f"{kind}:{entry.actor}:{pid}:{day}",
                seqs=(entry.seq,),
                evidence_at=entry.ts,
                facts={"patient": pid},
            )
        ]

    def _judge(
        self, staff: StaffFacts, key: str, patient: PatientFacts, emergency: bool
    ) -> tuple[str, Severity, str] | None:
        if staff.own_patient and staff.own_patient == key:
            return "household", Severity.HIGH, "Opened their own patient record"
        same_family = bool(staff.family_key) and staff.family_key == patient.family_key
        same_address = bool(staff.address_key) and staff.address_key == patient.address_key
        if same_family or same_address:
            what = "family name" if same_family else "address"
            return "household", Severity.HIGH, f"Opened a patient with the same {what}"
        cared = staff.email.lower() in patient.carers
        if cared or emergency:
            return None
        for flag, words in (
            (patient.deceased, "a deceased patient"),
            (patient.vip, "a VIP patient"),
            (patient.employee, "an employee's record"),
            (patient.restricted, "a restricted record"),
        ):
            if flag:
                return "sensitive", Severity.HIGH, f"Opened {words} without a care relationship"
        if staff.role == "clinician":
            return "no_care", Severity.MEDIUM, "Opened a patient without a care relationship"
        return None


class AfterHoursDetector(TunedDetector):
    """Access outside practice hours by someone who does not usually work then."""

    id = "after_hours"
    title = "Access outside practice hours"
    explanation = (
        "A member of staff opened a patient outside the practice's hours (or on a closed "
        "day), and has not done so in the previous 30 days."
    )
    severity = Severity.MEDIUM
    actions = OPEN_ACTIONS

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        staff = opener(entry, facts, self.tuning)
        if staff is None:
            return []
        day = self.tuning.day(entry.ts)
        first = state.setdefault("first", {}).setdefault(entry.actor, day)
        if not self.tuning.after_hours(entry.ts):
            return []
        nights: list[str] = state.setdefault("nights", {}).setdefault(entry.actor, [])
        recent = [n for n in nights if _days_between(n, day) <= _AFTER_HOURS_MEMORY_DAYS]
        known = _days_between(first, day) >= _NEW_USER_DAYS
        habitual = any(n != day for n in recent)
        nights[:] = sorted({*recent, day})
        if not known or habitual:
            return []
        local = self.tuning.local(entry.ts)
        return [
            Finding(
                detector=self.id,
                severity=self.severity,
                user=entry.actor,
                title=f"Records opened at {local:%H:%M} on {local:%A}",
                explanation=(
                    f"Opened a patient at {local:%H:%M} local time, outside practice hours, "
                    "with no such access in the previous 30 days."
                ),
                key=f"after_hours:{entry.actor}:{day}",
                seqs=(entry.seq,),
                evidence_at=entry.ts,
            )
        ]


def _days_between(earlier: str, later: str) -> int:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).days
