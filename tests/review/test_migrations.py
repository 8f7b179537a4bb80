"""The review tables' migrations: own version table, Rasa's rows untouched, schema as declared."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.review.database import VERSION_TABLE, downgrade, upgrade
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import EVENT_INDEXES, metadata
from tests.review.seeding import HELLO, PLACEBO, Chat, save_chats

REVIEW_TABLES = {
    "review_staff",
    "review_login_attempts",
    "review_conversations",
    "review_tags",
    "review_conversation_tags",
    "review_notes",
    "review_flags",
    "review_nlu_labels",
    "review_messages",
    "review_repeats",
    "review_corrections",
    "review_models",
    "review_deployments",
}


def _events(url: str) -> list[tuple]:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text("SELECT * FROM events ORDER BY id")).all()


def test_upgrade_adds_tables_and_indexes_and_leaves_rasas_rows_alone(tracker_url: str) -> None:
    save_chats(tracker_url, [Chat("before", [HELLO, PLACEBO])])
    before = _events(tracker_url)

    upgrade(tracker_url)
    upgrade(tracker_url)  # idempotent

    inspector = sa.inspect(get_engine(tracker_url))
    assert REVIEW_TABLES | {VERSION_TABLE, "events"} <= set(inspector.get_table_names())
    indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("events")}
    for name, columns in EVENT_INDEXES.items():
        assert indexes[name] == list(columns)
    assert "ix_events_sender_id" in indexes  # Rasa's own index is still there
    assert _events(tracker_url) == before


def test_a_new_database_gets_rasas_events_table_and_rasa_still_writes_to_it(
    tracker_url: str,
) -> None:
    upgrade(tracker_url)
    save_chats(tracker_url, [Chat("after", [HELLO])])
    assert len(_events(tracker_url)) > 3


def test_migrations_match_the_declared_tables(tracker_url: str) -> None:
    upgrade(tracker_url)
    with get_engine(tracker_url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": lambda obj, name, kind, reflected, other: (
                    kind != "table" or name.startswith("review_")
                ),
                "version_table": VERSION_TABLE,
            },
        )
        assert compare_metadata(context, metadata) == []


def test_the_review_history_has_its_own_version_table(tracker_url: str) -> None:
    """bot/migrations keeps `alembic_version` (in the DATABASE_URL database); ours never
    writes there, so neither history can mistake the other's revision for its own."""
    upgrade(tracker_url)
    tables = set(sa.inspect(get_engine(tracker_url)).get_table_names())
    assert "alembic_version" not in tables
    with get_engine(tracker_url).connect() as connection:
        review = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    assert review == "r0005"


def test_downgrade_removes_only_what_the_review_migration_added(tracker_url: str) -> None:
    save_chats(tracker_url, [Chat("kept", [HELLO])])
    before = _events(tracker_url)
    upgrade(tracker_url)
    downgrade(tracker_url)
    inspector = sa.inspect(get_engine(tracker_url))
    assert not REVIEW_TABLES & set(inspector.get_table_names())
    assert {index["name"] for index in inspector.get_indexes("events")} == {"ix_events_sender_id"}
    assert _events(tracker_url) == before
