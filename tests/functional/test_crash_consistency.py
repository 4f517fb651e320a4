"""Killing the server in the middle of writes loses nothing it acknowledged.

A real `carewall serve` process takes FHIR writes from several client threads
and is killed with SIGKILL (no shutdown, no flush) while writes are in flight,
a few times over on the same database. After a restart, every write that was
acknowledged (201/200 with its version) reads back as sent, every version that
was stored decrypts, every stored version has its audit entry and the audit
chain still verifies from end to end with `carewall audit verify`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carewall.audit import entries_with_action
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import apitokens, queries
from carewall.records.access.audit_patients import reveal_entry
from carewall.records.models import FhirResource
from carewall.records.services import create_resource
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag
from tests.support.cli import carewall
from tests.support.factories import fhir_resource, make_user
from tests.support.server import free_port

FHIR_JSON = "application/fhir+json"
PATIENT_ID = "crash-patient"
KILLS = 2
WRITERS = 4
ACKS_BEFORE_KILL = 5  # writes are flowing before the kill is armed
# A loaded 2-core machine can be slow to import, migrate and bind (a worker process per
# core); the wait ends as soon as the server answers, so a long one costs nothing.
STARTUP_SECONDS = 300
# The writers update as fast as the server answers, all with one clinician's token, and
# how many updates land before the kills depends on the machine's load: about 20 in the
# whole test, within a minute, which is the mass-change detector's default limit per
# token (alerts.masschange); one more and the token is suspended (403) for good. The
# test is about kills, not ransomware: the detector still counts every change in the
# write's transaction, as in production, but never reaches its limit.
MASS_CHANGE_LIMIT = {"CAREWALL_ALERTS_MASS_CHANGE_LIMIT": "100000"}


@dataclass
class Server:
    """A `carewall serve` process in its own process group, and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handlers, no flush."""
        if self.process.poll() is None:  # never signal a group id that may be reused
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Shut down as an operator would (SIGTERM), killing it if it hangs."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """What the server printed."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(env: dict[str, str], logs: Path, headers: dict[str, str]) -> Server:
    """Start `carewall serve` and wait until it answers *this test's* token.

    Another test's server may grab the port between `free_port` and the bind; the
    authenticated read tells our server from any other, and a lost port race
    (only that) is retried on a fresh port. Any other early exit is a failure:
    the server must always come back after a kill.
    """
    for _attempt in range(5):
        port = free_port()
        log = logs / f"server-{port}-{time.monotonic_ns()}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "carewall", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
        server = Server(f"http://127.0.0.1:{port}", process, log)
        if _ready(server, headers):
            return server
        if "address already in use" not in server.output().lower():
            raise AssertionError(f"the server did not come back:\n{server.output()}")
    raise AssertionError("no free port after five attempts")


def _ready(server: Server, headers: dict[str, str]) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with suppress(httpx.TransportError):
            probe = httpx.get(f"{server.url}/fhir/Patient/{PATIENT_ID}", headers=headers, timeout=5)
            if probe.status_code == 200:
                return True
            if probe.status_code == 403:  # our token, known to our database, and refused
                server.kill()
                raise AssertionError(f"the server refuses the test's token: {probe.text}")
        time.sleep(0.2)
    server.kill()
    raise AssertionError(f"the server did not answer in {STARTUP_SECONDS} s:\n{server.output()}")


@dataclass
class Ledger:
    """Every write the server acknowledged, shared by the writer threads."""

    acknowledged: dict[tuple[str, int], str] = field(default_factory=dict)  # (id, version): marker
    creates: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, logical_id: str, version: int, marker: str, created: bool) -> None:
        with self.lock:
            self.acknowledged[logical_id, version] = marker
            self.creates += created

    def latest(self) -> dict[str, int]:
        """The newest acknowledged version of each resource."""
        newest: dict[str, int] = {}
        for logical_id, version in self.acknowledged:
            newest[logical_id] = max(version, newest.get(logical_id, 0))
        return newest


