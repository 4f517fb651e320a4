"""Throttling of password and second-factor guesses, counted in the database.

Failures are rows, counted over a sliding window, so the limits hold across
worker processes and hosts. Three scopes apply to every attempt: the account,
the source IP (with a credential-stuffing rule: many different accounts
failing from one address), and everything at once. An account that keeps
failing gets a growing window (back-off), and after 100 consecutive failures
it is locked until an administrator unlocks it (NIST SP 800-63B 5.2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.identity.models import AuthFailure

HARD_LOCK_AFTER = 100
_MAX_BACKOFF_FACTOR = 16


class Kind(StrEnum):
    """Which secret was guessed."""

    PASSWORD = "password"  # noqa: S105 - a category name, not a password
    MFA = "mfa"


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go ahead, and if not for how long and why."""

    allowed: bool
    retry_after: int = 0
    scope: str = ""


ALLOWED = Verdict(True)


def backoff_window(settings: Settings, consecutive_failures: int, kind: Kind) -> timedelta:
    """The counting window, doubled for each limit the account has already hit."""
    limit = settings.login_max_failures if kind is Kind.PASSWORD else settings.mfa_max_failures
    factor = min(2 ** max(0, consecutive_failures // limit - 1), _MAX_BACKOFF_FACTOR)
    return timedelta(minutes=settings.login_window_minutes * factor)


def check(
    session: Session,
    settings: Settings,
    *,
    kind: Kind,
    account: str,
    ip: str,
    now: datetime,
    consecutive_failures: int = 0,
    last_success: datetime | None = None,
) -> Verdict:
    """Decide before verifying anything, so a correct guess while throttled is refused too.

    Account failures before the account's last successful sign-in do not count;
    IP and global failures always do.
    """
    base = timedelta(minutes=settings.login_window_minutes)
    account_limit = (
        settings.login_max_failures if kind is Kind.PASSWORD else settings.mfa_max_failures
    )
    window = backoff_window(settings, consecutive_failures, kind)
    verdicts = (
        _scope(
            session,
            now,
            window,
            account_limit,
            "account",
            kind=kind,
            account=account,
            not_before=last_success,
        ),
        _scope(session, now, base, settings.ip_max_failures, "ip", ip=ip),
        _ip_accounts(session, settings, now, base, ip),
        _scope(session, now, base, settings.global_max_failures, "global"),
    )
    return next((v for v in verdicts if not v.allowed), ALLOWED)


def _scope(
    session: Session,
    now: datetime,
    window: timedelta,
    limit: int,
    scope: str,
    *,
    kind: Kind | None = None,
    account: str | None = None,
    ip: str | None = None,
    not_before: datetime | None = None,
) -> Verdict:
    since = now - window if not_before is None else max(now - window, not_before)
    query = select(func.count(), func.min(AuthFailure.created_at)).where(
        AuthFailure.created_at > since
    )
    if kind is not None:
        query = query.where(AuthFailure.kind == kind)
    if account is not None:
        query = query.where(AuthFailure.account == account)
    if ip is not None:
        query = query.where(AuthFailure.ip == ip)
    count, oldest = session.execute(query).one()
    if count < limit:
        return ALLOWED
    # The oldest failure in the window is the first to age out.
    retry = int(((oldest + window) - now).total_seconds()) + 1 if oldest else 1
    return Verdict(False, retry, scope)


def _ip_accounts(
    session: Session, settings: Settings, now: datetime, window: timedelta, ip: str
) -> Verdict:
    """Credential stuffing: many different accounts failing from one address."""
    if not ip:
        return ALLOWED
    query = select(func.count(func.distinct(AuthFailure.account))).where(
        AuthFailure.ip == ip, AuthFailure.created_at > now - window
    )
    accounts = session.scalar(query) or 0
    if accounts < settings.ip_max_accounts:
        return ALLOWED
    return Verdict(False, int(window.total_seconds()), "ip-accounts")


def record_failure(session: Session, *, kind: Kind, account: str, ip: str, now: datetime) -> None:
    """Count one failed attempt."""
    session.add(AuthFailure(kind=kind, account=account, ip=ip, created_at=now))


def prune(session: Session, now: datetime, keep: timedelta) -> int:
    """Drop failures older than any window can reach (called opportunistically)."""
    result = session.execute(delete(AuthFailure).where(AuthFailure.created_at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_expired(runtime: Runtime) -> int:
    """Drop the failures that no window can reach any more; returns how many went.

    The longest window is the base window at the largest back-off factor; the
    hard lock counts on the account row, so pruning never unlocks anyone.
    """
    keep = timedelta(minutes=runtime.settings.login_window_minutes * _MAX_BACKOFF_FACTOR)
    with runtime.db.transaction() as session:
        return prune(session, utcnow(), keep)


def failures_between(
    session: Session, since: datetime, until: datetime, *, limit: int = 10_000
) -> list[tuple[str, str, datetime]]:
    """Failed password attempts (account as typed, source address, time) in a window,
    for the sign-in attack detector."""
    rows = session.execute(
        select(AuthFailure.account, AuthFailure.ip, AuthFailure.created_at)
        .where(
            AuthFailure.kind == Kind.PASSWORD,
            AuthFailure.created_at >= since,
            AuthFailure.created_at <= until,
        )
        .limit(limit)
    )
    return [(str(a), str(i), t) for a, i, t in rows]
