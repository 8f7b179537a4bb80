"""Every engine on the tracker-store database bounds its waits (bot.tracker_db.engine): a
review page on a database that holds a lock fails within the bound instead of hanging a
worker thread."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bot.review.database import upgrade
from bot.tracker_db import engine
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.store import ConversationStore
from tests.review.conftest import WEB_ID
from tests.review.seeding import HELLO, Chat, save_chats


def test_a_locked_events_table_fails_a_review_page_within_the_bound(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before the first engine on this (new) database is made: engines keep their bounds.
    monkeypatch.setattr(engine, "DATABASE_TIMEOUT_SECONDS", 1)
    upgrade(postgres_database)
    save_chats(postgres_database, [Chat(WEB_ID, [HELLO])])
    store = ConversationStore(engine.get_engine(postgres_database))
    assert store.inbox(InboxFilters()).total == 1
    blocker = sa.create_engine(postgres_database, future=True)
    try:
        with blocker.begin() as connection:
            connection.execute(sa.text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                store.inbox(InboxFilters())
            assert time.monotonic() - started < 5
    finally:
        blocker.dispose()
        engine.get_engine(postgres_database).dispose()


def test_every_connection_carries_the_bounds(postgres_database: str) -> None:
    """As PostgreSQL reports them: lock waits of DATABASE_TIMEOUT_SECONDS, statements six
    times that (a dashboard over a year, a purge of many rows)."""
    upgrade(postgres_database)
    with engine.get_engine(postgres_database).connect() as connection:
        bound = connection.execute(sa.text("SHOW statement_timeout")).scalar()
        locks = connection.execute(sa.text("SHOW lock_timeout")).scalar()
    engine.get_engine(postgres_database).dispose()
    assert (bound, locks) == ("1min", "10s")
