"""Each user message's detected language (issue 22): the inbox's and NLU inbox's filter, and
the language a labelled example is exported under.

Revision ID: r0005
Revises: r0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "r0005"
down_revision = "r0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add an indexed column to a table in place on every version.
    with op.batch_alter_table("review_messages") as table:
        table.add_column(sa.Column("language", sa.String(16)))
        table.create_index("ix_review_messages_language", ["language"])
    with op.batch_alter_table("review_nlu_labels") as table:
        table.add_column(sa.Column("language", sa.String(16)))
    # The language is read when a message is copied out of Rasa's JSON. Emptying the copy
    # (derived data, nothing staff entered; as r0002 did) makes the app's first request copy
    # every message again, with its language.
    op.execute(sa.text("DELETE FROM review_messages"))


def downgrade() -> None:
    with op.batch_alter_table("review_nlu_labels") as table:
        table.drop_column("language")
    with op.batch_alter_table("review_messages") as table:
        table.drop_index("ix_review_messages_language")
        table.drop_column("language")
