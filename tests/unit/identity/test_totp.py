"""TOTP: RFC 6238 codes, the ±1 step window and replay refusal."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from carewall.identity import totp

NOW = datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC)


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def test_current_code_matches_its_step() -> None:
    secret = totp.new_secret()
    step = totp.matching_step(secret, code_at(secret, NOW), NOW, last_used_step=0)
    assert step == int(NOW.timestamp()) // 30


@pytest.mark.parametrize("offset", [-30, 30])
def test_neighbouring_steps_are_accepted(offset: int) -> None:
    secret = totp.new_secret()
    code = code_at(secret, NOW + timedelta(seconds=offset))
    assert totp.matching_step(secret, code, NOW, last_used_step=0) is not None


@pytest.mark.parametrize("offset", [-90, 90])
def test_codes_two_steps_away_are_refused(offset: int) -> None:
    secret = totp.new_secret()
    code = code_at(secret, NOW + timedelta(seconds=offset))
    assert totp.matching_step(secret, code, NOW, last_used_step=0) is None


def test_used_step_and_earlier_steps_are_refused() -> None:
    secret = totp.new_secret()
    current = int(NOW.timestamp()) // 30
    assert totp.matching_step(secret, code_at(secret, NOW), NOW, last_used_step=current) is None
    earlier = code_at(secret, NOW - timedelta(seconds=30))
    assert totp.matching_step(secret, earlier, NOW, last_used_step=current) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert totp.matching_step(totp.new_secret(), code, NOW, last_used_step=0) is None


def test_codes_with_spaces_are_accepted() -> None:
    secret = totp.new_secret()
    code = code_at(secret, NOW)
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", NOW, last_used_step=0)


def test_provisioning_uri_carries_issuer_and_account() -> None:
    uri = totp.provisioning_uri(
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ana@clinic.example", "Harbor Clinic"
    )
    assert uri.startswith("otpauth://totp/")
    assert "issuer=Harbor%20Clinic" in uri
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="Debian's oathtool is not installed")
def test_agrees_with_an_independent_implementation() -> None:
    """oathtool (liboath) computes the same code for the same secret and time."""
    secret = totp.new_secret()
    now = datetime.now(UTC)
    code = subprocess.run(
        ["oathtool", "--totp", "-b", secret], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert totp.matching_step(secret, code, now, last_used_step=0) is not None
