"""Measure the detectors on a generated month of a small practice, with injected incidents.

Run by hand: ``uv run python bench/detectors.py [--tune-seed 1] [--report-seed 2]``.

For each seed the bench generates a practice (clinicians in care teams with
their patient panels and schedules, front desk, billing, an administrator, a
night-shift clinician), a month of ordinary work with its noise (covering
colleagues who share a care team, front-desk lookups and searches, daily
billing runs, typos at sign-in, clinicians updating records), and injects
incidents of every kind at random times after the first week. The month's
audit entries are written through the audit services into a scratch SQLite
database, in the form the app writes them (records' keyed patient references
and sealed ids). The detectors then read the trail as the job does, one tick
every 30 s of simulated time; the mass-change detector's handler gets every
update and delete of the month on the scratch database as the request path
would give them.

Reported per detector: precision, recall over the incidents it should catch,
false alerts per 10 staff per week, detection delay (from the entry that
completed the evidence to the tick that opened the alert), and throughput
(entries per second read and detected, against reading and parsing the same
entries without detection, same run). The thresholds are the settings'
defaults, chosen on the tuning seed; the report seed is unseen.

Facts about people (care teams, family names, VIP and deceased flags) come
from the generated practice through the detectors' `Facts` protocol, not from
an encrypted vault: the throughput figure covers reading, unsealing patient
ids and detecting, not the vault look-ups (cached per run in production).
"""

from __future__ import annotations

import argparse
import bisect
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from carewall.alerts.detectors import Failure, Finding, Severity, StaffFacts, State, Tuning
from carewall.alerts.engine import Engine, EntryReader
from carewall.alerts.masschange import on_record_changed
from carewall.alerts.models import Alert
from carewall.audit import AuditEntryView, AuditEvent, entries_after, record_about
from carewall.core.clock import set_clock
from carewall.core.config import Settings
from carewall.core.runtime import Runtime, open_runtime
from carewall.records import PatientFacts, RecordChanged, RecordKeys, audit_ref
from carewall.records.access.audit_patients import patient_part
from carewall.registry import install

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
DAYS = 28
TICK = timedelta(seconds=30)
KINDS = (
    "volume",
    "no_care",
    "household",
    "sensitive",
    "after_hours",
    "break_glass",
    "bulk",
    "stuffing",
    "lockouts",
    "admin_new_device",
    "flagged",
    "mass_change",
)
EXPECTED = {
    "volume": {"volume"},
    "no_care": {"no_care"},
    "household": {"household"},
    "sensitive": {"sensitive"},
    "after_hours": {"after_hours"},
    "break_glass": {"break_glass"},
    "bulk": {"bulk"},
    "stuffing": {"signin"},
    "lockouts": {"signin"},
    "admin_new_device": {"signin"},
    "flagged": {"patient_flagged"},
    "mass_change": {"mass_change"},
}
SURNAMES = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Haddad",
    "Novak",
    "Tanaka",
    "Silva",
    "Brennan",
    "Kowalski",
    "Dubois",
    "Ivanova",
    "Mensah",
    "Costa",
    "Becker",
    "Nakamura",
    "Reyes",
    "Fischer",
    "Oyelaran",
    "Larsen",
    "Rossi",
    "Schmidt",
    "Walsh",
    "Kaur",
    "Petrov",
]


@dataclass
class Person:
    ref: str
    role: str
    email: str
    family: str
    start_hour: int = 8
    end_hour: int = 17


@dataclass
class Incident:
    kind: str
    user: str
    start: datetime
    end: datetime
    found_by: set[str] = field(default_factory=set)


@dataclass
class Event:
    ts: datetime
    action: str
    actor: str
    patients: tuple[str, ...] = ()
    ip: str = "10.0.1.20"
    ua: str = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"
    details: dict[str, object] = field(default_factory=dict)
    subject: str = ""
    flag_of: int | None = None  # index of the flagged event


