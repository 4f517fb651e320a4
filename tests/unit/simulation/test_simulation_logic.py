"""Pure parts of simulations: library, send window and spread, scanner heuristics, marker."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from carewall.core.config import Settings
from carewall.core.errors import ValidationError
from carewall.phishing.simulation.campaigns import default_window, spread
from carewall.phishing.simulation.library import builtin_scenarios, sanitize_html
from carewall.phishing.simulation.marker import find_marker, sign, verify
from carewall.phishing.simulation.render import Person, annotate
from carewall.phishing.simulation.tracking import Hit, scanner_reason
from carewall.training import modules

SETTINGS = Settings(mail_org_domains=["clinic.example"])
KEY = bytes(range(32))
CAMPAIGN = "3f1d0c7e-8c2b-4c51-9a53-0d7d1f7a9b10"


def test_the_library_has_twelve_scenarios_covering_every_landing_kind() -> None:
    scenarios = builtin_scenarios()
    assert len(scenarios) >= 12
    assert {s.landing for s in scenarios.values()} == {"credentials", "page", "none"}
    assert all(s.remedial in modules() for s in scenarios.values())


@pytest.mark.parametrize("scenario_id", sorted(builtin_scenarios()))
def test_every_red_flag_is_highlighted_in_the_message(scenario_id: str) -> None:
    scenario = builtin_scenarios()[scenario_id]
    shown = annotate(scenario, Person("ana@clinic.example", "Ana Lopez"), SETTINGS)
    highlighted = {
        seg.flag
        for part in (shown.sender, shown.subject, shown.body, shown.landing)
        for seg in part
        if seg.flag
    }
    assert highlighted == set(range(1, len(scenario.red_flags) + 1)), scenario_id
    assert len(scenario.red_flags) >= 3
    assert "{{" not in "".join(seg.text for seg in shown.body)


def test_every_module_has_a_quiz_bank_larger_than_its_quiz() -> None:
    assert len(modules()) == 7
    for module in modules().values():
        assert len(module.questions) >= module.quiz_size >= 5, module.id
        assert module.html.startswith("<h1>")


def test_sanitising_keeps_text_and_links_and_drops_everything_active() -> None:
    dirty = (
        '<p onclick="x()">Hi {{first_name}}</p><script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:alert(1)">x</a>'
        '<a href="{{link}}">Open</a><style>p{}</style><iframe src="https://x.example"></iframe>'
    )
    clean = sanitize_html(dirty)
    assert "<script" not in clean
    assert "onclick" not in clean
    assert "<img" not in clean
    assert "javascript:" not in clean
    assert "<iframe" not in clean
    assert "<style" not in clean
    assert '<a href="{{link}}"' in clean
    assert "Hi {{first_name}}" in clean


def test_spread_respects_the_rate_and_the_window() -> None:
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    times = spread(500, start, end, 10)
    assert times == sorted(times)
    assert all(start <= t < end for t in times)
    per_minute = Counter(int((t - start).total_seconds() // 60) for t in times)
    assert max(per_minute.values()) <= 10
    assert len(per_minute) >= 50, "spread over the window, not bunched at its start"
    with pytest.raises(ValidationError, match="do not fit"):
        spread(601, start, end, 10)


def test_default_window_is_business_hours_in_the_practice_zone() -> None:
    chicago = Settings(practice_timezone="America/Chicago")
    friday_evening = datetime(2026, 2, 27, 23, 30, tzinfo=UTC)  # 17:30 in Chicago
    start, end = default_window(chicago, friday_evening)
    assert start == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 09:00 CST
    assert end == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # Monday 17:00 CST
    monday_morning = datetime(2026, 3, 2, 16, 10, tzinfo=UTC)  # 10:10 in Chicago
    start, end = default_window(chicago, monday_morning)
    assert start == monday_morning


@pytest.mark.parametrize(
    ("hit", "seconds_after", "reason"),
    [
        (Hit("r" * 22, "click", "link", "HEAD"), 600, "head_request"),
        (
            Hit("r" * 22, "click", "link", user_agent="Mozilla/5.0 SafeLinks/2"),
            600,
            "scanner_user_agent",
        ),
        (Hit("r" * 22, "open", "pixel", user_agent="Googlebot"), 600, "scanner_user_agent"),
        (Hit("r" * 22, "click", "link", ip="40.94.1.10"), 600, "scanner_network"),
        (
            Hit("r" * 22, "click", "link", user_agent="Mozilla/5.0 Chrome"),
            2,
            "too_soon_after_sending",
        ),
        (Hit("r" * 22, "click", "link", user_agent="Mozilla/5.0 Chrome"), 600, ""),
        (Hit("r" * 22, "submit", "form", "POST", user_agent="bot"), 1, ""),
        (Hit("r" * 22, "report", "triage"), 1, ""),
    ],
)
def test_scanner_heuristics(hit: Hit, seconds_after: int, reason: str) -> None:
    settings = SETTINGS.model_copy(update={"campaign_scanner_networks": ["40.94.0.0/16"]})
    sent = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert scanner_reason(settings, hit, sent, sent + timedelta(seconds=seconds_after)) == reason


def test_the_marker_verifies_only_with_our_key_and_unchanged() -> None:
    value = sign(KEY, CAMPAIGN, "AbCdEfGhIjKlMnOpQrStUv")
    marker = verify(KEY, value)
    assert marker is not None
    assert marker.rid == "AbCdEfGhIjKlMnOpQrStUv"
    assert verify(bytes(32), value) is None, "another Carewall's key"
    assert verify(KEY, value.replace("AbCd", "XbCd")) is None, "another recipient"
    assert verify(KEY, "campaign-42") is None
    assert re.fullmatch(r"v1; c=[0-9a-f-]{36}; r=\S+; s=[A-Za-z0-9_-]{43}", value)


def test_a_forwarded_simulation_is_found_inside_the_forward() -> None:
    original = f"X-Carewall-Simulation: {sign(KEY, CAMPAIGN, 'AbCdEfGhIjKlMnOpQrStUv')}\r\n"
    original += "Subject: hi\r\n\r\nbody\r\n"
    forward = (
        "Subject: FW: hi\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n" + original + "\r\n--b--\r\n"
    ).encode()
    found = find_marker(forward, KEY)
    assert found.marker is not None
    assert not found.forged
    forged = find_marker(b"X-Carewall-Simulation: campaign-42\r\nSubject: x\r\n\r\nbody", KEY)
    assert forged.marker is None
    assert forged.forged
