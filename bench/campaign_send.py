"""Campaign sending and tracking throughput, each against a baseline measured in the same run.

Run by hand: `uv run python bench/campaign_send.py [--recipients 5000] [--requests 2000]`.

(a) Messages per second for a campaign to N recipients sent "now" through the
    job runner (claim, render, sign, SMTP, mark sent and audit, per recipient)
    to a loopback SMTP sink in its own process, as a ratio of plain `smtplib`
    sending the same, already-built messages over one connection to the same
    sink. Target: ratio >= 0.5.
(b) Requests per second of the open pixel `/s/o/<rid>.gif` (which records an
    event and audits it) against `/healthz` on the same server process, timed
    in alternating blocks. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import Message
from pathlib import Path

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from rich.console import Console
from rich.table import Table

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.jobs import run_pending
from carewall.phishing.simulation.campaigns import LaunchRequest, launch
from carewall.phishing.simulation.library import builtin
from carewall.phishing.simulation.marker import SIMULATION_KEY, sign
from carewall.phishing.simulation.render import Envelope as SimEnvelope
from carewall.phishing.simulation.render import Person, build_message
from carewall.phishing.simulation.results import figures, tracking_ids
from carewall.registry import create_app, install, job_registry
from carewall.training import import_csv
from harness import start_server, timed_gets, timed_pair  # bench/ is on sys.path when run

console = Console(width=120)
DOMAIN = "clinic.example"


class _Counter:
    """The sink: accepts and counts, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        self.count += 1
        return "250 OK"


def sink(port: int) -> None:
    """Child process: an SMTP sink on loopback until killed."""
    controller = Controller(_Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    asyncio.run(asyncio.sleep(3600))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, __file__, "--sink", str(port)])
    for _ in range(100):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp:
                smtp.noop()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the SMTP sink did not start")


def _settings(home: Path, port: int) -> Settings:
    return Settings(
        home=home,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_org_domains=[DOMAIN],
        base_url="http://127.0.0.1:8000",
        training_joining_modules=[],
        training_annual_modules=[],
        jobs_in_process=False,
    )


def _staff(runtime: Runtime, count: int) -> None:
    rows = "\n".join(f"user{n:05d}@{DOMAIN},User {n},Dept {n % 7},Staff" for n in range(count))
    report = import_csv(runtime, Caller.cli(), "email,name,department,role\n" + rows)
    assert report.created == count, report.errors[:3]


def carewall_rate(runtime: Runtime) -> tuple[float, str]:
    """Launch now and run the job runner until the campaign is sent: messages per second."""
    started = time.perf_counter()
    request = LaunchRequest(template_id="ehr-password-expiry", group="everyone", now=True)
    campaign_id = launch(runtime, Caller.cli(), request)
    registry = job_registry()
    while run_pending(runtime, registry, worker="bench"):
        pass
    elapsed = time.perf_counter() - started
    with runtime.db.sessions() as session:
        sent = figures(session, campaign_id).funnel["sent"]
    return sent / elapsed, campaign_id


def smtplib_rate(runtime: Runtime, port: int, count: int) -> float:
    """The same messages, built beforehand, sent with plain smtplib over one connection."""
    scenario = builtin("ehr-password-expiry")
    key = runtime.keys.data_key(SIMULATION_KEY)
    campaign = "00000000-0000-4000-8000-000000000000"
    messages: list[Message] = []
    for n in range(count):
        rid = f"benchrecipient{n:08d}"
        envelope = SimEnvelope(campaign, rid, f"<{rid}@x.example>", sign(key, campaign, rid))
        person = Person(f"user{n:05d}@{DOMAIN}", f"User {n}")
        messages.append(build_message(scenario, person, runtime.settings, envelope))
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for message in messages:
            smtp.send_message(message)
    return count / (time.perf_counter() - started)


def serve(home: str, port: int) -> None:
    """Child process: the real app on the bench's data directory (no in-process jobs)."""
    settings = _settings(Path(home), 25).model_copy(update={"jobs_in_process": False})
    app = create_app(open_runtime(settings))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink(args.sink)
        return
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    sink_process, port = _start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            runtime = install(open_runtime(_settings(home, port)))
            console.print(f"Adding {args.recipients} people to the staff directory…")
            _staff(runtime, args.recipients)
            baseline = smtplib_rate(runtime, port, args.recipients)
            ours, campaign_id = carewall_rate(runtime)
            with runtime.db.sessions() as session:
                rid = next(iter(tracking_ids(session, campaign_id).values()))[0]
            runtime.close()
            pixel, health = _tracking(home, rid, args.requests)
    finally:
        sink_process.kill()
        sink_process.wait()
    _report(args.recipients, ours, baseline, pixel, health)


def _tracking(home: Path, rid: str, requests: int) -> tuple[float, float]:
    process, base = start_server(__file__, home)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            timed_gets(client, f"/s/o/{rid}.gif", 100)  # warm up both paths
            timed_gets(client, "/healthz", 100)
            (pixel, _, _), (health, _, _) = timed_pair(
                client, f"/s/o/{rid}.gif", "/healthz", requests
            )
    finally:
        process.terminate()
        process.wait()
    return pixel, health


def _report(count: int, ours: float, baseline: float, pixel: float, health: float) -> None:
    table = Table("Measure", "Carewall", "Baseline", "Ratio", "Target", title="Campaign benchmark")
    table.add_row(
        f"Messages/s, {count} recipients (job runner vs plain smtplib)",
        f"{ours:,.0f}",
        f"{baseline:,.0f}",
        f"{ours / baseline:.2f}",
        ">= 0.5",
    )
    table.add_row(
        "Requests/s, open pixel vs /healthz (same server)",
        f"{pixel:,.0f}",
        f"{health:,.0f}",
        f"{pixel / health:.2f}",
        ">= 0.5",
    )
    console.print(table)


if __name__ == "__main__":
    main()