class Practice:
    """The generated practice: people, patients and their facts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.staff: list[Person] = []
        for i in range(8):
            self.staff.append(
                Person(
                    f"user:clin{i}", "clinician", f"clin{i}@clinic.example", rng.choice(SURNAMES)
                )
            )
        night = Person(
            "user:night0", "clinician", "night0@clinic.example", rng.choice(SURNAMES), 18, 23
        )
        self.staff.append(night)
        for i in range(4):
            self.staff.append(
                Person(
                    f"user:desk{i}", "front_desk", f"desk{i}@clinic.example", rng.choice(SURNAMES)
                )
            )
        for i in range(2):
            self.staff.append(
                Person(f"user:bill{i}", "billing", f"bill{i}@clinic.example", rng.choice(SURNAMES))
            )
        self.staff.append(Person("user:admin0", "admin", "admin0@clinic.example", "Ward"))
        self.by_ref = {p.ref: p for p in self.staff}
        clinicians = [p for p in self.staff if p.role == "clinician"]
        # Care teams of two clinicians share panels (covering colleagues see shared patients).
        self.teams = [clinicians[i : i + 2] for i in range(0, len(clinicians), 2)]
        self.patients: dict[str, PatientFacts] = {}
        self.panel: dict[str, list[str]] = defaultdict(list)
        staff_families = {p.family for p in self.staff}
        for n in range(900):
            pid = f"pat{n:04d}"
            team = self.teams[n % len(self.teams)]
            family = rng.choice([s for s in SURNAMES if s not in staff_families] or ["Quill"])
            self.patients[pid] = PatientFacts(
                pid,
                exists=True,
                deceased=rng.random() < 0.02,
                vip=rng.random() < 0.01,
                employee=False,
                family_key=family,
                address_key=f"addr{n}",
                carers=frozenset(c.email for c in team),
            )
            for c in team:
                self.panel[c.ref].append(pid)
        # Relatives of staff: same family name, no care link to them.
        self.relatives: dict[str, str] = {}
        for person in self.staff:
            pid = f"rel-{person.ref[5:]}"
            self.patients[pid] = PatientFacts(
                pid, exists=True, family_key=person.family, address_key=f"home-{person.ref}"
            )
            self.relatives[person.ref] = pid
        self.flagged_people = [p for p, f in self.patients.items() if f.vip or f.deceased]
        self.ordinary = [
            p
            for p, f in self.patients.items()
            if not (f.vip or f.deceased) and not p.startswith("rel-")
        ]

    def staff_facts(self, ref: str) -> StaffFacts | None:
        person = self.by_ref.get(ref)
        if person is None:
            return None
        return StaffFacts(
            ref, person.role, person.email, family_key=person.family, address_key=f"home-{ref}"
        )


class BenchFacts:
    """`Facts` from the generated practice."""

    def __init__(self, practice: Practice, failures: list[Failure]) -> None:
        self.practice = practice
        self.failures_sorted = sorted(failures, key=lambda f: f.at)
        self.times = [f.at for f in self.failures_sorted]
        self.actors: dict[int, str] = {}
        self.by_ref: dict[str, str] = {}

    def know_refs(self, keys: RecordKeys) -> None:
        """The keyed reference of every patient, as the vault's facts are found by id."""
        self.by_ref = {audit_ref(keys, pid): pid for pid in self.practice.patients}

    def staff(self, actor: str) -> StaffFacts | None:
        return self.practice.staff_facts(actor)

    def patient(self, patient_id: str) -> PatientFacts:
        real = self.by_ref.get(patient_id, patient_id)
        return self.practice.patients.get(real, PatientFacts(real))

    def failures(self, since: datetime, until: datetime) -> Sequence[Failure]:
        lo = bisect.bisect_left(self.times, since)
        hi = bisect.bisect_right(self.times, until)
        return self.failures_sorted[lo:hi]

    def actor_of(self, seq: int) -> str:
        return self.actors.get(seq, "")


def _at(day: int, hour: float) -> datetime:
    return START + timedelta(days=day, hours=hour)


def _workday(day: int) -> bool:
    return (START + timedelta(days=day)).weekday() < 5


def ordinary_month(practice: Practice) -> tuple[list[Event], list[Failure]]:
    """A month of normal work with its noise."""
    rng = practice.rng
    events: list[Event] = []
    failures: list[Failure] = []
    for day in range(DAYS):
        for person in practice.staff:
            night = person.ref.startswith("user:night")
            if not night and not _workday(day):
                continue
            start = person.start_hour + rng.random() * 0.5
            events.append(Event(_at(day, start), "identity:login:success", person.ref))
            if rng.random() < 0.05:
                failures.append(Failure(person.email, "10.0.1.20", _at(day, start - 0.01)))
            events.extend(_workday_of(practice, person, day, start))
    return events, failures


