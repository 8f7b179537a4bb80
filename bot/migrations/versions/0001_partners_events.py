"""Partners and events.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("acronym", sa.String(40)),
        sa.Column("country", sa.String(2), nullable=False, index=True),
        sa.Column("city", sa.String(100)),
        sa.Column("website", sa.String(300)),
        sa.Column("contact", sa.Text),
        sa.Column("ecrin_status", sa.String(20)),
        sa.Column("status_since", sa.Date),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("last_checked", sa.Date, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("organiser", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("starts_at", UTCDateTime, index=True),
        sa.Column("ends_at", UTCDateTime),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("location", sa.String(200)),
        sa.Column("country", sa.String(2)),
        sa.Column("url", sa.String(500)),
        sa.Column("description", sa.Text),
        sa.Column("source_url", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("partners")
