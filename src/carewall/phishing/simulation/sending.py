"""Sending a campaign's batches through the job runner, each message at most once per claim.

For every recipient of a batch: claim (a conditional UPDATE from pending, or
from a claim whose lease ran out), build and send the message on the batch's
one SMTP connection, then mark it sent in its own transaction. Several
workers may run the same batch: the claim lets exactly one of them have each
recipient. A permanent refusal (5xx) is recorded and not retried; a
temporary failure releases the claim and fails the task, which the runner
retries with back-off; after `MAX_ATTEMPTS` a recipient is marked failed.

The crash window, and the choice we made. Between the SMTP server's "250"
to our DATA and the commit that marks the recipient sent there is a moment
in which a crash leaves a claim that lapses with the message delivered but
not recorded. No SMTP mechanism lets us ask the server afterwards, so the
choice is between losing a message and maybe sending it twice. We send it
again (at least once): a simulation nobody received would falsely count as
"not clicked", while a duplicate is harmless and recognisable, because it
carries the same Message-ID (`<rid@sim-domain>`, which many mail stores
deduplicate) and the same signed marker, and every tracked event is keyed by
recipient, so figures count the person once. Such a recipient is flagged
`resent_after_interrupt` for the administrator. A crash anywhere else
(before DATA is accepted, e.g. a worker killed while the server is still
answering) loses nothing and duplicates nothing: the server did not accept
the message, and the lapsed claim is simply sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.mail import MailBatch, MailError, MailRefusedError
from carewall.core.runtime import Runtime
from carewall.jobs import JobContext, Task
from carewall.phishing.simulation.events import audit
from carewall.phishing.simulation.library import from_content
from carewall.phishing.simulation.marker import SIMULATION_KEY, sign
from carewall.phishing.simulation.models import Campaign, CampaignRecipient
from carewall.phishing.simulation.render import Envelope, Person, build_message
from carewall.phishing.simulation.tags import SimulationTag
from carewall.training import StaffMember

CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
PENDING, SENDING, SENT, REFUSED, FAILED = "pending", "sending", "sent", "refused", "failed"


@dataclass(frozen=True, slots=True)
class _Due:
    id: str
    email: str
    rid: str
    message_id: str
    attempts: int
    status: str
    name: str
    department: str


def _claimable(now: Any) -> Any:
    return or_(
        CampaignRecipient.status == PENDING,
        and_(CampaignRecipient.status == SENDING, CampaignRecipient.claimed_until < now),
    )


def _due(runtime: Runtime, campaign_id: str, batch: int) -> list[_Due]:
    now = utcnow()
    query = (
        select(CampaignRecipient, StaffMember.name)
        .join(StaffMember, StaffMember.id == CampaignRecipient.member_id)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.batch == batch,
            CampaignRecipient.scheduled_at <= now + timedelta(seconds=60),
            _claimable(now),
        )
        .order_by(CampaignRecipient.scheduled_at)
    )
    with runtime.db.sessions() as session:
        return [
            _Due(r.id, r.email, r.rid, r.message_id, r.attempts, r.status, name, r.department)
            for r, name in session.execute(query)
        ]


def _claim(runtime: Runtime, recipient: _Due, worker: str) -> bool:
    now = utcnow()
    claim = (
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient.id, _claimable(now))
        .values(
            status=SENDING,
            claimed_by=worker[:100],
            claimed_until=now + CLAIM_LEASE,
            attempts=CampaignRecipient.attempts + 1,
            resent_after_interrupt=or_(
                CampaignRecipient.resent_after_interrupt, CampaignRecipient.status == SENDING
            ),
        )
    )
    with runtime.db.transaction() as session:
        return bool(session.execute(claim).rowcount)  # type: ignore[attr-defined]


def _finish(
    runtime: Runtime, caller: Caller, recipient: _Due, worker: str, status: str, error: str | None
) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "claimed_by": None,
        "claimed_until": None,
        "error": error,
    }
    if status == SENT:
        values["sent_at"] = now
    tag = {SENT: SimulationTag.MESSAGE_SENT, REFUSED: SimulationTag.MESSAGE_REFUSED}.get(
        status, SimulationTag.MESSAGE_FAILED
    )
    with runtime.db.transaction() as session:
        session.execute(
            update(CampaignRecipient)
            .where(
                CampaignRecipient.id == recipient.id, CampaignRecipient.claimed_by == worker[:100]
            )
            .values(values)
        )
        if status != PENDING:
            audit(
                session,
                tag,
                caller.origin,
                actor=caller.ref,
                subject=f"sim_recipient:{recipient.id}",
            )


def send_batch(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    """The `phishing.campaign.send` task: send one batch of a campaign (idempotent)."""
    runtime = context.runtime
    campaign_id, batch = str(payload["campaign_id"]), int(payload["batch"])
    key = runtime.keys.data_key(SIMULATION_KEY)
    with runtime.db.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        snapshot = dict(campaign.template)
    scenario = from_content(snapshot, builtin=False)
    footer = bool(snapshot.get("report_footer", True))
    due = _due(runtime, campaign_id, batch)
    counts = {SENT: 0, REFUSED: 0, FAILED: 0}
    if due:
        with runtime.mail.batch() as connection:
            for recipient in due:
                outcome = _send_one(
                    context, connection, recipient, scenario, key, campaign_id, footer
                )
                if outcome in counts:
                    counts[outcome] += 1
    finish_if_done(runtime, context.caller, campaign_id)
    if not any(counts.values()):
        return None
    return f"campaign {campaign_id[:8]} batch {batch}: " + ", ".join(
        f"{n} {k}" for k, n in counts.items() if n
    )


def _send_one(
    context: JobContext,
    connection: MailBatch,
    recipient: _Due,
    scenario: Any,
    key: bytes,
    campaign_id: str,
    footer: bool,
) -> str | None:
    runtime, worker = context.runtime, context.worker
    if not _claim(runtime, recipient, worker):
        return None  # another worker has it
    envelope = Envelope(
        campaign_id, recipient.rid, recipient.message_id, sign(key, campaign_id, recipient.rid)
    )
    person = Person(recipient.email, recipient.name, recipient.department)
    message = build_message(scenario, person, runtime.settings, envelope, report_footer=footer)
    try:
        connection.send(message)
    except MailRefusedError as exc:
        _finish(runtime, context.caller, recipient, worker, REFUSED, exc.message[:300])
        return REFUSED
    except MailError as exc:
        if recipient.attempts + 1 >= MAX_ATTEMPTS:
            _finish(runtime, context.caller, recipient, worker, FAILED, exc.message[:300])
            return FAILED
        _finish(runtime, context.caller, recipient, worker, PENDING, exc.message[:300])
        raise  # the runner retries the batch with back-off
    _finish(runtime, context.caller, recipient, worker, SENT, None)
    return SENT


def finish_if_done(runtime: Runtime, caller: Caller, campaign_id: str) -> bool:
    """Mark the campaign finished once no recipient is waiting or being sent."""
    with runtime.db.transaction() as session:
        waiting = session.scalar(
            select(CampaignRecipient.id)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status.in_((PENDING, SENDING)),
            )
            .limit(1)
        )
        if waiting is not None:
            return False
        done = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status == "sending")
            .values(status="finished", finished_at=utcnow())
        )
        if done.rowcount:  # type: ignore[attr-defined]
            audit(
                session,
                SimulationTag.CAMPAIGN_FINISHED,
                caller.origin,
                actor=caller.ref,
                subject=f"campaign:{campaign_id}",
            )
        return True


def test_send(runtime: Runtime, caller: Caller, template_id: str, to: str) -> None:
    """Send one copy of a template to the administrator themself, marked as a test.

    Its links lead nowhere (the tracking id belongs to no campaign), and its
    marker is signed so the analyzer recognises it as ours.
    """
    import secrets

    from carewall.core.errors import ValidationError
    from carewall.phishing.simulation.templates import template_in
    from carewall.training import check_address

    address = check_address(runtime.settings, to)
    if not runtime.mail.enabled:
        raise ValidationError("Outgoing mail is off: set CAREWALL_SMTP_HOST to send a test.")
    key = runtime.keys.data_key(SIMULATION_KEY)
    with runtime.db.sessions() as session:
        scenario = template_in(session, template_id)
    rid, test_campaign = secrets.token_urlsafe(16), "00000000-0000-0000-0000-000000000000"
    envelope = Envelope(
        test_campaign,
        rid,
        f"<{rid}@{runtime.settings.campaign_sender_domain}>",
        sign(key, test_campaign, rid),
    )
    message = build_message(scenario, Person(address, caller.email), runtime.settings, envelope)
    subject = str(message["Subject"])
    del message["Subject"]
    message["Subject"] = f"[Test] {subject}"
    with runtime.mail.batch() as connection:
        connection.send(message)
    with runtime.db.transaction() as session:
        audit(
            session,
            SimulationTag.TEMPLATE_TEST_SENT,
            caller.origin,
            actor=caller.ref,
            subject=f"template:{template_id}",
        )


#: The queued task kind of one batch; each recipient is claimed before it is sent.
SEND_TASK = Task(
    "phishing.campaign.send",
    send_batch,
    description="Send one batch of a simulated phishing campaign.",
    max_attempts=MAX_ATTEMPTS + 1,
    backoff=timedelta(seconds=30),
)