def _workday_of(practice: Practice, person: Person, day: int, start: float) -> list[Event]:
    rng = practice.rng
    length = person.end_hour - start - 0.2
    out: list[Event] = []

    def when() -> datetime:
        return _at(day, start + rng.random() * length)

    if person.role == "clinician":
        team = next(t for t in practice.teams if any(c.ref == person.ref for c in t))
        panel = practice.panel[person.ref]
        for _ in range(rng.randint(12, 22)):
            pid = rng.choice(panel)
            for _ in range(rng.randint(1, 4)):
                out.append(
                    Event(
                        when(),
                        "records:resource:read",
                        person.ref,
                        (pid,),
                        details={"resource_type": "Observation", "purpose": "TREAT"},
                    )
                )
            if rng.random() < 0.5:
                out.append(
                    Event(
                        when(),
                        "records:resource:updated",
                        person.ref,
                        (pid,),
                        details={"resource_type": "Observation"},
                    )
                )
        del team
    elif person.role == "front_desk":
        for _ in range(rng.randint(25, 45)):
            found = tuple(rng.sample(practice.ordinary, rng.randint(1, 3)))
            out.append(
                Event(
                    when(),
                    "records:search:performed",
                    person.ref,
                    found,
                    details={"resource_type": "Patient", "count": len(found)},
                )
            )
            out.append(
                Event(
                    when(),
                    "records:resource:read",
                    person.ref,
                    (found[0],),
                    details={"resource_type": "Patient", "purpose": "HOPERAT"},
                )
            )
    elif person.role == "billing":
        run = _at(day, start + 1)
        for i, pid in enumerate(rng.sample(practice.ordinary, rng.randint(25, 35))):
            out.append(
                Event(
                    run + timedelta(seconds=40 * i),
                    "records:resource:read",
                    person.ref,
                    (pid,),
                    details={"resource_type": "Claim", "purpose": "HPAYMT"},
                )
            )
    return out


def inject(practice: Practice, events: list[Event], failures: list[Failure]) -> list[Incident]:
    """Two incidents of every kind at random times after the first week."""
    rng = practice.rng
    incidents: list[Incident] = []
    clinicians = [p for p in practice.staff if p.role == "clinician" and "night" not in p.ref]
    anyone = [p for p in practice.staff if p.role != "admin"]
    for kind in KINDS:
        for _ in range(2):
            day = rng.choice([d for d in range(8, DAYS) if _workday(d)])
            hour = 9 + rng.random() * 6
            start = _at(day, hour)
            who = rng.choice(
                clinicians if kind in {"no_care", "break_glass", "mass_change"} else anyone
            )
            incidents.append(_one(practice, kind, who, start, events, failures))
    return incidents


