"""Review tables, and indexes on Rasa's events table for the inbox.

Revision ID: r0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None

# As bot.tracker_db.schema.EVENT_INDEXES was at this revision (a migration must not change when
# the schema module does).
EVENT_INDEXES = {
    "ix_review_events_sender_type_time": ("sender_id", "type_name", "timestamp"),
    "ix_review_events_time": ("timestamp",),
    "ix_review_events_type_intent": ("type_name", "intent_name"),
    "ix_review_events_type_action": ("type_name", "action_name"),
}


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("events"):
        # A fresh database that Rasa has not written to yet: create its table exactly as
        # Rasa would (it skips tables that exist), so our indexes have something to index.
        from rasa.core.tracker_store import SQLTrackerStore

        SQLTrackerStore.Base.metadata.create_all(bind, tables=[SQLTrackerStore.SQLEvent.__table__])
    existing = {index["name"] for index in sa.inspect(bind).get_indexes("events")}
    for name, columns in EVENT_INDEXES.items():
        if name not in existing:
            op.create_index(name, "events", list(columns))

    op.create_table(
        "review_messages",
        sa.Column("event_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("channel", sa.String(32)),
        sa.Column("intent", sa.String(255)),
        sa.Column("confidence", sa.Float),
        sa.Column("response_key", sa.String(255)),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_review_messages"),
    )
    op.create_index("ix_review_messages_sender_id", "review_messages", ["sender_id"])
    op.create_index("ix_review_messages_timestamp", "review_messages", ["timestamp"])
    op.create_index("ix_review_messages_intent", "review_messages", ["intent"])
    op.create_table(
        "review_staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_staff"),
        sa.UniqueConstraint("username", name="uq_review_staff_username"),
    )
    op.create_table(
        "review_login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.Float, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_login_attempts"),
    )
    op.create_index(
        "ix_review_login_attempts_username_ip_attempted_at",
        "review_login_attempts",
        ["username", "ip", "attempted_at"],
    )
    op.create_table(
        "review_conversations",
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("updated_by", sa.String(80)),
        sa.PrimaryKeyConstraint("sender_id", name="pk_review_conversations"),
    )
    op.create_index("ix_review_conversations_status", "review_conversations", ["status"])
    op.create_table(
        "review_tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("colour", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_tags"),
        sa.UniqueConstraint("name", name="uq_review_tags_name"),
    )
    op.create_table(
        "review_conversation_tags",
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("tag_id", sa.Integer, nullable=False),
        sa.Column("added_by", sa.String(80)),
        sa.Column("added_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "tag_id", name="pk_review_conversation_tags"),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["review_tags.id"],
            name="fk_review_conversation_tags_tag_id_review_tags",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_review_conversation_tags_tag_id", "review_conversation_tags", ["tag_id"])
    op.create_table(
        "review_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("author", sa.String(80)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_notes"),
    )
    op.create_index("ix_review_notes_sender_id", "review_notes", ["sender_id"])
    op.create_table(
        "review_flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("flagged_by", sa.String(80)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_flags"),
        sa.UniqueConstraint("event_id", name="uq_review_flags_event_id"),
    )
    op.create_index("ix_review_flags_sender_id", "review_flags", ["sender_id"])
    op.create_table(
        "review_nlu_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("predicted", sa.String(255)),
        sa.Column("label", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("labelled_by", sa.String(80)),
        sa.Column("labelled_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_nlu_labels"),
        sa.UniqueConstraint("event_id", name="uq_review_nlu_labels_event_id"),
    )
    op.create_index("ix_review_nlu_labels_sender_id", "review_nlu_labels", ["sender_id"])
    op.create_index("ix_review_nlu_labels_status_label", "review_nlu_labels", ["status", "label"])


def downgrade() -> None:
    for table in (
        "review_messages",
        "review_nlu_labels",
        "review_flags",
        "review_notes",
        "review_conversation_tags",
        "review_tags",
        "review_conversations",
        "review_login_attempts",
        "review_staff",
    ):
        op.drop_table(table)
    existing = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("events")}
    for name in EVENT_INDEXES:
        if name in existing:
            op.drop_index(name, table_name="events")