def observation(marker: str, logical_id: str | None = None) -> dict[str, Any]:
    """An Observation of the test patient whose value says which write it was."""
    body = fhir_resource("Observation", PATIENT_ID, valueString=marker)
    if logical_id is None:
        del body["id"]
    else:
        body["id"] = logical_id
    return body


def write_until_killed(
    url: str, headers: dict[str, str], ledger: Ledger, name: str, stop: threading.Event
) -> None:
    """Create Observations (and now and then update one of them) as fast as the server
    answers, recording each acknowledgment, until the connection dies."""
    rng = random.Random(name)  # noqa: S311 - which write to make, not a secret
    mine: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for n in range(100_000):  # bounded; the kill ends it long before
            if stop.is_set():
                return
            marker = f"{name}-{n}"
            update = bool(mine) and rng.random() < 0.3
            try:
                if update:
                    logical_id = rng.choice(mine)
                    response = client.put(
                        f"/fhir/Observation/{logical_id}", json=observation(marker, logical_id)
                    )
                else:
                    response = client.post("/fhir/Observation", json=observation(marker))
            except httpx.TransportError:
                return  # killed: this write was never acknowledged
            if response.status_code not in {200, 201}:
                ledger.problems.append(f"{response.status_code}: {response.text[:300]}")
                return
            logical_id = response.headers["location"].split("/")[-3]
            version = int(response.headers["etag"].removeprefix('W/"').removesuffix('"'))
            ledger.acknowledge(logical_id, version, marker, created=not update)
            if not update:
                mine.append(logical_id)


@contextmanager
def writers(url: str, headers: dict[str, str], ledger: Ledger, rnd: int) -> Iterator[None]:
    """Run the writer threads for the duration of the block."""
    stop = threading.Event()
    # Half the writers ask for the resource back, which the server reads (and
    # audits) after the commit: a wider window to be killed between commit and answer.
    answers = ({"Prefer": "return=minimal"}, {"Prefer": "return=representation"})
    threads = [
        threading.Thread(
            target=write_until_killed,
            args=(url, {**headers, **answers[w % 2]}, ledger, f"kill{rnd}-writer{w}", stop),
            daemon=True,
        )
        for w in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung after the kill"


def kill_during_writes(
    env: dict[str, str], logs: Path, headers: dict[str, str], ledger: Ledger, rnd: int
) -> None:
    """One round: start, write from several threads, SIGKILL at a random moment."""
    server = start_server(env, logs, headers)
    before = len(ledger.acknowledged)
    try:
        with writers(server.url, headers, ledger, rnd):
            deadline = time.monotonic() + 60
            while len(ledger.acknowledged) < before + ACKS_BEFORE_KILL and not ledger.problems:
                assert time.monotonic() < deadline, f"no writes got through:\n{server.output()}"
                time.sleep(0.01)
            time.sleep(random.uniform(0.0, 0.5))  # noqa: S311 - a kill moment, not a secret
            server.kill()
    finally:
        server.kill()  # already dead unless the block failed
    assert not ledger.problems, ledger.problems


def prepare(settings: Settings) -> dict[str, str]:
    """A clinician's FHIR token and the patient the Observations belong to."""
    runtime = open_runtime(settings)
    try:
        email = "crash-clinician@clinic.example"
        make_user(runtime, email, "clinician")
        with runtime.db.sessions() as session:
            user_id = queries.user_id_for_email(session, email)
        assert user_id is not None
        scopes = ["fhir:read", "fhir:write"]
        secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "crash test", scopes)
        create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", PATIENT_ID))
    finally:
        runtime.close()
    return {"Authorization": f"Bearer {secret}", "Accept": FHIR_JSON}


def stored_versions(settings: Settings) -> dict[str, list[tuple[int, bool]]]:
    """Every Observation row in the vault: (version, is current) by logical id."""
    runtime = open_runtime(settings)
    try:
        rows: dict[str, list[tuple[int, bool]]] = {}
        query = select(FhirResource.logical_id, FhirResource.version_id, FhirResource.is_current)
        with runtime.db.sessions() as session:
            for logical_id, version, current in session.execute(
                query.where(FhirResource.resource_type == "Observation")
            ):
                rows.setdefault(logical_id, []).append((version, bool(current)))
        return rows
    finally:
        runtime.close()