def _one(
    practice: Practice,
    kind: str,
    who: Person,
    start: datetime,
    events: list[Event],
    failures: list[Failure],
) -> Incident:
    rng = practice.rng
    others = [p for p in practice.ordinary if who.email not in practice.patients[p].carers]
    end = start
    if kind == "volume":
        victims = rng.sample(others, rng.randint(60, 120))
        for i, pid in enumerate(victims):
            end = start + timedelta(seconds=45 * i)
            events.append(
                Event(
                    end,
                    "records:resource:read",
                    who.ref,
                    (pid,),
                    details={"resource_type": "Patient", "purpose": "TREAT"},
                )
            )
    elif kind in {"no_care", "sensitive", "household", "flagged"}:
        pid = {
            "no_care": lambda: rng.choice(others),
            "sensitive": lambda: rng.choice(
                [p for p in practice.flagged_people if who.email not in practice.patients[p].carers]
            ),
            "household": lambda: practice.relatives[who.ref],
            "flagged": lambda: rng.choice(others),
        }[kind]()
        events.append(
            Event(
                start,
                "records:resource:read",
                who.ref,
                (pid,),
                details={"resource_type": "Condition", "purpose": "TREAT"},
            )
        )
        if kind == "flagged":
            end = start + timedelta(days=2)
            events.append(
                Event(
                    end, "records:access:flagged", f"user:pt-{pid}", (pid,), flag_of=len(events) - 1
                )
            )
    elif kind == "after_hours":
        start = start.replace(hour=22, minute=rng.randint(0, 50))
        end = start + timedelta(minutes=5)
        for pid in rng.sample(practice.ordinary, 3):
            events.append(
                Event(
                    start,
                    "records:resource:read",
                    who.ref,
                    (pid,),
                    details={"resource_type": "Patient", "purpose": "TREAT"},
                )
            )
    elif kind == "break_glass":
        pid = rng.choice(others)
        events.append(
            Event(
                start, "records:emergency:started", who.ref, (pid,), details={"reason": "emergency"}
            )
        )
        events.append(
            Event(
                start + timedelta(minutes=1),
                "records:resource:read",
                who.ref,
                (pid,),
                details={"resource_type": "Condition", "purpose": "ETREAT"},
            )
        )
        end = start + timedelta(hours=1)
    elif kind == "bulk":
        found = tuple(rng.sample(practice.ordinary, 200))
        events.append(
            Event(
                start,
                "records:search:performed",
                who.ref,
                found,
                details={"resource_type": "Patient", "count": 200},
            )
        )
    elif kind == "stuffing":
        ip = f"198.51.100.{rng.randint(2, 250)}"
        for i in range(30):
            end = start + timedelta(seconds=20 * i)
            failures.append(Failure(f"guess{i}@clinic.example", ip, end))
        who = Person("", "", "", "")
    elif kind == "lockouts":
        for i in range(4):
            end = start + timedelta(minutes=5 * i)
            events.append(
                Event(end, "identity:account:locked", "system", subject=practice.staff[i].ref)
            )
        who = Person("", "", "", "")
    elif kind == "admin_new_device":
        who = practice.by_ref["user:admin0"]
        network = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
        browser = rng.choice(
            [
                "X11; Linux) Firefox/121.0",
                "Macintosh; Mac OS X) Safari/17",
                "iPhone; CPU iPhone OS 17) Safari/17",
                "Android 14) Chrome/120",
            ]
        )
        events.append(
            Event(
                start,
                "identity:login:success",
                who.ref,
                ip=f"{network}.{rng.randint(2, 250)}",
                ua=f"Mozilla/5.0 ({browser}",
            )
        )
    elif kind == "mass_change":
        pid = rng.choice(practice.panel[who.ref])
        for i in range(40):
            end = start + timedelta(seconds=1.2 * i)
            events.append(
                Event(
                    end,
                    "records:resource:deleted",
                    who.ref,
                    (pid,),
                    details={"resource_type": "Observation", "channel": "burst"},
                )
            )
    return Incident(kind, who.ref, start, end)


def write_trail(runtime: Runtime, events: list[Event], facts: BenchFacts) -> None:
    """The month's entries through the audit services, in time order (the clock set to each)."""
    keys = RecordKeys.from_keystore(runtime.keys)
    order = sorted(range(len(events)), key=lambda i: events[i].ts)
    seq_of: dict[int, int] = {}
    now = [START]
    set_clock(lambda: now[0])
    try:
        for chunk in range(0, len(order), 1000):
            with runtime.db.transaction() as session:
                for index in order[chunk : chunk + 1000]:
                    event = events[index]
                    now[0] = event.ts
                    details = dict(event.details)
                    if event.flag_of is not None:
                        details["flagged_seq"] = seq_of.get(event.flag_of, 0)
                    part = patient_part(keys, event.patients, otherwise=event.subject or "Patient")
                    entry = record_about(
                        session,
                        AuditEvent(
                            action=event.action,
                            actor=event.actor,
                            subject=part.subject if event.patients else event.subject,
                            source_ip=event.ip,
                            user_agent=event.ua,
                            details={**details, **part.details},  # type: ignore[dict-item]
                        ),
                        part.further,
                    )
                    seq_of[index] = entry.seq
                    facts.actors[entry.seq] = event.actor
    finally:
        set_clock(None)


