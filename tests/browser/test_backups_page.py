"""The backup page in Chromium on a phone-sized screen: readable, no CSP errors, buttons work."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.core.runtime import open_runtime
from carewall.demo.backup_seed import BACKUP_REPOSITORY_SEEDER, BACKUP_SEEDER
from carewall.identity import accounts
from carewall.registry import install
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
EMAIL = "officer@clinic.example"

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None or shutil.which("restic") is None,
    reason="needs Debian's oathtool and restic",
)


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose data directory holds a demo backup and drill, and an administrator."""
    home = tmp_path / "home"
    runtime = install(open_runtime(Settings(home=home, demo=True)))
    accounts.create_admin(runtime, EMAIL, PASSWORD, Origin(user_agent="cli"))
    BACKUP_REPOSITORY_SEEDER.run(runtime)
    BACKUP_SEEDER.run(runtime)
    runtime.close()
    server = start_server(
        home,
        extra_env={
            "CAREWALL_BACKUP_REPO": str(home / "demo-backups"),
            "CAREWALL_JOBS_IN_PROCESS": "false",
        },
    )
    yield server
    server.stop()


def test_the_backup_page_fits_a_phone_and_queues_a_backup(page: Page, practice: LiveServer) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(practice.url + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()

    expect(page.locator("#backup-panel")).to_contain_text("Last restore drill")
    page.goto(practice.url + "/admin/backups")
    expect(page.get_by_role("heading", name="Backups", exact=True)).to_be_visible()
    expect(page.locator("#last-drill")).to_contain_text("Passed")
    expect(page.get_by_role("img", name="size of each snapshot")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"

    page.get_by_role("button", name="Back up now").click()
    expect(page.get_by_role("status").filter(has_text="Backup started")).to_be_visible()
    assert errors == [], errors
