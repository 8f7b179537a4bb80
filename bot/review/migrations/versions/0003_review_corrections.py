"""Live corrections: relabelled wordings every Rasa replica answers with their new label.

Revision ID: r0003
Revises: r0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("normalised", sa.Text, nullable=False),
        sa.Column("normalised_key", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("predicted", sa.String(255)),
        sa.Column("event_id", sa.Integer),
        sa.Column("created_by", sa.String(80)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("undone_by", sa.String(80)),
        sa.Column("undone_at", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_review_corrections"),
    )
    # One active correction per wording, however many were undone before it.
    op.create_index(
        "uq_review_corrections_active_key",
        "review_corrections",
        ["normalised_key"],
        unique=True,
        sqlite_where=sa.text("undone_at IS NULL"),
        postgresql_where=sa.text("undone_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("review_corrections")
