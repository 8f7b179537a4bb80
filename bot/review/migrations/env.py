"""Alembic environment for the review tables in the tracker-store database.

Separate from bot/migrations (partners and events at DATABASE_URL): its own version table,
`review_alembic_version`, so the two histories never meet even in one database.
"""

from alembic import context

from bot.review.database import VERSION_TABLE, get_engine
from bot.review.schema import metadata

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
            context.run_migrations()


run_migrations()
