"""The seeding mechanism; each domain's registration (`carewall.registry`) lists its seeders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.audit import AuditEvent, AuditTag, record
from carewall.core.clock import utcnow
from carewall.core.db import Base, UTCDateTime
from carewall.core.runtime import Runtime


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


@dataclass(frozen=True)
class Seeder:
    """A named step that creates demo data once, and the logins it made."""

    name: str
    run: Callable[[Runtime], None]
    logins: tuple[DemoLogin, ...] = ()


@dataclass
class SeedReport:
    """What a demo start did."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        return f"{len(self.ran)} seeding steps ran, {len(self.skipped)} were already done"


def seed_demo(runtime: Runtime, seeders: Sequence[Seeder]) -> SeedReport:
    """Run every seeder that has not run yet in this data directory, in order."""
    report = SeedReport()
    for seeder in seeders:
        report.logins.extend(seeder.logins)
        with runtime.db.sessions() as session:
            done = session.get(DemoSeed, seeder.name) is not None
        if done:
            report.skipped.append(seeder.name)
            continue
        seeder.run(runtime)
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
