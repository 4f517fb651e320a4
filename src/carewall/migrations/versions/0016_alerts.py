"""alerts: alerts and their review, the detectors' cursor, change tallies; identity suspensions

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 19:00:00

New tables only: nothing existing changes, so it runs the same on an empty
database and on one with data (the detectors' first run starts at the
beginning of the trail and learns from entries older than a day without
opening alerts for them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("detector", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.Column("user_ref", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("explanation", sa.String(length=600), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("seqs", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=254), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("evidence_at", _TS, nullable=False),
        sa.Column("mailed_at", _TS, nullable=True),
        sa.Column("suspension_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alerts_status", "alerts", ["status", "severity"])
    op.create_index("ix_alerts_created", "alerts", ["created_at"])
    op.create_index("ix_alerts_user", "alerts", ["user_ref"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_table(
        "alert_detector_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alert_change_tallies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_change_tallies_channel", "alert_change_tallies", ["channel", "at"])
    op.create_table(
        "identity_suspensions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("lifted_at", _TS, nullable=True),
        sa.Column("lifted_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_identity_suspensions_channel", "identity_suspensions", ["channel", "lifted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_identity_suspensions_channel", table_name="identity_suspensions")
    op.drop_table("identity_suspensions")
    op.drop_index("ix_alert_change_tallies_channel", table_name="alert_change_tallies")
    op.drop_table("alert_change_tallies")
    op.drop_table("alert_detector_cursor")
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_user", table_name="alerts")
    op.drop_index("ix_alerts_created", table_name="alerts")
    op.drop_index("ix_alerts_status", table_name="alerts")
    op.drop_table("alerts")
