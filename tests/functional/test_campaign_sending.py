"""Sending a campaign: never twice, never lost, refusals recorded, a restart mid-send survived."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.jobs import JobContext
from carewall.phishing.simulation import HEADER
from carewall.phishing.simulation.campaigns import LaunchRequest, launch
from carewall.phishing.simulation.results import campaigns, recipient_results
from carewall.phishing.simulation.sending import send_batch
from tests.functional.campaign_helpers import mailing_settings, practice, run_jobs
from tests.support.clock import FrozenClock

PEOPLE = tuple(f"person{n:02d}@clinic.example" for n in range(12))


class Sink:
    """An SMTP server on loopback that can refuse an address, defer once, or stall one message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []
        self.refuse: set[str] = set()
        self.defer_once: set[str] = set()
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self.released = threading.Event()
        # Connections that spoke before the release: a killed worker's. What they sent
        # may still be read after the release on a loaded machine; it must not count.
        self._before_release: list[SmtpSession] = []

    async def handle_RCPT(  # noqa: N802 - the hook name aiosmtpd calls
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        if not self.released.is_set() and not self._spoke_before_release(session):
            self._before_release.append(session)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content)
        to = str(message["To"])
        if to in self.defer_once:
            self.defer_once.discard(to)
            return "451 4.3.0 Try again later"
        simulated = [m for m in self.messages if m[HEADER]]
        if self.released.is_set() and self.stalled.is_set() and self._spoke_before_release(session):
            return "451 4.3.0 Not accepted"  # a dead worker's message, read late
        stalling = self.stall_after is not None and not self.released.is_set()
        if message[HEADER] and stalling and len(simulated) >= (self.stall_after or 0):
            self.stalled.set()  # every client now waits for our answer to its DATA...
            await asyncio.to_thread(self.released.wait, 120)
            return "451 4.3.0 Not accepted"  # ...and never gets a 250 for these
        self.messages.append(message)
        return "250 Message accepted"

    def _spoke_before_release(self, session: SmtpSession) -> bool:
        return any(s is session for s in self._before_release)

    def simulated_to(self) -> Counter[str]:
        """How many simulated messages each address received."""
        return Counter(str(m["To"]) for m in self.messages if m[HEADER])


@contextmanager
def sink() -> Iterator[Sink]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Sink(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        box.released.set()
        controller.stop()


@pytest.fixture
def box() -> Iterator[Sink]:
    with sink() as server:
        yield server


@pytest.fixture
def quiet_settings(settings: Settings, box: Sink) -> Settings:
    """Loopback SMTP and no joining or annual training (so only simulations are mailed)."""
    return mailing_settings(
        settings,
        box,
        training_joining_modules=[],
        training_annual_modules=[],
    )


def _launch(runtime: Runtime, people: tuple[str, ...] = PEOPLE) -> str:
    request = LaunchRequest(template_id="it-mfa-reset", emails=people, now=True)
    return launch(runtime, Caller.cli(), request)


def _statuses(runtime: Runtime, campaign_id: str) -> Counter[str]:
    with runtime.db.sessions() as session:
        return Counter(r.status for r in recipient_results(session, campaign_id))


def test_two_workers_on_the_same_batch_send_each_message_once(
    quiet_settings: Settings, box: Sink
) -> None:
    with practice(quiet_settings) as runtime:
        campaign_id = _launch(runtime)

        def worker(name: str) -> None:
            context = JobContext(runtime, Caller.job("phishing.campaign.send"), utcnow(), name)
            send_batch(context, {"campaign_id": campaign_id, "batch": 0})

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run_jobs(runtime)  # the queued task finds nothing left to send
        assert box.simulated_to() == Counter(dict.fromkeys(PEOPLE, 1))
        assert _statuses(runtime, campaign_id) == {"sent": len(PEOPLE)}
        with runtime.db.sessions() as session:
            assert campaigns(session)[0].status == "finished"


def test_refusals_are_recorded_and_deferrals_retried(
    quiet_settings: Settings, box: Sink, clock: FrozenClock
) -> None:
    box.refuse.add(PEOPLE[0])
    box.defer_once.add(PEOPLE[1])
    with practice(quiet_settings) as runtime:
        campaign_id = _launch(runtime, PEOPLE[:4])
        run_jobs(runtime)  # the deferral fails the batch; the runner retries it later
        clock.advance(minutes=5)
        run_jobs(runtime)
        with runtime.db.sessions() as session:
            rows = {r.email: r for r in recipient_results(session, campaign_id)}
        assert rows[PEOPLE[0]].status == "refused"
        assert "550" in (rows[PEOPLE[0]].error or "")
        assert rows[PEOPLE[1]].status == "sent", "a 4xx is retried"
        assert _statuses(runtime, campaign_id) == {"sent": 3, "refused": 1}
        assert box.simulated_to() == Counter(dict.fromkeys(PEOPLE[1:4], 1))


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    env.update(
        {
            "CAREWALL_HOME": str(settings.home),
            "CAREWALL_DATABASE_URL": settings.effective_database_url,
            "CAREWALL_SMTP_HOST": settings.smtp_host,
            "CAREWALL_SMTP_PORT": str(settings.smtp_port),
            "CAREWALL_SMTP_STARTTLS": "false",
            "CAREWALL_MAIL_ORG_DOMAINS": '["clinic.example"]',
            "CAREWALL_BASE_URL": settings.public_url,
            "CAREWALL_TRAINING_JOINING_MODULES": "[]",
            "CAREWALL_TRAINING_ANNUAL_MODULES": "[]",
        }
    )
    return env


def test_a_worker_killed_mid_send_neither_loses_nor_duplicates_mail(
    quiet_settings: Settings, box: Sink, clock: FrozenClock
) -> None:
    box.stall_after = 5  # after 5 messages the server stops answering DATA: the worker hangs
    with practice(quiet_settings) as runtime:
        campaign_id = _launch(runtime)
        worker = subprocess.Popen(
            [sys.executable, "-m", "carewall", "jobs", "run"],
            env=_worker_env(quiet_settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert box.stalled.wait(timeout=120), "the worker never reached the 6th message"
            _wait_until(lambda: _statuses(runtime, campaign_id)["sent"] == 5)
            worker.send_signal(signal.SIGKILL)  # killed while waiting for the server
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        box.released.set()
        time.sleep(0.2)
        assert sum(box.simulated_to().values()) == 5
        at_kill = _statuses(runtime, campaign_id)
        assert at_kill["sent"] == 5
        assert at_kill["sending"] >= 1, "claims held by the dead worker"

        # Another worker starts after the dead one's leases ran out and finishes the job.
        clock.now = utcnow() + timedelta(minutes=15)
        run_jobs(runtime, worker="after-restart")
        assert box.simulated_to() == Counter(dict.fromkeys(PEOPLE, 1)), "none lost, none twice"
        assert _statuses(runtime, campaign_id) == {"sent": len(PEOPLE)}
        with runtime.db.sessions() as session:
            resent = [
                r for r in recipient_results(session, campaign_id) if r.resent_after_interrupt
            ]
        assert len(resent) == at_kill["sending"], "interrupted sends are flagged for the admin"


def _wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
