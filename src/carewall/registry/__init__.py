"""The composition root: the registered domains, and the app, CLI and demo built from them.

Adding a domain is one module here (its `Domain`) and one line in `DOMAINS`;
the web app, the command line, the demo, the job runner, the data keys,
Alembic's model list and the risk report's evidence all read this list.
Nothing below this package imports it: it hands each layer what it needs.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo import Phase, Seeder, SeedReport
from carewall.demo import seed_demo as run_seeders
from carewall.jobs import JobRegistry, enqueue
from carewall.registry.alerts import ALERTS
from carewall.registry.backup import BACKUP
from carewall.registry.domain import Domain, EvidenceProvider
from carewall.registry.identity import IDENTITY
from carewall.registry.jobs import JOBS
from carewall.registry.phishing import PHISHING
from carewall.registry.platform import DEMO_LATER_TASK, PLATFORM
from carewall.registry.records import RECORDS
from carewall.registry.risk import RISK
from carewall.registry.training import TRAINING

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI

# Order matters for the demo (seeders run in this order) and the navigation ties.
# Backup comes last so that the demo's first backup holds every other domain's demo data.
DOMAINS: tuple[Domain, ...] = (
    PLATFORM,
    JOBS,
    IDENTITY,
    RECORDS,
    TRAINING,
    PHISHING,
    ALERTS,
    RISK,
    BACKUP,
)

__all__ = [
    "DOMAINS",
    "Domain",
    "cli_app",
    "create_app",
    "evidence_providers",
    "import_models",
    "install",
    "job_registry",
    "main",
    "seed_demo",
    "seed_demo_later",
    "seeders",
    "start_demo",
]


@cache
def job_registry() -> JobRegistry:
    """Every registered job and task kind."""
    return JobRegistry(
        jobs=[job for domain in DOMAINS for job in domain.jobs],
        tasks=[task for domain in DOMAINS for task in domain.tasks],
    )


def seeders() -> list[Seeder]:
    """The demo practice's steps, domain by domain."""
    return [seeder for domain in DOMAINS for seeder in domain.seeders]


def seed_demo(runtime: Runtime) -> SeedReport:
    """Seed the demo practice (idempotent): every domain's seeders, in registration order."""
    return run_seeders(install(runtime), seeders())


def start_demo(runtime: Runtime) -> SeedReport:
    """Seed what the demo needs before its server starts, and queue the rest.

    The later steps (`Seeder.later`) run as the `demo.seed.later` task, which the
    server's in-process job runner picks up at its first tick: the demo answers
    `/healthz` within seconds and fills up while people sign in.
    """
    report = run_seeders(install(runtime), seeders(), Phase.FIRST)
    if report.pending:
        with runtime.db.transaction() as session:
            enqueue(session, Caller.cli("demo"), DEMO_LATER_TASK, {})
    return report


def seed_demo_later(runtime: Runtime) -> SeedReport:
    """The demo's later steps (the `demo.seed.later` task)."""
    return run_seeders(install(runtime), seeders(), Phase.LATER)


def evidence_providers() -> dict[str, EvidenceProvider]:
    """The risk report's evidence sections, by name."""
    providers: dict[str, EvidenceProvider] = {}
    for domain in DOMAINS:
        providers.update(domain.evidence)
    return providers


def import_models() -> None:
    """Import every domain's models so their tables are on `Base.metadata` (Alembic)."""
    for domain in DOMAINS:
        for module in domain.models:
            importlib.import_module(module)


def install(runtime: Runtime) -> Runtime:
    """Finish an opened runtime once: create every data key up front, run the data
    upgrades that need the keys, and subscribe the hooks."""
    if runtime.installed:
        return runtime
    for domain in DOMAINS:
        for purpose in domain.data_keys:
            runtime.keys.data_key(purpose)
    for domain in DOMAINS:
        for upgrade in domain.upgrades:
            upgrade(runtime)
    for domain in DOMAINS:
        if domain.subscribe is not None:
            domain.subscribe(runtime.hooks)
    for domain in DOMAINS:
        if domain.on_install is not None:
            domain.on_install(runtime)
    runtime.installed = True
    return runtime


def create_app(runtime: Runtime) -> FastAPI:
    """The web application with every registered domain's routes and links."""
    from carewall.web.app import create_app as build

    install(runtime)
    parts = [domain.web() for domain in DOMAINS if domain.web is not None]
    return build(runtime, parts, job_registry())


def served_app(runtime: Runtime) -> FastAPI:
    """`create_app` for `carewall serve`: every route prepared before the first request."""
    from carewall.web.app import prepare_routes

    app = create_app(runtime)
    prepare_routes(app)
    return app


def worker_app() -> FastAPI:
    """The web application of one `carewall serve --workers N` worker process.

    The serving command has migrated the database and set up its keys and demo
    before starting the workers; each opens it with the settings it inherits in
    its environment (CAREWALL_*), without migrating again.
    """
    import logging

    from carewall.core.config import Settings
    from carewall.core.runtime import open_runtime

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    _stop_with_parent()
    return served_app(open_runtime(settings, migrate=False))


def _stop_with_parent() -> None:
    """Shut this worker down (SIGTERM, as uvicorn's supervisor would) if the serving
    process dies without stopping it, e.g. killed with SIGKILL: an orphaned worker
    would go on serving the port with nobody to restart or stop it."""
    import os
    import signal
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="carewall-parent-watch", daemon=True).start()


def cli_app() -> typer.Typer:
    """The `carewall` command with every registered domain's commands."""
    from carewall.cli.assembly import Assembly
    from carewall.cli.main import build_cli

    assembly = Assembly(
        install=install,
        web_app=served_app,
        seed_demo=seed_demo,
        start_demo=start_demo,
        jobs=job_registry(),
    )
    parts = [domain.cli() for domain in DOMAINS if domain.cli is not None]
    return build_cli(assembly, parts)


def main() -> None:
    """Console-script entry point (`carewall`, `python -m carewall`)."""
    from carewall.cli.main import run

    run(cli_app())
