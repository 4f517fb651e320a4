"""records: encrypted FHIR resource versions, blind indexes, restriction and break-glass

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_resources",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("logical_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=True),
        sa.Column("content_mac", sa.String(length=64), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_type", "logical_id", "version_id", name="uq_fhir_version"),
    )
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fhir_current", ["resource_type", "logical_id", "is_current"], unique=False
        )
        batch_op.create_index("ix_fhir_patient_ref", ["patient_ref", "is_current"], unique=False)

    op.create_table(
        "fhir_search_index",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("param", sa.String(length=32), nullable=False),
        sa.Column("value_hmac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["fhir_resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fhir_search_index", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fhir_search_index_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index("ix_fhir_search_value", ["value_hmac"], unique=False)

    op.create_table(
        "restricted_compartments",
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_ref"),
    )

    op.create_table(
        "break_glass_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_break_glass_user_patient", ["user_id", "patient_ref"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_break_glass_user_patient")
    op.drop_table("break_glass_grants")
    op.drop_table("restricted_compartments")
    with op.batch_alter_table("fhir_search_index", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_search_value")
        batch_op.drop_index(batch_op.f("ix_fhir_search_index_resource_id"))
    op.drop_table("fhir_search_index")
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_patient_ref")
        batch_op.drop_index("ix_fhir_current")
    op.drop_table("fhir_resources")
