"""The engines on the tracker-store database, the only place that opens one.

Two kinds, both with every wait bounded (bot.db.bounded_connect_args), so a database that
does not answer is reported instead of hanging a worker thread or the Rasa server:

* `get_engine(url)`: one pooled engine per URL and process, for the review app, the CLI and
  the review migrations;
* `short_lived_engine(url)`: an engine without a pool for one erasure or purge, disposed
  right after. Those run inside the Rasa server ("Forget me") and `bot run` (retention),
  which otherwise never touch this database: no connection stays open between two calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from bot.db import bounded_connect_args
from bot.settings import tracker_store_url

# How long any call waits to connect and (PostgreSQL) for a row or table lock. Read at each
# engine's creation, so a test may shorten it.
DATABASE_TIMEOUT_SECONDS = 10
# A statement may run this many times longer: a purge deletes many rows at once, and a
# dashboard over a year reads many.
STATEMENT_TIMEOUT_FACTOR = 6


def _connect_args(url: str) -> dict:
    return bounded_connect_args(
        url,
        connect=DATABASE_TIMEOUT_SECONDS,
        statement=DATABASE_TIMEOUT_SECONDS * STATEMENT_TIMEOUT_FACTOR,
        lock=DATABASE_TIMEOUT_SECONDS,
    )


def get_engine(url: str | None = None) -> Engine:
    """The pooled engine for `url` (default: `TRACKER_STORE_URL`, read at each call), one
    per URL."""
    return _engine_for(url or tracker_store_url())


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = sa.create_engine(url, future=True, pool_pre_ping=True, connect_args=_connect_args(url))
    if engine.dialect.name == "sqlite":
        # Tag links cascade when a tag goes. No WAL here, unlike bot.db: the tracker store
        # is Rasa's file too, and WAL would leave -wal/-shm files beside tracker.db.
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def short_lived_engine(url: str | None = None) -> Iterator[Engine]:
    """An engine on `url` (default: the tracker store) without a pool, disposed on exit."""
    url = url or tracker_store_url()
    engine = sa.create_engine(url, future=True, poolclass=NullPool, connect_args=_connect_args(url))
    try:
        yield engine
    finally:
        engine.dispose()
