"""Shared steps for simulation tests: a practice with staff, SMTP on loopback, mail parsing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Protocol

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.jobs import RunResult, run_pending
from carewall.phishing.simulation import HEADER
from carewall.registry import install, job_registry
from carewall.training import import_csv
from tests.support.mail import Inbox

DOMAIN = "clinic.example"
BASE_URL = "http://testserver"
STAFF_CSV = """email,name,department,role,manager,start_date
ana.lopez@clinic.example,Ana Lopez,Front desk,Receptionist,pm@clinic.example,2021-04-01
ben.cho@clinic.example,Ben Cho,Billing,Billing specialist,pm@clinic.example,2019-09-15
cara.diaz@clinic.example,Cara Diaz,Clinical,Registered nurse,pm@clinic.example,2020-02-03
"""


class HasPort(Protocol):
    """An SMTP server on loopback (the shared Inbox or a test's own sink)."""

    port: int


def mailing_settings(settings: Settings, inbox: HasPort, **extra: object) -> Settings:
    """The test's settings with loopback SMTP, the practice's domain and a public URL.

    The tests run the jobs themselves (`run_jobs`), so an app they open runs none in the
    background: its job loop ticks every few seconds and could claim a queued send while
    the test's own run skips it as taken, leaving the test to look at an inbox whose
    mail was still on its way (seen once under load: 0 of 2 messages received).
    """
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_starttls": False,
            "mail_org_domains": [DOMAIN],
            "base_url": BASE_URL,
            "jobs_in_process": False,
            **extra,
        }
    )


@contextmanager
def practice(settings: Settings) -> Iterator[Runtime]:
    """An opened, installed runtime with three people in the staff directory."""
    runtime = install(open_runtime(settings))
    try:
        report = import_csv(runtime, Caller.cli(), STAFF_CSV)
        assert report.created == 3
        assert not report.errors
        yield runtime
    finally:
        runtime.close()


def run_jobs(runtime: Runtime, worker: str = "test-worker") -> list[RunResult]:
    """Run every due task (repeat until the queue is quiet)."""
    done: list[RunResult] = []
    for _ in range(20):
        results = run_pending(runtime, job_registry(), worker=worker)
        done.extend(results)
        if not [r for r in results if r.trigger == "queue"]:
            break
    return done


def simulations(inbox: Inbox) -> dict[str, Message]:
    """Received simulated messages by recipient address."""
    return {str(m["To"]): m for m in inbox.messages if m[HEADER]}


def text_part(message: Message) -> str:
    """The plain-text alternative."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def html_part(message: Message) -> str:
    """The HTML alternative."""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def tracked_paths(message: Message) -> dict[str, str]:
    """The click, report and pixel paths (without the base URL) of a message."""
    text, html = text_part(message), html_part(message)
    click = re.search(rf"{BASE_URL}(/s/c/[A-Za-z0-9_-]+)", text)
    report = re.search(rf"{BASE_URL}(/s/r/[A-Za-z0-9_-]+)", text)
    pixel = re.search(rf"{BASE_URL}(/s/o/[A-Za-z0-9_-]+\.gif)", html)
    assert click, text
    assert report, text
    assert pixel, html
    return {"click": click.group(1), "report": report.group(1), "pixel": pixel.group(1)}
