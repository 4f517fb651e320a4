"""seal what the database showed around the encryption: mail summaries, patient links, reasons

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00

Adds the sealed columns only. A migration has no master key, so existing rows
are sealed by a resumable step that runs at start-up once the key ring is
loaded (`carewall.cli.console.open_cli_runtime`), which then empties the old
clear columns: mail report subject, sender, signals and note
(`phishing.services.seal_legacy_reports`), a portal account's Patient id
(`identity.accounts.seal_patient_links`) and a restriction's reason code
(`records.services.seal_restriction_reasons`). The clear columns stay, empty,
for rows the step has sealed; a later revision can drop them.

The lead renumbers this revision after 0008 at merge (it then revises 0008).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("mail_reports", "summary_sealed"),
    ("mail_reports", "note_sealed"),
    ("users", "patient_id_sealed"),
    ("restricted_compartments", "reason_sealed"),
)


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite has ADD and, since 3.35, DROP COLUMN):
    # batch mode would copy `users` and, with foreign keys on, cascade its drop.
    for table, column in _COLUMNS:
        op.add_column(table, sa.Column(column, sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the sealed columns, refusing while any row holds sealed data.

    Without the key the step cannot be undone here, and dropping the columns
    would lose those subjects, links and reasons for good.
    """
    connection = op.get_bind()
    for table, column in _COLUMNS:
        found = connection.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")  # noqa: S608
        ).first()
        if found is not None:
            raise RuntimeError(
                f"{table}.{column} holds sealed data: revision 0009 cannot be undone "
                "without losing it. Restore a backup taken before the upgrade instead."
            )
    for table, column in reversed(_COLUMNS):
        op.drop_column(table, column)
