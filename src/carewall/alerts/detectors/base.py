"""What every detector shares: the entries it reads, the facts it asks, what it finds.

Detectors are plain objects over a stream of audit entries in trail order.
They keep what they must remember (windows, baselines, pending checks) in a
JSON-able `state` dict that the engine stores with the cursor, so a run picks
up where the last one stopped, on any worker. They ask about people through
`Facts` (staff role and e-mail, care relationships, flags of a record), which
the engine backs with identity and records and the benchmark with its own
generated practice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from carewall.core.config import Settings
from carewall.records.facts import PatientFacts

State = dict[str, Any]
# Local dates of UTC hours (every zone's offset is a whole number of quarter hours,
# so the hour start decides the date except in zones off by 30 or 45 minutes, where
# `day` is at most 45 minutes early or late at midnight: immaterial for baselines).
_DAYS: dict[tuple[str, datetime], str] = {}


class Severity(StrEnum):
    """How urgent an alert is; high and critical are mailed at once."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


@dataclass(frozen=True)
class Entry:
    """An audit entry as the detectors see it: `patients` are the patient ids it names."""

    seq: int
    ts: datetime
    actor: str
    action: str
    outcome: str
    subject: str
    ip: str
    user_agent: str
    details: Mapping[str, Any]
    patients: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffFacts:
    """What the detectors know about an account: role, e-mail and keyed household facts."""

    ref: str
    role: str
    email: str
    family_key: str = ""
    address_key: str = ""
    own_patient: str | None = None


@dataclass(frozen=True)
class Failure:
    """One failed sign-in from the throttle table (account as typed, source address)."""

    account: str
    ip: str
    at: datetime


class Facts(Protocol):
    """Questions detectors ask about people; answers may be cached for a run."""

    def staff(self, actor: str) -> StaffFacts | None:
        """The account behind an audit actor (`user:<id>`), None for tooling or unknown."""

    def patient(self, patient_id: str) -> PatientFacts:
        """Facts about a patient (no values from the record)."""

    def failures(self, since: datetime, until: datetime) -> Sequence[Failure]:
        """Failed sign-ins recorded in the throttle table between two times."""

    def actor_of(self, seq: int) -> str:
        """The actor of an earlier audit entry ("" when there is none)."""


@dataclass(frozen=True)
class Finding:
    """One thing a detector thinks a person should look at.

    `key` deduplicates: the engine opens at most one alert per key.
    `evidence_at` is when the trail held all the evidence (the newest triggering
    entry, or the deadline a check waited for).
    """

    detector: str
    severity: Severity
    user: str
    title: str
    explanation: str
    key: str
    seqs: tuple[int, ...]
    evidence_at: datetime
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tuning:
    """Detector settings, read once from `Settings` (the benchmark builds its own)."""

    volume_cap: int = 20
    volume_window: timedelta = timedelta(minutes=10)
    baseline_days: int = 28
    mad_factor: float = 8.0
    min_daily: int = 40
    hours_start: int = 7
    hours_end: int = 19
    open_days: frozenset[int] = frozenset({0, 1, 2, 3, 4, 5})
    zone: str = "UTC"
    bulk_patients: int = 50
    followup: timedelta = timedelta(minutes=60)
    break_glass_repeat: int = 3
    stuffing_accounts: int = 10
    lockouts: int = 3
    allow: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Tuning:
        """The tuning in force under these settings."""
        return cls(
            volume_cap=settings.alerts_volume_cap,
            volume_window=timedelta(minutes=settings.alerts_volume_window_minutes),
            baseline_days=settings.alerts_volume_baseline_weeks * 7,
            mad_factor=settings.alerts_volume_mad_factor,
            min_daily=settings.alerts_volume_min_daily,
            hours_start=settings.alerts_practice_hours_start,
            hours_end=settings.alerts_practice_hours_end,
            open_days=frozenset(settings.alerts_practice_days),
            zone=settings.practice_timezone,
            bulk_patients=settings.alerts_bulk_patients,
            followup=timedelta(minutes=settings.alerts_break_glass_followup_minutes),
            break_glass_repeat=settings.alerts_break_glass_repeat,
            stuffing_accounts=settings.alerts_stuffing_accounts,
            lockouts=settings.alerts_lockouts,
            allow=frozenset(a.strip().lower() for a in settings.alerts_allow_users),
        )

    def local(self, ts: datetime) -> datetime:
        """`ts` in the practice's time zone."""
        return ts.astimezone(ZoneInfo(self.zone))

    def after_hours(self, ts: datetime) -> bool:
        """Whether `ts` falls outside practice hours (or on a closed day)."""
        local = self.local(ts)
        if local.weekday() not in self.open_days:
            return True
        opens, closes = time(self.hours_start), time(min(self.hours_end, 23), 59, 59)
        if self.hours_end < 24:
            closes = time(self.hours_end)
        return not (opens <= local.time() < closes)

    def day(self, ts: datetime) -> str:
        """The practice's local date of `ts` (ISO), the unit of baselines."""
        hour = ts.replace(minute=0, second=0, microsecond=0)
        found = _DAYS.get((self.zone, hour))
        if found is None:
            found = self.local(hour).date().isoformat()
            if len(_DAYS) > 10_000:
                _DAYS.clear()
            _DAYS[(self.zone, hour)] = found
        return found


class Detector(Protocol):
    """One detector: an id, a plain explanation, a severity, and what it does per entry."""

    id: str
    title: str
    explanation: str
    severity: Severity
    #: The audit actions `feed` looks at (the engine hands it no other entry).
    actions: frozenset[str]

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        """Look at one entry (in trail order); return what it finds now."""

    def tick(self, now: datetime, state: State, facts: Facts) -> list[Finding]:
        """At the end of a run: checks whose deadline passed, window upkeep."""


class TunedDetector:
    """What every detector starts from: its `Tuning`, and nothing to do on a clock tick.

    Most detectors find only as entries arrive; those with deadlines or windows to
    check when no entry comes (break-glass follow-up, sign-in attacks) override `tick`.
    """

    def __init__(self, tuning: Tuning) -> None:
        self.tuning = tuning

    def tick(self, now: datetime, state: State, facts: Facts) -> list[Finding]:
        """At the end of a run: nothing is due."""
        return []


def allowed(tuning: Tuning, staff: StaffFacts | None, actor: str) -> bool:
    """Whether the allow-list exempts this actor from the access detectors."""
    if not tuning.allow:
        return False
    names = {actor.lower()}
    if staff is not None:
        names.add(staff.email.lower())
    return bool(names & tuning.allow)
