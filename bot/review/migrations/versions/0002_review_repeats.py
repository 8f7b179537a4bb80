"""Repeated messages (the inbox's "stuck" signal).

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_repeats",
        sa.Column("event_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("speaker", sa.String(8), nullable=False),
        sa.Column("previous_event_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_review_repeats"),
    )
    op.create_index("ix_review_repeats_sender_id", "review_repeats", ["sender_id"])
    # Repeats are computed when a conversation's user messages are copied. Emptying the copy
    # (derived data, nothing staff entered) makes the app's first request copy every message
    # again and so compute the repeats of the conversations stored before this revision.
    op.execute(sa.text("DELETE FROM review_messages"))


def downgrade() -> None:
    op.drop_table("review_repeats")
