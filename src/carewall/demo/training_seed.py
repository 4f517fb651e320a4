"""Demo seeder for training: a staff directory, groups and assignments in every state.

The directory mixes people with Carewall accounts (the demo logins) and the
many staff without one. Some finished their joining training weeks ago
(with certificates), some are part-way, one is overdue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from carewall.core.clock import local_clock, utcnow
from carewall.core.context import Caller
from carewall.core.mail import NullMailSender
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.training import (
    StaffInput,
    add_member,
    create_group,
    learner_for_link,
    modules,
    queries,
    start_quiz,
    submit_quiz,
    sync_accounts,
)
from carewall.training.directory import org_domains

_SEED = Caller.cli("demo-seed")

#: (email local part, name, department, role, start date)
PEOPLE = (
    ("m.hale", "Dr. Morgan Hale", "Practice management", "Medical director", "2015-03-02"),
    ("p.okafor", "Priya Okafor", "Practice management", "Practice manager", "2018-06-11"),
    ("s.lindqvist", "Sofia Lindqvist", "Clinical", "Physician", "2019-01-07"),
    ("d.tran", "Daniel Tran", "Clinical", "Physician assistant", "2021-09-13"),
    ("a.mensah", "Abena Mensah", "Clinical", "Registered nurse", "2017-04-24"),
    ("r.castillo", "Rosa Castillo", "Clinical", "Registered nurse", "2022-02-14"),
    ("k.obrien", "Kieran O'Brien", "Clinical", "Medical assistant", "2023-05-01"),
    ("l.nakamura", "Lena Nakamura", "Clinical", "Medical assistant", "2020-08-17"),
    ("j.whitfield", "James Whitfield", "Front desk", "Receptionist", "2016-11-28"),
    ("t.adeyemi", "Tolu Adeyemi", "Front desk", "Receptionist", "2024-03-04"),
    ("e.kowalski", "Ewa Kowalski", "Front desk", "Scheduling coordinator", "2021-01-18"),
    ("m.rahman", "Maya Rahman", "Billing", "Billing specialist", "2019-10-07"),
    ("g.ferreira", "Gabriel Ferreira", "Billing", "Coding specialist", "2022-07-25"),
    ("h.becker", "Hannah Becker", "Billing", "Billing specialist", "2025-01-13"),
    ("c.douglas", "Chris Douglas", "Lab", "Phlebotomist", "2020-05-11"),
    ("n.silva", "Nadia Silva", "Lab", "Lab technician", "2018-09-03"),
    ("o.hughes", "Owen Hughes", "IT and facilities", "IT support (contract)", "2023-10-02"),
)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run demo steps as if at `moment` (the demo's history happened before today).

    The clock is moved for this thread only: the later seeding steps run while the
    server answers requests with the real time.
    """
    with local_clock(moment):
        yield


def _people(runtime: Runtime, domain: str, started: datetime) -> None:
    with clock_at(started):
        for local, name, department, role, start in PEOPLE:
            add_member(
                runtime,
                _SEED,
                StaffInput(
                    email=f"{local}@{domain}",
                    name=name,
                    department=department,
                    role=role,
                    manager=f"p.okafor@{domain}",
                    start_date=date.fromisoformat(start),
                ),
                source="csv",
            )
        sync_accounts(runtime, _SEED)
        create_group(runtime, _SEED, "Clinical staff", "department", "Clinical")
        create_group(runtime, _SEED, "Front desk", "department", "Front desk")
        create_group(runtime, _SEED, "Billing office", "department", "Billing")


def _progress(runtime: Runtime, started: datetime) -> None:
    """Most people finished their joining modules; a few did not (one is overdue now)."""
    from carewall.training import new_learner_link

    with runtime.db.sessions() as session:
        rows = queries.assignments(session)
    laggards = {"t.adeyemi", "h.becker", "o.hughes"}
    for index, row in enumerate(sorted(rows, key=lambda r: (r.email, r.module_id))):
        if row.email.split("@")[0] in laggards:
            continue
        when = started + timedelta(days=2 + index % 20, hours=index % 7)
        with clock_at(when):
            url = new_learner_link(runtime, _SEED, row.member_id)
            with runtime.db.sessions() as session:
                learner = learner_for_link(session, url.rsplit("/", 1)[1], _SEED)
            if index % 9 == 4:  # now and then someone needs a second go
                paper = start_quiz(runtime, learner, row.id)
                submit_quiz(runtime, learner, paper.attempt_id, {})
            paper = start_quiz(runtime, learner, row.id)
            answers = {q.id: q.answer for q in paper.questions}
            submit_quiz(runtime, learner, paper.attempt_id, answers)


def demo_runtime(runtime: Runtime) -> Runtime:
    """The runtime as the demo sees it: demo settings (the demo domain) and no real mail."""
    settings = runtime.settings.model_copy(update={"demo": True})
    return dataclasses.replace(runtime, settings=settings, mail=NullMailSender())


def _training(runtime: Runtime) -> None:
    runtime = demo_runtime(runtime)
    domain = sorted(org_domains(runtime.settings))[0]
    started = utcnow() - timedelta(days=45)
    _people(runtime, domain, started)
    if modules():
        _progress(runtime, started)


TRAINING_SEEDER = Seeder("training-directory", _training, later=True)
