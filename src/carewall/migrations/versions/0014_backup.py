"""backup: runs (backups, verifications, drills, pruning), snapshots seen, open alerts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("bytes_processed", sa.BigInteger(), nullable=True),
        sa.Column("bytes_added", sa.BigInteger(), nullable=True),
        sa.Column("files", sa.Integer(), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("records_checked", sa.Integer(), nullable=True),
        sa.Column("chain_entries", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backup_runs_kind", "backup_runs", ["kind"])
    op.create_index("ix_backup_runs_started_at", "backup_runs", ["started_at"])
    op.create_table(
        "backup_snapshots",
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("short_id", sa.String(length=16), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hostname", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("added_bytes", sa.BigInteger(), nullable=True),
        sa.Column("files", sa.Integer(), nullable=True),
        sa.Column("carewall_version", sa.String(length=32), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id"),
    )
    op.create_index("ix_backup_snapshots_taken_at", "backup_snapshots", ["taken_at"])
    op.create_table(
        "backup_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed", sa.Integer(), nullable=False),
        sa.Column("email_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backup_alerts_kind", "backup_alerts", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_backup_alerts_kind", table_name="backup_alerts")
    op.drop_table("backup_alerts")
    op.drop_index("ix_backup_snapshots_taken_at", table_name="backup_snapshots")
    op.drop_table("backup_snapshots")
    op.drop_index("ix_backup_runs_started_at", table_name="backup_runs")
    op.drop_index("ix_backup_runs_kind", table_name="backup_runs")
    op.drop_table("backup_runs")
