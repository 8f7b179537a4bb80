"""Crisis lines per country, named to people who mention suicide or self-harm.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Empty after the migration: `bot db seed` loads the checked rows from data/db/crisis_lines.yml.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column("country", sa.String(2), nullable=False, index=True),
        sa.Column("rank", sa.Integer, nullable=False, server_default="1"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(80), nullable=False),
        sa.Column("hours", sa.String(200)),
        sa.Column("notes", sa.Text),
        sa.Column("website", sa.String(300)),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("last_checked", sa.Date, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("crisis_lines")
