"""The tracker-store database as the review app uses it: one engine per URL, migrations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import migration_lock
from bot.settings import tracker_store_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "review_alembic_version"


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: `TRACKER_STORE_URL`, read at each call), one per URL."""
    return _engine_for(url or tracker_store_url())


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        # Tag links cascade when a tag goes. No WAL here, unlike bot.db: the tracker store
        # is Rasa's file too, and WAL would leave -wal/-shm files beside tracker.db.
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(url: str | None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or tracker_store_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the review tables (and our indexes on `events`) up to `revision`."""
    from alembic import command

    url = url or tracker_store_url()
    with migration_lock(url):  # replicas starting together take turns
        command.upgrade(_alembic_config(url), revision)
    # The caller may be a long-running process (bot run) that never queries this database
    # again: hand the connections back.
    get_engine(url).dispose()


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Undo the review migrations down to `revision` ("base": remove everything they added;
    Rasa's events and their rows stay)."""
    from alembic import command

    command.downgrade(_alembic_config(url), revision)
    get_engine(url).dispose()


def like_pattern(term: str) -> str:
    """`term` as a LIKE pattern matching it anywhere, its wildcards escaped (escape "\\")."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
