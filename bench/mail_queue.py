"""Reported-mail queue benchmark: one page of sealed reports against the bare query.

Run by hand: `uv run python bench/mail_queue.py [--reports 3000]`.
The queue sorts and filters on clear columns in the database and decrypts only
the page it shows; this prints, for a queue of thousands of reports, the time
of a page (first and last) against the same page's query without decryption,
and against decrypting every report (what a queue that filtered in memory
would cost). PostgreSQL is included when CAREWALL_TEST_POSTGRES_URL is set.
All figures come from one run on one machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.core.crypto import encrypt
from carewall.core.runtime import Runtime, open_runtime
from carewall.phishing import queries, services
from carewall.phishing.models import MailReport
from carewall.phishing.sealing import REPORT_KEY, Summary, seal_summary

console = Console(width=150)
ORIGIN = Origin(ip="", user_agent="bench")
MESSAGE = b"""From: "IT" <it@micros0ft-support.example>
To: nurse@clinic.example
Subject: Urgent: your mailbox password expires today
Date: Mon, 23 Nov 2026 09:00:00 +0000
Content-Type: text/html

<p>Verify <a href="https://evil-login.example/verify">your account</a> now.</p>
"""


def fill(runtime: Runtime, count: int) -> None:
    """One report analyzed for real, then `count` sealed copies with their own ids."""
    template = services.report_message(runtime, "u-1", MESSAGE, "upload", ORIGIN)
    key = runtime.keys.data_key(REPORT_KEY)
    signals = [s.to_dict() for s in template.verdict.signals]
    start = utcnow() - timedelta(days=30)
    with runtime.db.transaction() as session:
        for n in range(count):
            report_id = str(uuid.uuid4())
            summary = Summary(f"Report {n}", "it@micros0ft-support.example", signals)
            session.add(
                MailReport(
                    id=report_id,
                    reporter_id=f"u-{n % 40}",
                    received_at=start + timedelta(minutes=n),
                    message_date=None,
                    source="upload",
                    summary_sealed=seal_summary(key, report_id, summary),
                    raw_sealed=encrypt(key, MESSAGE, report_id.encode()),
                    raw_size=len(MESSAGE),
                    verdict="phishing",
                    score=template.verdict.score,
                    status=("new", "safe", "confirmed_phish")[n % 3],
                )
            )


def best_ms(work: Callable[[], object], repeat: int) -> float:
    """Median of `repeat` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def bare_page(runtime: Runtime, page: int) -> list[MailReport]:
    """The page's query alone: sorted and sliced in the database, nothing decrypted."""
    size = queries.PAGE_SIZE
    query = (
        select(MailReport)
        .order_by(MailReport.received_at.desc(), MailReport.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    )
    with runtime.db.sessions() as session:
        return list(session.scalars(query))


def decrypt_all(runtime: Runtime) -> int:
    """What an in-memory queue would do: decrypt every report, then sort and slice."""
    key = runtime.keys.data_key(REPORT_KEY)
    with runtime.db.sessions() as session:
        rows = list(session.scalars(select(MailReport)))
    return len([queries.summary_of(key, r) for r in rows])


def measure(runtime: Runtime, count: int, repeat: int) -> list[tuple[str, float]]:
    last_new = -(-((count + 2) // 3) // queries.PAGE_SIZE)  # a third of them are new
    return [
        ("query only, page 1 (baseline)", best_ms(lambda: bare_page(runtime, 1), repeat)),
        ("queue page 1 (decrypts 50)", best_ms(lambda: queries.queue(runtime, page=1), repeat)),
        (
            f"queue 'new', last page ({last_new})",
            best_ms(lambda: queries.queue(runtime, "new", page=last_new), repeat),
        ),
        (f"decrypt all {count} (not done)", best_ms(lambda: decrypt_all(runtime), 3)),
    ]


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    name = f"cw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(label: str, home: Path, url: str | None, count: int, repeat: int) -> Table:
    runtime = open_runtime(Settings(home=home, database_url=url))
    try:
        fill(runtime, count)
        rows = measure(runtime, count, repeat)
    finally:
        runtime.close()
    baseline = rows[0][1]
    table = Table(title=f"{label}: {count:,} reported messages, pages of {queries.PAGE_SIZE}")
    table.add_column("What")
    table.add_column("ms (median)", justify="right")
    table.add_column("ratio to baseline", justify="right")
    for what, ms in rows:
        table.add_row(what, f"{ms:.1f}", f"{ms / baseline:.1f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        console.print(run("SQLite", Path(tmp) / "sqlite", None, args.reports, args.repeat))
        base = os.environ.get("CAREWALL_TEST_POSTGRES_URL")
        if base:
            with postgres_url(base) as url:
                table = run("PostgreSQL", Path(tmp) / "pg", url, args.reports, args.repeat)
                console.print(table)


if __name__ == "__main__":
    main()
