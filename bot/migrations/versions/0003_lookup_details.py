"""Look-up details: partners' contact pages; events' attendance (in person, online or hybrid)
and the organisers' IANA time zone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Existing events get `attendance` from `online` (online-only or in person); `bot db seed`
then fills in the hybrid ones and the time zones from data/db/events.yml.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("contact_url", sa.String(500), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("attendance", sa.String(16), nullable=False, server_default="in_person")
        )
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
    events = sa.table("events", sa.column("online", sa.Boolean), sa.column("attendance"))
    op.execute(events.update().where(events.c.online == sa.true()).values(attendance="online"))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("timezone")
        batch.drop_column("attendance")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("contact_url")
