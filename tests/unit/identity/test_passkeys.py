"""Pure passkey rules: the signature-counter rule and where passkeys can work."""

from __future__ import annotations

import pytest

from carewall.core.config import Settings
from carewall.identity.passkeys import (
    PasskeyUnavailableError,
    RelyingParty,
    expected_origin,
    relying_party,
    sign_count_regressed,
)


@pytest.mark.parametrize(
    ("stored", "reported", "regressed"),
    [
        (0, 0, False),  # authenticators without a counter always say 0
        (0, 1, False),
        (5, 6, False),
        (5, 5, True),  # a replayed or cloned counter value
        (5, 4, True),
        (5, 0, True),  # a counting key that suddenly reports nothing
        (0, 2**32 - 1, False),
    ],
)
def test_sign_count_rule(stored: int, reported: int, regressed: bool) -> None:
    assert sign_count_regressed(stored, reported) is regressed


def _rp(base_url: str) -> RelyingParty:
    return relying_party(Settings(base_url=base_url, practice_name="Elm Street Clinic"))


def test_domain_is_the_rp_id_and_default_port_is_dropped() -> None:
    rp = _rp("https://Portal.ElmClinic.example:443/")
    assert rp == RelyingParty(
        "portal.elmclinic.example", "Elm Street Clinic", ("https://portal.elmclinic.example",)
    )


def test_non_default_port_stays_in_the_origin() -> None:
    assert _rp("https://clinic.example:8443").origins == ("https://clinic.example:8443",)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost:8000"]
)
def test_loopback_maps_to_localhost(url: str) -> None:
    rp = _rp(url)
    assert rp.id == "localhost"
    assert rp.origins == ("http://localhost:8000",)


def test_other_ip_addresses_cannot_use_passkeys() -> None:
    with pytest.raises(PasskeyUnavailableError, match="CAREWALL_BASE_URL"):
        _rp("http://192.168.1.20:8000")


def test_origin_header_only_selects_among_configured_origins() -> None:
    rp = _rp("http://127.0.0.1:8000")
    assert expected_origin(rp, "http://localhost:8000") == "http://localhost:8000"
    assert expected_origin(rp, None) == "http://localhost:8000"
    with pytest.raises(PasskeyUnavailableError, match="http://localhost:8000"):
        expected_origin(rp, "http://127.0.0.1:8000")
    with pytest.raises(PasskeyUnavailableError):
        expected_origin(rp, "https://evil.example")
