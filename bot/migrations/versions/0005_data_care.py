"""Staff keep events and partners current: recurring days, soft retirement, check dates, an
audit trail of every change and the result of each link check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

`retired_at` hides a row from the assistant without deleting it (staff can restore it);
`recurrence` is an iCalendar RRULE for days held every year (bot/recurrence.py);
`data_changes` records who changed what and when (bot/audit.py); `link_checks` keeps the last
answer of every address staff publish (bot/link_check.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as events:
        events.add_column(sa.Column("recurrence", sa.String(200)))
        events.add_column(sa.Column("retired_at", sa.DateTime(timezone=True)))
        events.add_column(sa.Column("last_checked", sa.Date))
    with op.batch_alter_table("partners") as partners:
        partners.add_column(sa.Column("retired_at", sa.DateTime(timezone=True)))
    op.create_table(
        "data_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("staff", sa.String(80), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, index=True),
        # JSON: {"field": [before, after], …}, values as text.
        sa.Column("changes", sa.Text, nullable=False),
        sa.Index("ix_data_changes_row", "table_name", "slug"),
    )
    op.create_table(
        "link_checks",
        sa.Column("url", sa.String(500), primary_key=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("link_checks")
    op.drop_index("ix_data_changes_row", table_name="data_changes")
    op.drop_table("data_changes")
    with op.batch_alter_table("partners") as partners:
        partners.drop_column("retired_at")
    with op.batch_alter_table("events") as events:
        events.drop_column("last_checked")
        events.drop_column("retired_at")
        events.drop_column("recurrence")
