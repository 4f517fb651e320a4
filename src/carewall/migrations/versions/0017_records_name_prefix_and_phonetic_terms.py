"""records: names get prefix and phonetic search terms (re-index scheduled)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 19:00:00

Staff find patients by the beginning of a name and FHIR's `family`, `given`
and `name` match prefixes, so every current version with a name now carries
prefix terms and a Soundex term (`records.store.terms`). Search terms are keyed
HMACs over decrypted content, which migrations cannot read: this revision
schedules the re-index task (`records_index_tasks`) when the vault holds
rows, and `records.store.reindex` back-fills the terms when the runtime opens
(`carewall serve`, `init` and every command; `carewall records reindex` too).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM fhir_resources LIMIT 1")).first():
        return
    pending = bind.execute(
        sa.text("SELECT 1 FROM records_index_tasks WHERE name = :name"), {"name": REINDEX_TASK}
    ).first()
    if pending:  # a scheduled pass starts from the beginning and rebuilds the terms too
        return
    tasks = sa.table(
        "records_index_tasks",
        sa.column("name", sa.String),
        sa.column("after", sa.String),
        sa.column("examined", sa.Integer),
        sa.column("changed", sa.Integer),
    )
    op.bulk_insert(tasks, [{"name": REINDEX_TASK, "after": "", "examined": 0, "changed": 0}])


def downgrade() -> None:
    """The extra terms are harmless to older code, which never looks them up."""
