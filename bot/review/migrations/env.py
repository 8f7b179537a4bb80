"""Alembic environment for the review tables in the tracker-store database.

Separate from bot/migrations (partners and events at DATABASE_URL): its own version table,
`review_alembic_version`, so the two histories never meet even in one database.
"""

import sqlalchemy as sa
from alembic import context

from bot.review.database import VERSION_TABLE
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import metadata

config = context.config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Autogenerate must only ever see our tables, never Rasa's events or anyone else's.
    if type_ == "table":
        return name.startswith("review_")
    return True


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or None
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=VERSION_TABLE,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # The engine bounds every statement (bot.tracker_db.engine); a migration may
                # build an index on a large events table. Connecting and lock waits stay bounded.
                connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
            context.run_migrations()


run_migrations()