def audited_writes(settings: Settings) -> dict[tuple[str, int], str]:
    """The audit tag of every Observation write in the trail, by (id, version)."""
    runtime = open_runtime(settings)
    try:
        tags = [RecordsTag.RESOURCE_CREATED, RecordsTag.RESOURCE_UPDATED]
        keys = RecordKeys.from_keystore(runtime.keys)
        with runtime.db.sessions() as session:
            found = entries_with_action(session, tags, limit=1_000_000)
        entries = [reveal_entry(keys, entry) for entry in found]  # the ids are sealed
        return {
            (str(entry.details["id"]), int(str(entry.details["version"]))): entry.action
            for entry in entries
            if entry.details.get("resource_type") == "Observation"
        }
    finally:
        runtime.close()


def check_reads(server: Server, headers: dict[str, str], ledger: Ledger) -> None:
    """Each acknowledged version reads back as sent; the current one is at least as new."""
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for (logical_id, version), marker in ledger.acknowledged.items():
            read = client.get(f"/fhir/Observation/{logical_id}/_history/{version}")
            assert read.status_code == 200, f"acknowledged {logical_id} v{version} lost"
            assert read.json()["valueString"] == marker
        for logical_id, version in ledger.latest().items():
            current = client.get(f"/fhir/Observation/{logical_id}")
            assert current.status_code == 200, current.text
            assert int(current.json()["meta"]["versionId"]) >= version


def check_everything_decrypts(
    server: Server, headers: dict[str, str], stored: dict[str, list[tuple[int, bool]]]
) -> None:
    """Every stored version opens (no torn row), and search finds every current one."""
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for logical_id, versions in stored.items():
            history = client.get(f"/fhir/Observation/{logical_id}/_history")
            assert history.status_code == 200, history.text
            opened = [entry["resource"] for entry in history.json()["entry"]]
            assert len(opened) == len(versions)
            assert all(resource["valueString"] for resource in opened)
        found: set[str] = set()
        page = client.get("/fhir/Observation", params={"patient": PATIENT_ID, "_count": "200"})
        while True:
            assert page.status_code == 200, page.text
            bundle = page.json()
            found.update(entry["resource"]["id"] for entry in bundle.get("entry", []))
            following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
            if not following:
                break
            page = client.get(following[0])
    assert found == set(stored)


@pytest.mark.slow
def test_killed_server_keeps_every_acknowledged_write(
    settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    headers = prepare(settings)
    serve_env = {**cli_env, **MASS_CHANGE_LIMIT}
    ledger = Ledger()
    for rnd in range(KILLS):
        kill_during_writes(serve_env, tmp_path, headers, ledger, rnd)
    assert len(ledger.acknowledged) >= KILLS * ACKS_BEFORE_KILL

    stored = stored_versions(settings)
    for logical_id, versions in stored.items():  # versions dense, exactly one current
        numbers = sorted(version for version, _ in versions)
        assert numbers == list(range(1, len(numbers) + 1)), (logical_id, numbers)
        assert sum(current for _, current in versions) == 1, logical_id
    stored_pairs = {(i, v) for i, versions in stored.items() for v, _ in versions}
    assert set(ledger.acknowledged) <= stored_pairs, "an acknowledged write was lost"

    server = start_server(serve_env, tmp_path, headers)
    try:
        check_reads(server, headers, ledger)
        check_everything_decrypts(server, headers, stored)
    finally:
        server.stop()

    audited = audited_writes(settings)
    assert set(audited) == stored_pairs, "each stored version has its audit entry, and no more"
    created = [tag for tag in audited.values() if tag == RecordsTag.RESOURCE_CREATED]
    assert len(created) >= ledger.creates
    verified = carewall(cli_env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout
