"""Rasa's SQL tracker store, configured by one URL (`TRACKER_STORE_URL`).

Rasa's own `type: SQL` needs dialect, host, port, database… as separate keys, and its
endpoint files fail when an environment variable they name is unset. One URL with an
embedded SQLite default keeps `rasa shell` working with no set-up and PostgreSQL one
variable away.
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.settings import tracker_store_url


class SQLTrackerStore(RasaSQLTrackerStore):
    """Configure as `type: bot.tracker_store.SQLTrackerStore` in endpoints.yml."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        # Rasa treats a host containing "://" as a complete SQLAlchemy URL.
        super().__init__(
            domain=domain, host=host or tracker_store_url(), event_broker=event_broker, **kwargs
        )
