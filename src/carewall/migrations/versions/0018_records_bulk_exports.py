"""records: Bulk Data exports and their sealed NDJSON files

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:08:24

`bulk_exports` holds one FHIR `$export` request (who asked, what, its state
and counts; no content); `bulk_export_files` its output files, sealed under
the `records-bulk` data key and deleted when the export expires or is
cancelled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carewall.core.db import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("token_id", sa.String(length=64), nullable=True),
        sa.Column("origin_ip", sa.String(length=64), nullable=False),
        sa.Column("origin_agent", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("types", sa.String(length=4000), nullable=False),
        sa.Column("since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("request_url", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("transaction_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bulk_exports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bulk_exports_status_expires", ["status", "expires_at"], unique=False
        )

    op.create_table(
        "bulk_export_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["bulk_exports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bulk_export_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulk_export_files_export_id"), ["export_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bulk_export_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_export_files_export_id"))

    op.drop_table("bulk_export_files")
    with op.batch_alter_table("bulk_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_exports_status_expires")

    op.drop_table("bulk_exports")
