"""A Bulk Data client against a real `carewall serve`, step by step as the IG says.

No well-kept Bulk Data client exists on PyPI (fhir-kindling's last release is
from 2023 and it has no `$export`; SMART's cumulus-etl is not published there),
so this is plain httpx doing what such a client does: read the
CapabilityStatement, kick off with `Prefer: respond-async`, poll the
`Content-Location` honouring `Retry-After`, read the manifest, download every
file with the token (`requiresAccessToken`), parse the NDJSON and compare each
resource with a read of it. The export runs in the server's own job runner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from carewall.audit import recent_entries
from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.services import create_resource
from tests.support.factories import SYSTEM, fhir_resource, make_resources, token_for
from tests.support.server import LiveServer, start_server

TYPES = ("Observation", "Condition", "Encounter")
PATIENCE = 120  # seconds a client waits for an export before giving up (not a speed test)


@pytest.fixture
def server(runtime: Runtime, settings: Settings) -> Iterator[LiveServer]:
    env = {"CAREWALL_DATABASE_URL": settings.effective_database_url}
    extra = {**env, "CAREWALL_JOBS_TICK_SECONDS": "1"}
    # Patience for a loaded machine (a shared CI host), not a speed test.
    live = start_server(settings.home, extra_env=extra, timeout=PATIENCE)
    try:
        yield live
    finally:
        live.stop()


def _store(runtime: Runtime, count: int) -> set[str]:
    ids = set()
    for n in range(count):
        patient = fhir_resource("Patient", f"live-{n}")
        create_resource(runtime, SYSTEM, patient)
        ids |= {patient["id"], *make_resources(runtime, patient["id"], TYPES).values()}
    return ids


def _poll(http: httpx.Client, status_url: str) -> dict[str, Any]:
    """Follow the status URL until the manifest, sleeping as `Retry-After` says."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        answer = http.get(status_url)
        if answer.status_code == 200:
            manifest: dict[str, Any] = answer.json()
            return manifest
        assert answer.status_code == 202, answer.text
        assert answer.headers["x-progress"]
        time.sleep(int(answer.headers["retry-after"]))
    raise AssertionError(f"no manifest within {PATIENCE} s")


def test_a_client_exports_downloads_and_finds_what_was_stored(
    runtime: Runtime, server: LiveServer
) -> None:
    stored = _store(runtime, 3)
    token = token_for(runtime, "feed@clinic.example", Role.INTEGRATION, scopes=("fhir:read",))
    other = token_for(runtime, "other@clinic.example", Role.INTEGRATION, scopes=("fhir:read",))
    base = f"{server.url}/fhir"
    with httpx.Client(headers=token, timeout=30) as http:
        statement = http.get(f"{base}/metadata").json()
        assert statement["rest"][0]["operation"][0]["name"] == "export"

        kick_off = http.get(f"{base}/Patient/$export", headers={"Prefer": "respond-async"})
        assert kick_off.status_code == 202, kick_off.text
        manifest = _poll(http, kick_off.headers["content-location"])
        assert manifest["requiresAccessToken"] is True
        assert manifest["request"] == f"{base}/Patient/$export"

        exported: dict[str, dict[str, Any]] = {}
        for item in manifest["output"]:
            file = http.get(item["url"], headers={"Accept": "application/fhir+ndjson"})
            assert file.status_code == 200, file.text
            lines = [json.loads(line) for line in file.text.splitlines()]
            assert len(lines) == item["count"]
            exported |= {r["id"]: r for r in lines}
            assert httpx.get(item["url"], headers=other).status_code == 404
        assert set(exported) == stored
        for resource in exported.values():
            read = http.get(f"{base}/{resource['resourceType']}/{resource['id']}")
            assert read.json() == resource, "the file holds the resource as stored"

        cancelled = http.get(f"{base}/$export?_type=Patient", headers={"Prefer": "respond-async"})
        status_url = cancelled.headers["content-location"]
        assert http.delete(status_url).status_code == 202
        assert http.get(status_url).status_code == 404

    with runtime.db.sessions() as session:
        actions = [e.action for e in recent_entries(session, limit=1000)]
    assert actions.count("records:export:requested") == 2
    assert actions.count("records:export:completed") == 1
    assert actions.count("records:export:downloaded") == len(manifest["output"])
    assert actions.count("records:export:cancelled") == 1
