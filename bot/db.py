"""Database engine and sessions for partners and events (SQLAlchemy 1.4, 2.0-style).

One engine per URL and process: the action server and the staff tools share this module
instead of opening connections their own way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import database_url

# How long a database call may wait, on the chat's hot path (look-ups, the tracker store): a
# database that does not answer costs the user one polite apology, never a hung server. An
# action's look-up then ends well within ACTION_TIMEOUT's default (bot/settings/variables.py).
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 10


def bounded_connect_args(
    url: str,
    connect: float = CONNECT_TIMEOUT_SECONDS,
    statement: float = STATEMENT_TIMEOUT_SECONDS,
    lock: float | None = None,
) -> dict[str, Any]:
    """The driver arguments that bound every wait on `url`'s database, in seconds: to connect
    (PostgreSQL) or for a busy file (SQLite), and for a statement and a row lock
    (PostgreSQL; `lock` defaults to `statement`)."""
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        statement_ms, lock_ms = int(statement * 1000), int((lock or statement) * 1000)
        return {
            "connect_timeout": max(1, round(connect)),
            "options": f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}",
        }
    if backend == "sqlite":
        # Threads share the engine's pooled connections (calls run off the event loop).
        return {"timeout": connect, "check_same_thread": False}
    return {}


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: `DATABASE_URL`, read at each call), one per URL."""
    return _engine_for(url or database_url())


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = create_engine(
        url, future=True, pool_pre_ping=True, connect_args=bounded_connect_args(url)
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # SQLite ignores foreign keys unless asked, and WAL lets the staff tools write while
    # the action server reads.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = sessionmaker(bind=get_engine(url), future=True)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema up to `revision` with the Alembic migrations in bot/migrations."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    url = url or database_url()
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with migration_lock(url):
        command.upgrade(config, revision)


# Any constant works, as long as every process uses the same one: "ecrin-migrations".
MIGRATION_LOCK = zlib.crc32(b"ecrin-migrations")


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock on `url`'s database while the caller migrates it.

    Alembic takes no lock of its own: two replicas starting at once on a new database both
    find no version table, both run CREATE TABLE, and one of them crashes. With this lock the
    second waits, then finds the schema at head and does nothing. Other databases (SQLite, for
    one machine) get no lock.
    """
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, future=True, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        if engine.dialect.name != "postgresql":
            yield
            return
        try:
            connection = engine.connect()
        except sa.exc.OperationalError as error:
            where = engine.url.render_as_string(hide_password=True)
            raise SystemExit(f"Cannot migrate {where}: {error.orig}".strip()) from None
        with connection:
            connection.execute(sa.text("SET lock_timeout = '300s'"))
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                yield
            finally:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                )
    finally:
        engine.dispose()
