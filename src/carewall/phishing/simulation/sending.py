"""Sending a campaign's batches through the job runner, each message at most once per claim.

For every recipient of a batch: claim (a conditional UPDATE from pending, or
from a claim whose lease ran out), build and send the message, then mark it
sent; marking one recipient sent and claiming the next is one transaction, so
each message costs one commit. A batch uses up to `CONNECTIONS` SMTP
connections at once, each taking every n-th recipient. Several workers may
run the same batch: the claim lets exactly one of them have each recipient.
A permanent refusal (5xx) is recorded and not retried; a temporary failure
releases the claim and fails the task, which the runner retries with
back-off; after `MAX_ATTEMPTS` a recipient is marked failed.

The crash window, and the choice we made. Between the SMTP server's "250"
to our DATA and the commit that marks the recipient sent there is a moment
in which a crash leaves a claim that lapses with the message delivered but
not recorded (with several connections, one such moment per connection).
No SMTP mechanism lets us ask the server afterwards, so the
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

from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.mail import MailBatch, MailError, MailRefusedError
from carewall.core.runtime import Runtime
from carewall.jobs import JobContext, Task
from carewall.phishing.simulation.events import audit
from carewall.phishing.simulation.library import Scenario, from_content
from carewall.phishing.simulation.marker import SIMULATION_KEY, sign
from carewall.phishing.simulation.models import Campaign, CampaignRecipient
from carewall.phishing.simulation.render import Envelope, Person, build_message
from carewall.phishing.simulation.tags import SimulationTag
from carewall.training import StaffMember

CLAIM_LEASE = timedelta(minutes=2)
#: SMTP connections one batch uses at once (most of a send is waiting for the server).
CONNECTIONS = 4
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


_TABLE = cast(Table, CampaignRecipient.__table__)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one recipient's send ended, to be recorded (with the next claim) in one commit."""

    recipient: _Due
    status: str
    error: str | None = None


def _claim_statement(recipient: _Due, worker: str, now: datetime) -> Any:
    """Take a recipient that is pending, or whose claim lapsed (then flag it as re-sent)."""
    return (
        update(_TABLE)
        .where(_TABLE.c.id == recipient.id, _claimable_core(now))
        .values(
            status=SENDING,
            claimed_by=worker[:100],
            claimed_until=now + CLAIM_LEASE,
            attempts=_TABLE.c.attempts + 1,
            resent_after_interrupt=or_(_TABLE.c.resent_after_interrupt, _TABLE.c.status == SENDING),
        )
    )


def _claimable_core(now: datetime) -> Any:
    return or_(
        _TABLE.c.status == PENDING,
        and_(_TABLE.c.status == SENDING, _TABLE.c.claimed_until < now),
    )


def _settle_and_claim(
    session: Session, caller: Caller, worker: str, done: _Outcome | None, following: _Due | None
) -> bool:
    """Record how the last send ended and claim the next recipient, in one transaction.

    One commit per message instead of two: the "sent" of one recipient and the
    claim of the next become durable together. Returns whether the claim held.
    """
    now = utcnow()
    with session.begin():
        if done is not None:
            _record(session, caller, worker, done, now)
        if following is None:
            return False
        claimed = session.connection().execute(_claim_statement(following, worker, now))
        return bool(claimed.rowcount)


def _record(session: Session, caller: Caller, worker: str, done: _Outcome, now: datetime) -> None:
    values: dict[str, Any] = {
        "status": done.status,
        "claimed_by": None,
        "claimed_until": None,
        "error": done.error,
    }
    if done.status == SENT:
        values["sent_at"] = now
    mine = and_(_TABLE.c.id == done.recipient.id, _TABLE.c.claimed_by == worker[:100])
    session.connection().execute(update(_TABLE).where(mine).values(values))
    if done.status != PENDING:
        tag = {SENT: SimulationTag.MESSAGE_SENT, REFUSED: SimulationTag.MESSAGE_REFUSED}.get(
            done.status, SimulationTag.MESSAGE_FAILED
        )
        subject = f"sim_recipient:{done.recipient.id}"
        audit(session, tag, caller.origin, actor=caller.ref, subject=subject)


