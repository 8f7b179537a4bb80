"""The review tables' migrations (Alembic, `bot/review/migrations/`, version table
`review_alembic_version`) in the tracker-store database.

The engine is bot.tracker_db.engine's, the same one the app queries with; the tables are
described in bot.tracker_db.schema.
"""

from __future__ import annotations

from pathlib import Path

from bot.db import migration_lock
from bot.settings import tracker_store_url
from bot.tracker_db.engine import get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "review_alembic_version"


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
