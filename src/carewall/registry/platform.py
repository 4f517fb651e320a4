"""The platform itself: health, home, configuration, keys, the audit trail, serving."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from carewall import audit
from carewall.audit import AuditTag, entry_count, last_verification, latest_checkpoint
from carewall.core.clock import utcnow
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.jobs import Job, JobContext, Task
from carewall.registry.domain import Domain
from carewall.web.nav import EVERYONE_SIGNED_IN, NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart

log = logging.getLogger(__name__)


def _encryption_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `encryption` evidence section: how data is encrypted at rest, and key rotation age.

    Records are encrypted by construction (the vault has no plaintext column);
    the figures that change are the master key's age and the data keys it wraps.
    """
    now = utcnow()
    facts = runtime.keys.facts()
    since = facts.active_since
    return {
        "as_of": now.isoformat(),
        "records_encrypted": True,
        "algorithm": "AES-256-GCM envelope encryption, data keys wrapped with AES key wrap",
        "master_key_source": "environment" if runtime.settings.master_key else "key file",
        "master_key_version": facts.active_version,
        "master_key_since": since.isoformat() if since else None,
        "master_key_age_days": (now - since).days if since else None,
        "data_keys": facts.data_keys,
        "data_keys_on_older_versions": facts.data_keys_on_older_versions,
    }


def _audit_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `audit` evidence section: the last chain verification (as_of is when it ran)
    and the newest signed checkpoint (as stored; `carewall audit verify` checks it)."""
    with runtime.db.sessions() as session:
        last = last_verification(session)
        entries = entry_count(session)
        signed = latest_checkpoint(session)
    checkpoint = (
        None
        if signed is None
        else {
            "seq": signed.seq,
            "head_hash": signed.head_hash,
            "created": signed.created.isoformat(),
            "key_fingerprint": signed.key_fingerprint,
        }
    )
    if last is None:
        return {"as_of": None, "entries_now": entries, "checkpoint": checkpoint}
    count, position = last.details.get("count"), last.details.get("position")
    return {
        "as_of": last.ts.isoformat(),
        "intact": last.action == AuditTag.CHAIN_VERIFIED,
        "entries_verified": count if isinstance(count, int) else None,
        "broken_at": position if isinstance(position, int) else None,
        "checkpoints_compared": last.details.get("checkpoints"),
        "verification_entry": last.seq,
        "entries_now": entries,
        "checkpoint": checkpoint,
    }


def _write_due_checkpoint(context: JobContext) -> str | None:
    audit.write_due_checkpoint(context.runtime, context.caller)
    return None  # the checkpoint's own entry records it (see write_due_checkpoint)


def _seed_demo_later(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    """Run the demo's later steps (idempotent: a step that ran is skipped)."""
    from carewall.registry import seed_demo_later  # the registry imports this module

    report = seed_demo_later(context.runtime)
    log.info("demo: every seeding step has run")  # tests and people watching wait for this
    return f"demo: {len(report.ran)} later seeding step(s) ran" if report.ran else None


DEMO_LATER_TASK = Task(
    "demo.seed.later",
    _seed_demo_later,
    "The demo practice's slower seeding steps (most patients, training, campaigns, "
    "reported mail, the risk assessment, a backup), run once the demo server answers.",
    max_attempts=3,
)


def _web() -> WebPart:
    from carewall.web import home_panels
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import audit_viewer, health, home

    auditor = roles(Role.AUDITOR)
    return WebPart(
        routers=(health.router, home.router, audit_viewer.router),
        # Alerts (a later domain) add their own panel with order < 10: open alerts come first.
        home=(HomePanel("home/_auditor.html", auditor, home_panels.links_panel, 10),),
        nav=(
            NavItem("Home", "/", order=0),
            NavItem("Audit trail", "/admin/audit", roles(Role.ADMIN, Role.AUDITOR), order=49),
            NavItem("Account", "/account/security", EVERYONE_SIGNED_IN, order=90),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import audit, config, keys, server
    from carewall.cli.assembly import CliPart

    return CliPart(
        groups=(("config", config.app), ("audit", audit.app), ("keys", keys.app)),
        commands=(("serve", server.serve), ("init", server.init)),
    )


PLATFORM = Domain(
    name="platform",
    models=("carewall.core.models", "carewall.audit.models", "carewall.demo.framework"),
    data_keys=("web-csrf", *audit.DATA_KEYS),
    upgrades=(audit.seal_unkeyed_range,),
    jobs=(
        Job(
            "audit.checkpoint.write",
            _write_due_checkpoint,
            every=timedelta(minutes=1),
            description="Sign a checkpoint of the audit trail when one is due "
            "(CAREWALL_AUDIT_CHECKPOINT_EVERY_ENTRIES / _EVERY_MINUTES).",
        ),
    ),
    evidence={"encryption": _encryption_evidence, "audit": _audit_evidence},
    tasks=(DEMO_LATER_TASK,),
    web=_web,
    cli=_cli,
)