@dataclass
class Opened:
    finding: Finding
    at: datetime


def detect(runtime: Runtime, facts: BenchFacts) -> tuple[list[Opened], dict[str, float]]:
    """Throughput (one catch-up pass, as a run after downtime reads the trail), then the
    month again with a tick every 30 s of simulated time for the alerts and their delays."""
    keys = RecordKeys.from_keystore(runtime.keys)
    timing: dict[str, float] = {}
    began = time.perf_counter()
    count = sum(len(batch) for batch in _batches(runtime))
    timing["read"] = time.perf_counter() - began
    timing["entries"] = count

    began = time.perf_counter()
    engine, reader = Engine(Tuning(), facts), EntryReader(keys)
    state: State = {}
    for batch in _batches(runtime):
        engine.feed([reader.entry(v) for v in batch], state)
    engine.tick(START + timedelta(days=DAYS + 1), state)
    timing["detect"] = time.perf_counter() - began

    reader = EntryReader(keys)
    entries = [reader.entry(v) for batch in _batches(runtime) for v in batch]
    engine, state = Engine(Tuning(), facts), {}
    opened: list[Opened] = []
    keys_seen: set[str] = set()
    position, ticks = 0, 0
    tick = START + TICK
    began = time.perf_counter()
    while tick <= START + timedelta(days=DAYS + 1):
        upto = position
        while upto < len(entries) and entries[upto].ts <= tick:
            upto += 1
        found = engine.feed(entries[position:upto], state)
        found += engine.tick(tick, state)
        position, ticks = upto, ticks + 1
        for finding in found:
            if finding.key not in keys_seen:
                keys_seen.add(finding.key)
                opened.append(Opened(finding, tick))
        tick += TICK
    timing["simulated"] = time.perf_counter() - began
    timing["ticks"] = ticks
    return opened, timing


def _batches(runtime: Runtime) -> list[list[AuditEntryView]]:
    """Every entry, read and parsed in the detector job's batches."""
    batches, last = [], 0
    with runtime.db.read_transaction() as session:
        while batch := entries_after(session, last, 2000):
            batches.append(batch)
            last = batch[-1].seq
    return batches


def mass_change(runtime: Runtime, events: list[Event], practice: Practice) -> list[Opened]:
    """Every update and delete of the month through the request-path handler."""
    settings = runtime.settings
    opened: list[Opened] = []
    changes = sorted(
        (e for e in events if e.action in {"records:resource:updated", "records:resource:deleted"}),
        key=lambda e: e.ts,
    )
    for e in changes:
        day = (e.ts - START).days
        channel = (
            f"token:{e.actor}-{day}" if e.details.get("channel") else f"session:{e.actor}-{day}"
        )
        role = practice.by_ref[e.actor].role
        event = RecordChanged(
            "deleted" if e.action.endswith("deleted") else "updated",
            "Observation",
            "x",
            e.actor,
            role,
            channel,
            e.ip,
            e.ua,
            e.ts,
        )
        with runtime.db.transaction() as session:
            count = session.scalar(select(func.count()).select_from(Alert)) or 0
            on_record_changed(settings, session, event)
            session.flush()
            if (session.scalar(select(func.count()).select_from(Alert)) or 0) > count:
                finding = Finding(
                    detector="mass_change",
                    severity=Severity.CRITICAL,
                    user=e.actor,
                    title="",
                    explanation="",
                    key=f"mc:{channel}",
                    seqs=(),
                    evidence_at=e.ts,
                )
                opened.append(Opened(finding, e.ts))
    return opened


