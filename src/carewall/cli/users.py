"""`carewall user ...` and the first administrator created by `carewall init --admin-email`.

Commands name people by email and act as the actor "cli" in the audit trail.
Machine-readable output (an invite link, a token, `--json`) goes to stdout on
its own; explanations go to stderr, so scripts can capture the one thing they
need with `$(carewall user token ...)`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import Role, accounts, apitokens, queries
from carewall.identity.accounts import PasswordRejectedError
from carewall.identity.queries import UserOverview
from carewall.records.access.restriction import check_linkable

app = typer.Typer(help="Staff and patient accounts.", no_args_is_help=True)

CALLER = Caller.cli()
ORIGIN = CALLER.origin
_SCOPE_CHOICES = ", ".join(sorted(apitokens.SCOPES))


@contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = open_cli_runtime(load_settings())
    try:
        yield runtime
    finally:
        runtime.close()


def _user_id(runtime: Runtime, email: str) -> str:
    """The account behind `email`, or a clear error (exit 1) naming it."""
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    if user_id is None:
        raise NotFoundError(f"No user with the email address {email.strip()!r}.")
    return user_id


def _read_password(email: str) -> str:
    """One line from stdin for scripts; a hidden prompt, typed twice, for people."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt(
        f"Password for {email}", hide_input=True, confirmation_prompt=True, err=True
    )
    return password


def create_first_admin(runtime: Runtime, email: str) -> None:
    """Create an administrator with a password from stdin or a prompt; exit 1 if refused."""
    password = _read_password(email)
    try:
        user = accounts.create_admin(runtime, email, password, ORIGIN)
    except PasswordRejectedError as exc:
        err_console.print("[bold red]Error:[/] that password was refused:")
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False)
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"[green]Administrator created[/]: {user.email}", highlight=False)
    console.print(
        "At the first sign-in they must set up a second factor (an authenticator app) "
        "before anything else."
    )


@app.command("add")
def add(
    email: str = typer.Argument(..., help="Email address of the person to invite."),
    role: str = typer.Option(
        ..., "--role", help="admin, clinician, front_desk, billing, ..., integration."
    ),
    name: str = typer.Option("", "--name", help="Display name."),
    patient: str | None = typer.Option(
        None, "--patient", help="Patient id (required for the patient role)."
    ),
) -> None:
    """Invite someone: prints the one-time link that lets them set a password.

    `--role integration` creates a token-only account for a system feed instead:
    active at once, no link, no password; the next step is `carewall user token`.
    """
    if role.strip() == Role.INTEGRATION:
        _add_integration(email, name, patient)
        return
    with _runtime() as runtime:
        if patient is not None:
            check_linkable(runtime, patient.strip().removeprefix("Patient/"))
        link = accounts.invite_user(runtime, CALLER, email, role, name=name, patient_id=patient)
    err_console.print(
        f"Invited {link.email} as {role}. One-time link, valid until "
        f"{link.expires_at:%Y-%m-%d %H:%M} UTC:",
        highlight=False,
    )
    typer.echo(link.url)
    if not runtime.settings.base_url:
        err_console.print(
            f"The link names {runtime.settings.public_url} (CAREWALL_HOST and CAREWALL_PORT). "
            "If people reach Carewall at another address, set CAREWALL_BASE_URL to it.",
            highlight=False,
        )
    if link.emailed:
        err_console.print(f"[green]emailed[/] to {link.email}", highlight=False)
    else:
        err_console.print("Not emailed: pass the link on yourself, through a channel you trust.")


def _add_integration(email: str, name: str, patient: str | None) -> None:
    """Create an integration account and say how to give it a token (nothing on stdout:
    there is no secret yet)."""
    if patient is not None:
        raise ValidationError("--patient is for patient accounts; an integration has none.")
    with _runtime() as runtime:
        user = accounts.create_integration(runtime, CALLER, email, name=name)
    err_console.print(
        f"Created the integration account {user.email}: active, token-only (no password, "
        "no invitation; nobody can sign in to the pages with it). Give it a token with:",
        highlight=False,
    )
    err_console.print(
        f"  carewall user token {user.email} --scope fhir:read,fhir:write "
        '--name "interface engine" --expires-days 90',
        highlight=False,
    )


