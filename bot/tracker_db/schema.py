"""The tables of the tracker-store database: Rasa's `events`, as we read it, and the review
app's `review_*` tables beside it.

The `review_*` tables are owned by the migrations in `bot/review/migrations/` (the review
app creates and upgrades them); `events` is owned by Rasa (described here only to query it).
Times are epoch seconds (floats), as in Rasa's `events.timestamp`, so both compare directly
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# reviewer: reads everything; editor: also changes events and partners; admin: everything.
ROLES = ("reviewer", "editor", "admin")
STATUSES = ("unread", "reviewed", "saved")
LABEL_STATUSES = ("correct", "relabelled", "dismissed")
TAG_COLOURS = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple")

staff = sa.Table(
    "review_staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

login_attempts = sa.Table(
    "review_login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("attempted_at", sa.Float, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index(None, "username", "ip", "attempted_at"),
)

conversations = sa.Table(
    "review_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("updated_by", sa.String(80)),
    sa.Index(None, "status"),
)

tags = sa.Table(
    "review_tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("colour", sa.String(16), nullable=False),
)

conversation_tags = sa.Table(
    "review_conversation_tags",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column(
        "tag_id",
        sa.Integer,
        sa.ForeignKey("review_tags.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("added_by", sa.String(80)),
    sa.Column("added_at", sa.Float, nullable=False),
)

notes = sa.Table(
    "review_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("author", sa.String(80)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# A flag or a label points at one stored event by its id; there is no foreign key to Rasa's
# table (we never change its schema), and erasure deletes these rows with the events.
flags = sa.Table(
    "review_flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),
    sa.Column("flagged_by", sa.String(80)),
    sa.Column("created_at", sa.Float, nullable=False),
)

nlu_labels = sa.Table(
    "review_nlu_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    # The (already masked) message, kept so the export does not depend on the JSON layout.
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted", sa.String(255)),
    sa.Column("label", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("labelled_by", sa.String(80)),
    sa.Column("labelled_at", sa.Float, nullable=False),
    # The message's detected language, kept so the export groups examples by language.
    sa.Column("language", sa.String(16)),
    sa.Index(None, "status", "label"),
)

# One row per stored user message, read once out of Rasa's JSON (`bot.tracker_db.messages`):
# filtering on channel, intent, confidence and text then needs no JSON parsing per request,
# the same on SQLite and PostgreSQL. A derived copy, deleted with the conversation.
messages = sa.Table(
    "review_messages",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, index=True),
    sa.Column("channel", sa.String(32)),
    sa.Column("intent", sa.String(255), index=True),
    sa.Column("confidence", sa.Float),
    sa.Column("response_key", sa.String(255)),
    sa.Column("text", sa.Text, nullable=False),
    # The detected language (parse data `language.code`, issue 22): the inbox's filter.
    sa.Column("language", sa.String(16), index=True),
)

# One row per message that repeats the one before it, user or assistant (the "stuck" signal,
# `bot.tracker_db.stuck`): recomputed for a conversation whenever it gets a new user message, so
# the inbox filters on it with one small sub-query. Derived, deleted with the conversation.
repeats = sa.Table(
    "review_repeats",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("speaker", sa.String(8), nullable=False),  # "user" or "bot"
    # The earlier message it repeats (for the transcript's link).
    sa.Column("previous_event_id", sa.Integer, nullable=False),
)

# Live corrections (`bot.tracker_db.corrections`): a relabelled message's wording and its new
# label, which every Rasa replica applies to new messages with the same wording. An undone
# correction keeps its row (who undid it, when). At most one active row per wording: the
# unique index covers active rows only, and is on a hash of the wording, as a message of up
# to 2,000 characters can be longer than PostgreSQL indexes. Staff's work, like a training
# example: not a per-conversation table (erasure and purge leave it; it holds masked text).
corrections = sa.Table(
    "review_corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("normalised", sa.Text, nullable=False),
    sa.Column("normalised_key", sa.String(64), nullable=False),  # SHA-256 of `normalised`
    sa.Column("text", sa.Text, nullable=False),  # the message as stored (masked)
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("predicted", sa.String(255)),
    sa.Column("event_id", sa.Integer),
    sa.Column("created_by", sa.String(80)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("undone_by", sa.String(80)),
    sa.Column("undone_at", sa.Float),
    sa.Index(
        "uq_review_corrections_active_key",
        "normalised_key",
        unique=True,
        sqlite_where=sa.text("undone_at IS NULL"),
        postgresql_where=sa.text("undone_at IS NULL"),
    ),
)

# The trained models (bot/model_store.py): one row per training job and its archive; the
# partial unique indexes let at most one row be live and one be training (the job's lock).
MODEL_STATUSES = ("training", "candidate", "live", "rejected", "retired", "failed")
models = sa.Table(
    "review_models",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # "20261207-0815-3f2a": sorts by time
    sa.Column("file_name", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16)),  # while training: preparing, training, evaluating, gate
    sa.Column("method", sa.String(16)),  # finetune or full
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("base_model_id", sa.String(40)),
    sa.Column("data_digest", sa.String(64)),
    sa.Column("config_digest", sa.String(64)),
    sa.Column("corrections_count", sa.Integer),
    sa.Column("evaluation", sa.Text),  # JSON
    sa.Column("reasons", sa.Text),  # JSON list
    sa.Column("log_path", sa.String(500)),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(255)),
    sa.Column("heartbeat_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Index(
        "uq_review_models_live",
        "status",
        unique=True,
        sqlite_where=sa.text("status = 'live'"),
        postgresql_where=sa.text("status = 'live'"),
    ),
    sa.Index(
        "uq_review_models_training",
        "status",
        unique=True,
        sqlite_where=sa.text("status = 'training'"),
        postgresql_where=sa.text("status = 'training'"),
    ),
)

# Who put which model live, and when: the audit of deployments and rollbacks, and the
# dashboard's markers.
deployments = sa.Table(
    "review_deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.String(40), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # deploy or rollback
    sa.Column("deployed_by", sa.String(80), nullable=False),
    sa.Column("deployed_at", sa.Float, nullable=False, index=True),
    sa.Column("previous_model_id", sa.String(40)),
)

# Tables with rows about one conversation: erasure and purge delete them with its events.
CONVERSATION_TABLES = (
    "review_messages",
    "review_repeats",
    "review_conversations",
    "review_conversation_tags",
    "review_notes",
    "review_flags",
    "review_nlu_labels",
)
# Of those, the tables whose rows are about one message (and copy its text): a purge deletes
# them with the message, even when the conversation goes on.
MESSAGE_TABLES = ("review_messages", "review_repeats", "review_flags", "review_nlu_labels")

# Rasa's table, as Rasa 3.6 creates it (rasa.core.tracker_store.SQLTrackerStore.SQLEvent).
rasa_metadata = sa.MetaData()
events = sa.Table(
    "events",
    rasa_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

# Our indexes on Rasa's table, created by our migration (names prefixed so they never clash
# with Rasa's own ix_events_sender_id). (sender_id, type_name, timestamp) also serves Rasa's
# own "latest session start" query on every message.
EVENT_INDEXES = {
    "ix_review_events_sender_type_time": ("sender_id", "type_name", "timestamp"),
    "ix_review_events_time": ("timestamp",),
    "ix_review_events_type_intent": ("type_name", "intent_name"),
    "ix_review_events_type_action": ("type_name", "action_name"),
}
