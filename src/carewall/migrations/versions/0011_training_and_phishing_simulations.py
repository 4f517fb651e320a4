"""training and phishing simulations: staff directory, groups, assignments, quizzes,
learner links, reminders; simulation templates, campaigns, recipients, tracked events

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:09:30.784101
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sim_campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("landing", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("send_now", sa.Boolean(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("assign_training", sa.Boolean(), nullable=False),
        sa.Column("remedial_module", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sim_templates",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("base_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "staff_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "staff_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("department", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=120), nullable=False),
        sa.Column("manager_email", sa.String(length=254), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "sim_recipients",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("department", sa.String(length=120), nullable=False),
        sa.Column("rid", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resent_after_interrupt", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["sim_campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rid"),
    )
    with op.batch_alter_table("sim_recipients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sim_recipients_campaign_batch", ["campaign_id", "batch"], unique=False
        )
        batch_op.create_index("ix_sim_recipients_member", ["member_id"], unique=False)

    op.create_table(
        "staff_group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["staff_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "member_id"),
    )
    op.create_table(
        "training_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("module_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("dedupe", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=120), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("best_score", sa.Integer(), nullable=True),
        sa.Column("certificate", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe"),
    )
    with op.batch_alter_table("training_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_training_assignments_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_training_assignments_member", ["member_id", "status"], unique=False
        )

    op.create_table(
        "training_learner_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("training_learner_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_learner_links_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "sim_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("scanner", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("reclassified_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["sim_campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_id"], ["sim_recipients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sim_events", schema=None) as batch_op:
        batch_op.create_index("ix_sim_events_campaign_kind", ["campaign_id", "kind"], unique=False)
        batch_op.create_index("ix_sim_events_recipient", ["recipient_id"], unique=False)

    op.create_table(
        "training_quiz_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["training_assignments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_quiz_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_quiz_attempts_assignment_id"), ["assignment_id"], unique=False
        )

    op.create_table(
        "training_reminders",
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["training_assignments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assignment_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("training_reminders")
    with op.batch_alter_table("training_quiz_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_quiz_attempts_assignment_id"))

    op.drop_table("training_quiz_attempts")
    with op.batch_alter_table("sim_events", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_events_recipient")
        batch_op.drop_index("ix_sim_events_campaign_kind")

    op.drop_table("sim_events")
    with op.batch_alter_table("training_learner_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_learner_links_member_id"))

    op.drop_table("training_learner_links")
    with op.batch_alter_table("training_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_training_assignments_member")
        batch_op.drop_index("ix_training_assignments_due")

    op.drop_table("training_assignments")
    op.drop_table("staff_group_members")
    with op.batch_alter_table("sim_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_recipients_member")
        batch_op.drop_index("ix_sim_recipients_campaign_batch")

    op.drop_table("sim_recipients")
    op.drop_table("staff_members")
    op.drop_table("staff_groups")
    op.drop_table("sim_templates")
    op.drop_table("sim_campaigns")