def score(incidents: list[Incident], opened: list[Opened], staff: int) -> None:
    """Print precision, recall, false alerts and delays per detector."""
    slack = timedelta(hours=2)
    true_alerts: dict[str, int] = defaultdict(int)
    false_alerts: dict[str, int] = defaultdict(int)
    delays: dict[str, list[float]] = defaultdict(list)
    false_list: list[str] = []
    for item in opened:
        f = item.finding
        matched = [
            i
            for i in incidents
            if (i.user == f.user or (not i.user and not f.user))
            and i.start - timedelta(minutes=1) <= f.evidence_at <= i.end + slack
        ]
        if matched:
            true_alerts[f.detector] += 1
            delays[f.detector].append((item.at - f.evidence_at).total_seconds())
            for incident in matched:
                incident.found_by.add(f.detector)
        else:
            false_alerts[f.detector] += 1
            false_list.append(f"{f.detector}: {f.user} {f.evidence_at:%a %d %H:%M} {f.title}")
    weeks = DAYS / 7
    print(
        f"  {'detector':<16}{'alerts':>7}{'prec':>7}{'recall':>8}"
        f"{'FP/10staff/wk':>15}{'max delay s':>13}"
    )
    detectors = sorted({d for s in EXPECTED.values() for d in s})
    for d in detectors:
        kinds = [k for k, s in EXPECTED.items() if d in s]
        mine = [i for i in incidents if i.kind in kinds]
        hit = sum(1 for i in mine if d in i.found_by)
        total = true_alerts[d] + false_alerts[d]
        precision = true_alerts[d] / total if total else float("nan")
        recall = hit / len(mine) if mine else float("nan")
        fp_rate = false_alerts[d] / (staff / 10) / weeks
        delay = max(delays[d]) if delays[d] else float("nan")
        print(f"  {d:<16}{total:>7}{precision:>7.2f}{recall:>8.2f}{fp_rate:>15.2f}{delay:>13.0f}")
    caught = sum(1 for i in incidents if i.found_by & EXPECTED[i.kind])
    all_false = sum(false_alerts.values())
    print(
        f"  overall: recall {caught / len(incidents):.2f} ({caught}/{len(incidents)} incidents), "
        f"{all_false / (staff / 10) / weeks:.2f} false alerts per 10 staff per week, "
        f"max delay {max((x for v in delays.values() for x in v), default=0):.0f} s"
    )
    missed = [
        f"{i.kind}@{i.start:%d %H:%M}" for i in incidents if not i.found_by & EXPECTED[i.kind]
    ]
    if missed:
        print(f"  missed: {', '.join(missed)}")
    for line in false_list:
        print(f"  false alert: {line}")


def run(seed: int, label: str) -> None:
    rng = random.Random(seed)
    practice = Practice(rng)
    events, failures = ordinary_month(practice)
    incidents = inject(practice, events, failures)
    with tempfile.TemporaryDirectory() as scratch:
        runtime = install(open_runtime(Settings(home=Path(scratch))))
        try:
            facts = BenchFacts(practice, failures)
            facts.know_refs(RecordKeys.from_keystore(runtime.keys))
            began = time.perf_counter()
            write_trail(runtime, events, facts)
            wrote = time.perf_counter() - began
            opened, timing = detect(runtime, facts)
            opened += mass_change(runtime, events, practice)
        finally:
            runtime.close()
    count = int(timing["entries"])
    print(
        f"\n{label} (seed {seed}): {len(practice.staff)} staff, {len(practice.patients)} patients, "
        f"{count} audit entries over {DAYS} days ({wrote:.1f} s to write), "
        f"{len(incidents)} incidents"
    )
    score(incidents, opened, len(practice.staff))
    read_only, detecting = timing["read"], timing["detect"]
    print(
        f"  throughput: read+parse {count / read_only:,.0f} entries/s; "
        f"read+parse+detect {count / detecting:,.0f} entries/s; "
        f"ratio {read_only / detecting:.2f} (target >= 0.5)"
    )
    per_tick = (timing["simulated"] / timing["ticks"]) * 1e6
    print(
        f"  {int(timing['ticks'])} runs of 30 s simulated: {per_tick:.0f} us per run "
        "on average (feeding that run's entries included)"
    )


PROFILE = str(Path(tempfile.gettempdir()) / "carewall-detectors.prof")


def profile(seed: int) -> None:
    """Where detection time goes (`--profile`)."""
    import cProfile
    import pstats

    cProfile.runctx("run(seed, 'Profiled month')", globals(), {"seed": seed, "run": run}, PROFILE)
    pstats.Stats(PROFILE).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune-seed", type=int, default=1)
    parser.add_argument("--report-seed", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile(args.tune_seed)
        return
    run(args.tune_seed, "Tuning month")
    run(args.report_seed, "Report month (unseen seed)")


if __name__ == "__main__":
    main()