def _mfa_text(row: UserOverview) -> str:
    if not row.role.is_person:
        return "Token only"
    if not row.has_mfa:
        return "No MFA"
    parts = [f"TOTP {row.totp}"] if row.totp else []
    parts += [f"passkeys {row.passkeys}"] if row.passkeys else []
    return ", ".join([*parts, f"{row.recovery_left} recovery codes"])


def _status_text(row: UserOverview) -> str:
    return f"{row.status} (locked)" if row.locked else row.status


def _as_json(row: UserOverview) -> dict[str, object]:
    return {
        "id": row.id,
        "email": row.email,
        "name": row.display_name,
        "role": row.role.value,
        "status": row.status,
        "locked": row.locked,
        "mfa": row.has_mfa,
        "totp": row.totp,
        "passkeys": row.passkeys,
        "recovery_left": row.recovery_left,
        "last_login_at": row.last_login_at.isoformat() if row.last_login_at else None,
    }


@app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="One JSON array, for scripts."),
) -> None:
    """Every account with its role, status, second factors and last sign-in."""
    with _runtime() as runtime, runtime.db.sessions() as session:
        rows = queries.users_overview(session)
    if as_json:
        typer.echo(json.dumps([_as_json(row) for row in rows], indent=2))
        return
    if not rows:
        console.print("No users yet. Create the first with `carewall init --admin-email EMAIL`.")
        return
    table = Table("Email", "Role", "Status", "MFA", "Last sign-in (UTC)", title="Users")
    for row in rows:
        last = f"{row.last_login_at:%Y-%m-%d %H:%M}" if row.last_login_at else "never"
        mfa = _mfa_text(row) if row.has_mfa or not row.role.is_person else "[red]No MFA[/]"
        table.add_row(row.email, row.role.label, _status_text(row), mfa, last)
    console.print(table)


@app.command("disable")
def disable(email: str = typer.Argument(..., help="Email address of the account.")) -> None:
    """Disable an account: its sessions end at once and its API tokens stop working."""
    with _runtime() as runtime:
        accounts.disable_user(runtime, CALLER, _user_id(runtime, email))
    console.print(f"Disabled {email}; their sessions and API tokens no longer work.")


@app.command("enable")
def enable(email: str = typer.Argument(..., help="Email address of the account.")) -> None:
    """Re-enable a disabled account, or unlock a locked one."""
    with _runtime() as runtime:
        accounts.enable_user(runtime, CALLER, _user_id(runtime, email))
    console.print(f"Enabled {email}; they can sign in again.")


@app.command("reset-mfa")
def reset_mfa(email: str = typer.Argument(..., help="Email address of the account.")) -> None:
    """Remove every second factor of someone who lost theirs; they re-enrol at next sign-in."""
    with _runtime() as runtime:
        accounts.reset_mfa(runtime, CALLER, _user_id(runtime, email))
    console.print(
        f"Removed the second factors of {email} and signed them out. "
        "They set up a new factor after their password at the next sign-in."
    )


def _scopes(values: list[str]) -> list[str]:
    """`--scope a --scope b` or `--scope a,b`; least privilege (api:read) when none given."""
    scopes = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return scopes or ["api:read"]


@app.command("token")
def token(
    email: str = typer.Argument(..., help="Email address of the token's owner."),
    scope: list[str] = typer.Option(
        [], "--scope", help=f"Repeat or comma-separate: {_SCOPE_CHOICES}."
    ),
    name: str = typer.Option("CLI token", "--name", help="What the token is for."),
    expires_days: int | None = typer.Option(
        None, "--expires-days", help="Lifetime in days (default CAREWALL_TOKEN_DAYS)."
    ),
) -> None:
    """Issue an API token for an active user; printed once, alone on stdout."""
    with _runtime() as runtime:
        user_id = _user_id(runtime, email)
        secret, record = apitokens.create_token(
            runtime, CALLER, user_id, name, _scopes(scope), days=expires_days
        )
    err_console.print(
        f"Token {record.name!r} for {email}, scopes {', '.join(record.scopes)}, expires "
        f"{record.expires_at:%Y-%m-%d}. It acts with {email}'s role, never more. "
        "Shown once; store it now:",
        highlight=False,
    )
    typer.echo(secret)
