"""The home page in a real browser, with the real server and its CSP."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.server import LiveServer


def test_home_page_loads_without_console_errors(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    response = page.goto(live_server.url + "/")

    assert response is not None
    assert response.status == 200
    expect(page).to_have_title("Home · Carewall Practice")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Carewall for")
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("Carewall")
    # Stylesheet and script came from our own origin and passed the CSP.
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"
    assert errors == [], errors


def test_unknown_page_shows_the_friendly_404(page: Page, live_server: LiveServer) -> None:
    response = page.goto(live_server.url + "/missing")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(live_server.url + "/")
