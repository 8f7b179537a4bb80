"""Alembic environment: migrates the database named by the caller (default DATABASE_URL)."""

from alembic import context

from bot.db import get_engine
from bot.models import Base

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or None
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
