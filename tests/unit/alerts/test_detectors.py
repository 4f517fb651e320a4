"""The detectors' logic on hand-made entries (no database): what fires, what does not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from carewall.alerts.detectors import Entry, Failure, Finding, StaffFacts, Tuning
from carewall.alerts.engine import Engine
from carewall.records import PatientFacts

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
READ = "records:resource:read"


class Facts:
    """A tiny practice: one clinician with a panel, a billing clerk, an administrator."""

    def __init__(self) -> None:
        self.people = {
            "user:doc": StaffFacts("user:doc", "clinician", "doc@x.example", "fam-doc", "home-doc"),
            "user:bill": StaffFacts("user:bill", "billing", "bill@x.example"),
            "user:admin": StaffFacts("user:admin", "admin", "admin@x.example"),
        }
        self.failed: list[Failure] = []

    def staff(self, actor: str) -> StaffFacts | None:
        return self.people.get(actor)

    def patient(self, patient_id: str) -> PatientFacts:
        carers = frozenset({"doc@x.example"}) if patient_id.startswith("mine") else frozenset()
        return PatientFacts(
            patient_id,
            exists=True,
            carers=carers,
            family_key="fam-doc" if patient_id == "cousin" else "other",
            deceased=patient_id == "late",
        )

    def failures(self, since: datetime, until: datetime) -> Sequence[Failure]:
        return [f for f in self.failed if since <= f.at <= until]

    def actor_of(self, seq: int) -> str:
        return "user:doc"


def _entries(actor: str, patients: list[str], start: datetime, every: float = 30) -> list[Entry]:
    return [
        Entry(
            i + 1,
            start + timedelta(seconds=every * i),
            actor,
            READ,
            "success",
            "",
            "10.0.0.1",
            "ua",
            {"purpose": "TREAT"},
            (p,),
        )
        for i, p in enumerate(patients)
    ]


def _run(
    entries: list[Entry], facts: Facts | None = None, now: datetime | None = None
) -> list[Finding]:
    """What the engine finds, one per key (as alerts are opened)."""
    engine = Engine(Tuning(), facts or Facts())
    state: dict[str, object] = {}
    found = engine.feed(entries, state)  # type: ignore[arg-type]
    found += engine.tick(now or (entries[-1].ts if entries else MONDAY), state)  # type: ignore[arg-type]
    return list({f.key: f for f in reversed(found)}.values())[::-1]


def test_the_cold_start_cap_fires_once_past_twenty_patients_in_ten_minutes() -> None:
    found = [
        f
        for f in _run(_entries("user:doc", [f"mine{i}" for i in range(25)], MONDAY))
        if f.detector == "volume"
    ]
    assert len(found) == 1
    assert found[0].seqs == (21,)  # the 21st distinct patient crossed the cap


def test_twenty_patients_spread_over_the_day_do_not() -> None:
    spread = _entries("user:doc", [f"mine{i}" for i in range(30)], MONDAY, every=900)
    assert [f for f in _run(spread) if f.detector == "volume"] == []


def test_a_baseline_lets_a_busy_user_be_busy_and_catches_a_spree() -> None:
    entries: list[Entry] = []
    for day in range(7):  # a week of 30 to 36 patients a day, a few minutes apart
        start = MONDAY + timedelta(days=day)
        entries += _entries("user:bill", [f"p{day}-{i}" for i in range(30 + day)], start, 200)
    quiet = _run(entries)
    assert [f for f in quiet if f.detector == "volume"] == []
    spree = _entries("user:bill", [f"x{i}" for i in range(90)], MONDAY + timedelta(days=8), 200)
    for index, entry in enumerate(spree):
        spree[index] = Entry(1000 + index, *list(entry.__dict__.values())[1:])
    found = [f for f in _run(entries + spree) if f.detector == "volume"]
    assert len(found) == 1
    assert "own baseline" in found[0].explanation


def test_rereading_one_chart_all_morning_keeps_one_opening_in_the_window() -> None:
    engine = Engine(Tuning(), Facts())
    state: dict[str, object] = {}
    engine.feed(_entries("user:doc", ["mine1"] * 500, MONDAY, every=1), state)  # type: ignore[arg-type]
    assert state["volume"]["win"] == {
        "user:doc": {"mine1": (MONDAY + timedelta(seconds=499)).timestamp()}
    }  # type: ignore[index]


def test_the_window_of_an_older_state_carries_over() -> None:
    engine = Engine(Tuning(), Facts())
    start = MONDAY.timestamp()
    # The form state held before: every opening as [stamp, patient].
    old = [[start + i, f"mine{i % 20}"] for i in range(40)] + [[start - 3600, "gone"]]
    state: dict[str, object] = {"volume": {"win": {"user:doc": old}}}
    later = MONDAY + timedelta(seconds=60)
    found = engine.feed(_entries("user:doc", ["mine99"], later), state)  # type: ignore[arg-type]
    window = state["volume"]["win"]["user:doc"]  # type: ignore[index]
    assert len(window) == 21
    assert "gone" not in window
    assert window["mine0"] == start + 20  # its last opening
    assert [f.detector for f in found] == ["volume"]  # the 21st distinct patient in the window


def test_relationship_kinds() -> None:
    kinds = {
        f.detector
        for f in _run(_entries("user:doc", ["mine1", "stranger", "cousin", "late"], MONDAY))
    }
    assert kinds == {"no_care", "household", "sensitive"}


def test_break_glass_without_a_clinical_entry_alerts_after_the_follow_up() -> None:
    started = Entry(
        1, MONDAY, "user:doc", "records:emergency:started", "success", "", "", "", {}, ("stranger",)
    )
    found = _run([started], now=MONDAY + timedelta(minutes=30))
    assert [f.key for f in found] == ["break_glass:use:1"]
    later = _run([started], now=MONDAY + timedelta(minutes=61))
    assert {f.key for f in later} == {"break_glass:use:1", "break_glass:idle:1"}
    note = Entry(
        2,
        MONDAY + timedelta(minutes=10),
        "user:doc",
        "records:resource:created",
        "success",
        "",
        "",
        "",
        {},
        ("stranger",),
    )
    followed = _run([started, note], now=MONDAY + timedelta(minutes=61))
    assert {f.key for f in followed} == {"break_glass:use:1"}


def test_credential_stuffing_from_the_throttle_table() -> None:
    facts = Facts()
    facts.failed = [
        Failure(f"a{i}@x.example", "198.51.100.9", MONDAY + timedelta(seconds=i)) for i in range(12)
    ]
    found = _run([], facts, now=MONDAY + timedelta(minutes=5))
    assert [f.detector for f in found] == ["signin"]
    assert found[0].evidence_at == MONDAY + timedelta(seconds=11)


def test_an_admin_on_a_new_network_but_not_on_the_first_sign_in() -> None:
    def sign_in(seq: int, ip: str, when: datetime) -> Entry:
        return Entry(
            seq,
            when,
            "user:admin",
            "identity:login:success",
            "success",
            "",
            ip,
            "Mozilla/5.0 (Windows NT 10.0) Chrome/120",
            {},
        )

    usual = [sign_in(i, "10.0.0.5", MONDAY + timedelta(days=i)) for i in range(1, 4)]
    assert _run(usual) == []
    away = sign_in(9, "203.0.113.50", MONDAY + timedelta(days=5))
    assert [f.title for f in _run([*usual, away])] == ["Administrator signed in from a new network"]


def test_after_hours_needs_a_known_user_without_night_habits() -> None:
    day_work = []
    for day in (0, 1, 2, 3, 4, 7, 8):  # weekdays (Saturday is open too; Sunday is not)
        day_work += _entries("user:doc", ["mine1"], MONDAY + timedelta(days=day))
    night = _entries("user:doc", ["mine2"], MONDAY + timedelta(days=9, hours=13))  # 22:00 UTC
    night = [Entry(500, *list(night[0].__dict__.values())[1:])]
    found = [f for f in _run(day_work + night) if f.detector == "after_hours"]
    assert len(found) == 1
    new_user = [f for f in _run(night) if f.detector == "after_hours"]
    assert new_user == []


def test_a_flagged_access_becomes_an_alert_about_whoever_made_it() -> None:
    flag = Entry(
        40,
        MONDAY,
        "user:patient",
        "records:access:flagged",
        "success",
        "",
        "",
        "",
        {"flagged_seq": 7},
        ("mine1",),
    )
    (found,) = _run([flag])
    assert (found.detector, found.user, found.seqs) == ("patient_flagged", "user:doc", (7, 40))


def test_bulk_search_and_every_staff_export_but_not_a_patients_own() -> None:
    many = tuple(f"p{i}" for i in range(60))
    search = Entry(
        1,
        MONDAY,
        "user:bill",
        "records:search:performed",
        "success",
        "",
        "",
        "",
        {"patients": 60},
        many,
    )
    export = Entry(
        2, MONDAY, "user:doc", "records:export:completed", "success", "", "", "", {}, ("mine1",)
    )
    few = Entry(
        3,
        MONDAY,
        "user:bill",
        "records:search:performed",
        "success",
        "",
        "",
        "",
        {"patients": 3},
        many[:3],
    )
    found = {f.key: f.severity for f in _run([search, export, few])}
    assert found == {"bulk:1": "high", "bulk:2": "medium"}
