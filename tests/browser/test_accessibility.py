"""axe-core on every page each role of the demo practice reaches, and the phone width.

One demo server for the module (the whole practice, seeded as `./scripts/demo`
seeds it). Each role signs in the way a person does (an authenticator code
from Debian's oathtool) and then follows every link of the pages it reaches,
breadth first, one page per route shape; axe-core (vendored, see
`vendor/README.md`) checks each page and the test fails on any serious or
critical violation. At 390 px the sign-in page, the portal and the security
officer's home must fit the width, with the navigation behind a Menu button.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from carewall.demo.identity_seed import STAFF
from carewall.demo.portal_seed import PATIENT_LOGIN
from tests.support.server import LiveServer, oathtool, start_server

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None, reason="Debian's oathtool is not installed"
)
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
LOGINS = {login.role: login for login in (*STAFF, PATIENT_LOGIN)}
PHONE = {"width": 390, "height": 844}
MAX_PAGES = 45
# Links not to follow: downloads, sign-out, and pages that change state on GET-less forms.
SKIP = re.compile(r"(\.csv|\.json|\.pdf|\.ndjson)$|^/logout|^/static/|^/fhir|^/api/")
SHAPE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "{id}"),
    (re.compile(r"/\d+(?=/|$)"), "/{n}"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("axe") / "home", "--demo", timeout=240)
    server.wait_for_demo()
    yield server
    server.stop()


SECRETS: dict[str, str] = {}  # each role's authenticator, set up at its first sign-in
USED: dict[str, str] = {}  # the last code each role used (a code is accepted once)


def fresh_code(role: str) -> str:
    """A code the server has not seen from this role yet (waits for the next 30 s step)."""
    code = oathtool(SECRETS[role])
    while code == USED.get(role):
        time.sleep(1)
        code = oathtool(SECRETS[role])
    USED[role] = code
    return code


def sign_in(context: BrowserContext, server: LiveServer, role: str) -> Page:
    """Sign in as the demo login of `role`: an authenticator is set up at the first sign-in
    and asked for at the next ones."""
    login = LOGINS[role]
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if "/account/enroll" in page.url:
        SECRETS[role] = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.get_by_label("Six-digit code").fill(fresh_code(role))
        page.get_by_role("button", name="Turn on").click()
        page.get_by_role("link", name="I have saved them").click()
    elif "/login/mfa" in page.url:
        page.locator("#code").fill(fresh_code(role))
        page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.url
    return page


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE)  # through DevTools: the page's CSP (script-src 'self') stays as it is
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
        }"""
    )
    return [str(line) for line in found]


def shape(path: str) -> str:
    for pattern, placeholder in SHAPE:
        path = pattern.sub(placeholder, path)
    return path


def crawl(page: Page, server: LiveServer) -> dict[str, list[str]]:
    """Every page reachable from home by links, one per route shape: its violations."""
    queue, seen, report = deque(["/", "/no-such-page"]), set(), {}
    while queue and len(report) < MAX_PAGES:
        path = queue.popleft()
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        try:
            response = page.goto(server.url + path)
        except PlaywrightError as exc:  # a file to save (the report as HTML), not a page
            if "Download is starting" in str(exc):
                continue
            raise
        assert response is not None, path
        assert response.status < 500, path
        report[path] = serious(page)
        for href in page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
        ):
            target = urlsplit(str(href))
            if target.netloc or not target.path.startswith("/") or SKIP.search(target.path):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if shape(link) not in seen:
                queue.append(link)
    return report


ROLES = ["admin", "clinician", "front_desk", "billing", "auditor", "patient"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_has_no_serious_axe_violation(
    browser: Browser, demo: LiveServer, role: str
) -> None:
    context = browser.new_context()
    try:
        page = sign_in(context, demo, role)
        report = crawl(page, demo)
    finally:
        context.close()
    assert len(report) >= 5, report.keys()  # the crawl reached the role's pages
    failing = {path: found for path, found in report.items() if found}
    assert failing == {}, failing


def test_sign_in_page_is_clean_at_phone_width(browser: Browser, demo: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(demo.url + "/login")
        assert serious(page) == []
        assert fits(page)
        expect(page.get_by_label("Email")).to_be_visible()
    finally:
        context.close()


def test_portal_works_at_phone_width(browser: Browser, demo: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = sign_in(context, demo, "patient")
        page.goto(demo.url + "/portal")
        expect(page.get_by_role("heading", level=1)).to_have_text("My health record")
        assert serious(page) == []
        assert fits(page)
        page.goto(demo.url + "/portal/access")
        assert fits(page)
        assert serious(page) == []
    finally:
        context.close()


def test_officer_home_works_at_phone_width(browser: Browser, demo: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = sign_in(context, demo, "admin")
        page.goto(demo.url + "/")
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        expect(page.get_by_role("link", name="Users", exact=True)).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("link", name="Users", exact=True)).to_be_visible()
        for heading in ("Access flags to review", "Reported email", "Emergency access"):
            expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
        assert serious(page) == []
        assert fits(page)
        page.goto(demo.url + "/admin/users")  # the widest table scrolls in its own box
        assert fits(page)
    finally:
        context.close()


def fits(page: Page) -> bool:
    """Nothing makes the page wider than the screen (no sideways scrolling of the page)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return int(width) <= PHONE["width"]