def send_batch(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    """The `phishing.campaign.send` task: send one batch of a campaign (idempotent)."""
    runtime = context.runtime
    campaign_id, batch = str(payload["campaign_id"]), int(payload["batch"])
    with runtime.db.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        snapshot = dict(campaign.template)
    due = _due(runtime, campaign_id, batch)
    counts: Counter[str] = Counter()
    if due:
        plan = _Plan(
            from_content(snapshot, builtin=False),
            runtime.keys.data_key(SIMULATION_KEY),
            campaign_id,
            bool(snapshot.get("report_footer", True)),
        )
        counts = _send_in_parallel(context, due, plan)
    finish_if_done(runtime, context.caller, campaign_id)
    if not counts:
        return None
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"campaign {campaign_id[:8]} batch {batch}: {summary}"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every message of a batch shares."""

    scenario: Scenario
    key: bytes
    campaign_id: str
    footer: bool


def _send_in_parallel(context: JobContext, due: list[_Due], plan: _Plan) -> Counter[str]:
    """Send a batch over up to `CONNECTIONS` SMTP connections at once.

    Each connection takes every n-th recipient; the claims keep them apart as
    they keep separate workers apart. Waiting for the server's replies is most
    of the time a message takes, and the waits overlap. A deferral on any
    connection fails the task (after the others finish) so the runner retries.
    """
    slices = [due[i::CONNECTIONS] for i in range(min(CONNECTIONS, len(due)))]

    def run(share: list[_Due]) -> Counter[str]:
        with context.runtime.mail.batch() as connection:
            return _send_all(context, connection, share, plan)

    with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="sim-send") as pool:
        futures = [pool.submit(run, share) for share in slices]
    counts: Counter[str] = Counter()
    problems = []
    for future in futures:
        try:
            counts.update(future.result())
        except MailError as exc:
            problems.append(exc)
    if problems:
        raise problems[0]
    return counts


def _send_all(
    context: JobContext, connection: MailBatch, due: list[_Due], plan: _Plan
) -> Counter[str]:
    """Claim, send and record each recipient in turn (see the module's docstring).

    One session serves the whole share, each step its own transaction.
    """
    runtime, caller, worker = context.runtime, context.caller, context.worker
    counts: Counter[str] = Counter()
    done: _Outcome | None = None
    with runtime.db.sessions() as session:
        for recipient in due:
            claimed = _settle_and_claim(session, caller, worker, done, recipient)
            done = None
            if not claimed:
                continue  # another worker has it, or it is already sent
            try:
                done = _deliver(runtime, connection, recipient, plan)
            except Exception:  # a bug: give the recipient back rather than leave it claimed
                failed = _Outcome(recipient, PENDING, "internal error")
                _settle_and_claim(session, caller, worker, failed, None)
                raise
            counts[done.status] += 1
            if done.status == PENDING:  # a temporary failure: record it, let the runner retry
                _settle_and_claim(session, caller, worker, done, None)
                raise MailError(done.error or "The mail server deferred a message.")
        _settle_and_claim(session, caller, worker, done, None)
    return counts


def _deliver(runtime: Runtime, connection: MailBatch, recipient: _Due, plan: _Plan) -> _Outcome:
    """Build and send one message; how it ended (refused, deferred, failed for good, sent)."""
    marker = sign(plan.key, plan.campaign_id, recipient.rid)
    envelope = Envelope(plan.campaign_id, recipient.rid, recipient.message_id, marker)
    person = Person(recipient.email, recipient.name, recipient.department)
    try:
        message = build_message(
            plan.scenario, person, runtime.settings, envelope, report_footer=plan.footer
        )
        connection.send(message)
    except MailRefusedError as exc:
        return _Outcome(recipient, REFUSED, exc.message[:300])
    except MailError as exc:
        final = recipient.attempts + 1 >= MAX_ATTEMPTS
        return _Outcome(recipient, FAILED if final else PENDING, exc.message[:300])
    return _Outcome(recipient, SENT)


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
    person = Person(address, caller.email)
    message = build_message(scenario, person, runtime.settings, envelope, subject_prefix="[Test] ")
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
