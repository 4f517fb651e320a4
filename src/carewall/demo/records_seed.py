"""Demo seeders for the record vault: 26 Synthea patients shipped in the package.

The bundles live in `carewall/demo/data/synthea/` (gzipped FHIR transaction
Bundles, Apache-2.0, see the README there). The portal patient's is imported
before the server starts, the rest by a later step while the server already
answers; that step also restricts one record (a VIP). Bundle file names
carry patient names, so nothing here prints or logs a file name: only counts.

A later step then gives the practice a past: the clinician has opened several
charts (the clinician's home lists them), used emergency access on the
restricted record last week, and the portal patient has flagged a front-desk
access they did not recognise (the officer's home shows it).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.demo.training_seed import clock_at
from carewall.identity import Role, queries
from carewall.records import Purpose
from carewall.records.access import get_record_for, search_for
from carewall.records.bundles.importer import import_file
from carewall.records.portal.accounting import Who, access_events, flag_access
from carewall.records.services import restrict_compartment, start_break_glass, stop_break_glass

log = logging.getLogger(__name__)
_SYSTEM = Caller.cli("demo", user_agent="demo-seed")
_ORIGIN = Origin(ip="10.20.0.15", user_agent="demo-seed")
_BROWSER = Origin(
    ip=_ORIGIN.ip, user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0"
)

#: Imported before the server starts: the portal patient (the portal seeder links it).
FIRST = ("Angelic_Mueller_",)
PORTAL_FAMILY = "Mueller"
RESTRICTED_FAMILY = "Melendez"
#: Charts the demo clinician opened (family names), most recent last.
CLINICIAN_CHARTS = ("Lang", "Hartmann", "Balistreri", "Johns", "Breitenberg", "Mueller")


def bundle_dir() -> Path:
    """The demo practice's bundles inside the installed package."""
    return Path(str(files("carewall.demo") / "data" / "synthea"))


def _bundles(first: bool) -> list[Path]:
    every = sorted(bundle_dir().glob("*.json.gz"))
    return [p for p in every if p.name.startswith(FIRST) == first]


def _import(runtime: Runtime, bundles: list[Path]) -> None:
    reports = [import_file(runtime, _SYSTEM, file) for file in bundles]
    failed = sum(1 for report in reports if report.error is not None)
    log.info("demo: imported %d Synthea bundle(s), %d failed", len(reports) - failed, failed)


def patients_named(runtime: Runtime, family: str) -> list[str]:
    """Ids of the stored patients with this family name (exact, accents ignored)."""
    found = search_for(runtime, _SYSTEM, "Patient", {"family": [family]}, Purpose.SYSTEM)
    return sorted(str(p["id"]) for p in found)


def _first(runtime: Runtime) -> None:
    _import(runtime, _bundles(first=True))


def _more(runtime: Runtime) -> None:
    """Every other patient; restrict one (VIP), so the demo shows the break-glass screen."""
    _import(runtime, _bundles(first=False))
    restricted = patients_named(runtime, RESTRICTED_FAMILY)
    if restricted:
        restrict_compartment(runtime, _SYSTEM, restricted[0], "vip")


def _staff_actor(runtime: Runtime, email: str, role: Role, session_id: str | None = None) -> Caller:
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    if user_id is None:
        raise RuntimeError(f"the demo account {email} is missing")
    return Caller.for_user(user_id, role, email=email, origin=_BROWSER, session_id=session_id)


def _activity(runtime: Runtime) -> None:
    """Chart reads, a past emergency access and a patient's flag, as they would have happened."""
    now = utcnow()
    clinician = _staff_actor(runtime, "clinician@clinic.example", Role.CLINICIAN)
    for hours, family in enumerate(reversed(CLINICIAN_CHARTS)):
        for patient_id in patients_named(runtime, family)[:1]:
            with clock_at(now - timedelta(hours=2 + hours * 5)):
                get_record_for(runtime, clinician, "Patient", patient_id, Purpose.TREATMENT)
                search_for(
                    runtime, clinician, "Condition", {"patient": [patient_id]}, Purpose.TREATMENT
                )
    _break_glass_history(runtime)
    _portal_flag(runtime)


def _break_glass_history(runtime: Runtime) -> None:
    """Last week the clinician opened the restricted record in an emergency, then closed it."""
    restricted = patients_named(runtime, RESTRICTED_FAMILY)
    if not restricted:
        return
    started = utcnow() - timedelta(days=6, hours=3)
    clinician = _staff_actor(
        runtime, "clinician@clinic.example", Role.CLINICIAN, session_id="demo-history"
    )
    with clock_at(started):
        grant = start_break_glass(
            runtime,
            clinician,
            restricted[0],
            "unable-to-consent",
            "Brought in unconscious after a fall; needed allergies and current medication.",
            minutes=60,
        )
    with clock_at(started + timedelta(minutes=4)):
        get_record_for(runtime, clinician, "Patient", restricted[0], Purpose.EMERGENCY)
        search_for(
            runtime,
            clinician,
            "AllergyIntolerance",
            {"patient": [restricted[0]]},
            Purpose.EMERGENCY,
        )
    with clock_at(started + timedelta(minutes=22)):
        stop_break_glass(runtime, clinician, grant, restricted[0])


def _portal_flag(runtime: Runtime) -> None:
    """The portal patient does not recognise the front desk's look at their record."""
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "patient@clinic.example")
    portal = patients_named(runtime, PORTAL_FAMILY)
    if user_id is None or not portal:
        return
    staff = [e for e in access_events(runtime, portal[0]) if e.who is Who.STAFF]
    front_desk = [e for e in staff if e.role == Role.FRONT_DESK.value]
    if not front_desk:
        return
    patient = Caller.for_user(user_id, Role.PATIENT, patient_id=portal[0], origin=_ORIGIN)
    flag_access(
        runtime,
        patient,
        front_desk[-1].seq,
        "I have not been to the practice since spring; who looked at my record?",
    )


RECORDS_SEEDER = Seeder("records-synthea", _first)
RECORDS_MORE_SEEDER = Seeder(
    "records-synthea-more",
    _more,
    later=True,
    notes=(
        "Patients to look for: Breitenberg (three of them), Balistreri (two), Lang, Johns; "
        "Melendez is restricted (emergency access); Mueller is the portal patient.",
    ),
)
RECORDS_ACTIVITY_SEEDER = Seeder("records-activity", _activity, later=True)
