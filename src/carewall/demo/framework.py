"""The seeding mechanism; each domain's registration (`carewall.registry`) lists its seeders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.audit import AuditEvent, AuditTag, record
from carewall.core.clock import utcnow
from carewall.core.db import Base, UTCDateTime
from carewall.core.runtime import Runtime

log = logging.getLogger(__name__)


class DemoSeed(Base):
    """A seeder that has already run in this data directory."""

    __tablename__ = "demo_seeds"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class DemoLogin:
    """A demo account to print for people trying Carewall."""

    role: str
    email: str
    password: str


class Phase(StrEnum):
    """Which seeders a call runs: all, those before the server starts, or those after."""

    ALL = "all"
    FIRST = "first"
    LATER = "later"


@dataclass(frozen=True)
class Seeder:
    """A named step that creates demo data once, the logins it made and what to try.

    `later` steps are slow (most patients, the risk assessment, the backup): the demo
    server starts without them and a queued task runs them while it answers, so the
    demo is up in seconds. A later step may rely on every first step having run.
    `notes` are printed at start-up with the logins (names to search for, say).
    """

    name: str
    run: Callable[[Runtime], None]
    logins: tuple[DemoLogin, ...] = ()
    later: bool = False
    notes: tuple[str, ...] = ()


@dataclass
class SeedReport:
    """What a demo start did."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        line = f"{len(self.ran)} seeding steps ran, {len(self.skipped)} were already done"
        if self.pending:
            line += f", {len(self.pending)} follow in the background"
        return line


def _wanted(seeder: Seeder, phase: Phase) -> bool:
    return phase is Phase.ALL or seeder.later == (phase is Phase.LATER)


def seed_demo(runtime: Runtime, seeders: Sequence[Seeder], phase: Phase = Phase.ALL) -> SeedReport:
    """Run every seeder of `phase` that has not run yet in this data directory, in order.

    The report lists every seeder's logins and notes whatever the phase, so the
    start-up banner is whole before the later steps run.
    """
    report = SeedReport()
    for seeder in seeders:
        report.logins.extend(seeder.logins)
        report.notes.extend(seeder.notes)
        with runtime.db.sessions() as session:
            done = session.get(DemoSeed, seeder.name) is not None
        if done:
            report.skipped.append(seeder.name)
            continue
        if not _wanted(seeder, phase):
            report.pending.append(seeder.name)
            continue
        started = time.monotonic()
        seeder.run(runtime)
        log.info("demo: step %s took %.1f s", seeder.name, time.monotonic() - started)
        with runtime.db.transaction() as session:
            session.add(DemoSeed(name=seeder.name, ran_at=utcnow()))
            record(
                session,
                AuditEvent(
                    action=AuditTag.DEMO_SEEDED, actor="system", details={"step": seeder.name}
                ),
            )
        report.ran.append(seeder.name)
    return report
