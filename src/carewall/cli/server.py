"""`carewall serve` and `carewall init`."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import typer

from carewall.audit import AuditEvent, AuditTag, record
from carewall.cli import users
from carewall.cli.assembly import current_assembly
from carewall.cli.config import load_settings
from carewall.cli.console import console, err_console, open_cli_runtime

# How long a worker may leave uvicorn's health check unanswered before it is replaced.
WORKER_HEALTHCHECK_SECONDS = 60


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default CAREWALL_HOST)."),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port to listen on (default CAREWALL_PORT)."
    ),
    demo: bool = typer.Option(False, "--demo", help="Seed a demo practice and print its logins."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: the number of CPU cores)."
    ),
) -> None:
    """Migrate the database, then serve the web application."""
    # The web stack costs a second of imports that every other command can skip.
    import uvicorn

    settings = load_settings()
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port, "demo": demo}
    )
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    runtime = open_cli_runtime(settings)
    assembly = current_assembly()
    if demo:
        report = assembly.start_demo(runtime)
        console.print(f"[bold]Demo practice ready[/] ({report.summary()}). Demo logins:")
        for login in report.logins:
            console.print(f"  {login.role:<12} {login.email:<28} {login.password}", highlight=False)
        console.print(
            "  Staff set up an authenticator app (or passkey) at first sign-in, as in production."
        )
        for note in report.notes:
            console.print(f"  {note}", highlight=False, soft_wrap=True)
        if report.pending and not settings.jobs_in_process:
            console.print(
                "  The rest of the demo is queued: run `carewall jobs run` (or a worker) to add it."
            )
    with runtime.db.transaction() as session:
        record(session, AuditEvent(action=AuditTag.SERVER_STARTED, details={"demo": demo}))
    # Browsers allow passkeys on `localhost` but not on an IP literal, so point
    # people at the name when serving on loopback.
    if not settings.base_url and settings.host in {"0.0.0.0", "::"}:
        err_console.print(
            f"[yellow]Warning:[/] links in invitations and FHIR answers will name "
            f"{settings.public_url}. Set CAREWALL_BASE_URL to the address people use.",
            highlight=False,
        )
    host = "localhost" if settings.host == "127.0.0.1" else settings.host
    url = f"{settings.base_url or f'http://{host}:{settings.port}'}".rstrip("/") + "/"
    console.print(f"[green]Carewall is running at[/] [link={url}]{url}[/]  (Ctrl+C to stop)")
    count = workers or default_workers()
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # our middleware logs each request with its request id
        "server_header": False,
        # Uvicorn would believe X-Forwarded-For from 127.0.0.1; only CAREWALL_TRUSTED_PROXIES
        # may name the client (web.proxies).
        "proxy_headers": False,
    }
    if count == 1:
        uvicorn.run(assembly.web_app(runtime), **options)
        return
    # Each worker process opens the migrated database itself (`registry.worker_app`) with
    # the settings of this command, which it reads from the environment it inherits.
    runtime.close()
    os.environ.update(
        CAREWALL_HOST=settings.host, CAREWALL_PORT=str(settings.port), CAREWALL_DEMO=str(demo)
    )
    serve_workers("carewall.registry:worker_app", count, **options)


def serve_workers(app: str, workers: int, **options: Any) -> None:
    """Serve the app factory `app` (an import string) from `workers` processes.

    What `uvicorn.run` does for workers, but on a listening socket that says it is
    TCP: uvicorn opens it with protocol 0, and asyncio then leaves Nagle's algorithm
    on for every accepted connection, so a response written in two parts waits for
    the client's delayed ACK (about 40 ms per request). And with event loops that
    leave a new connection to the worker holding fewer (`cli.balance`), so that
    keep-alive clients spread over the workers instead of queueing on one.
    """
    from uvicorn.supervisors import Multiprocess

    from carewall.cli.balance import BalancedConfig

    config = BalancedConfig(
        app,
        factory=True,
        workers=workers,
        # A worker answers the supervisor's health check only once it has imported the
        # application; uvicorn's 5 s kill a worker still starting on a busy machine.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,
    )
    sock = _tcp(config.bind_socket())
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _tcp(sock: socket.socket) -> socket.socket:
    if sock.family not in {socket.AF_INET, socket.AF_INET6}:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def default_workers() -> int:
    """One worker process per CPU core this process may run on.

    A read is CPU work in Python (token check, matrix, decryption, JSON), which one
    process runs on one core at a time; the audit append no longer serialises them
    (group commit, `audit.services`), and everything that must be shared between
    workers lives in the database (throttles, sessions, job claims, the chain).
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def init(
    admin_email: str | None = typer.Option(
        None,
        "--admin-email",
        help="Also create the first administrator (password from stdin when not a terminal).",
    ),
) -> None:
    """Create the data directory, database and master key (safe to run again)."""
    settings = load_settings()
    runtime = open_cli_runtime(settings)
    try:
        if admin_email is not None:
            users.create_first_admin(runtime, admin_email)
    finally:
        runtime.close()
    console.print(f"[green]Ready[/]: data directory {settings.home.resolve()}")
    if settings.master_key is None:
        console.print(
            f"[yellow]Back up {settings.master_key_path.resolve()} separately from the database.[/]"
        )
