"""Rasa's SQL tracker store, configured by one URL (`TRACKER_STORE_URL`), that masks personal
data (e-mail addresses, phone numbers, card numbers, IBANs, national ID numbers:
bot/masking.py) before anything is written.

Rasa's own `type: SQL` needs dialect, host, port, database… as separate keys, and its
endpoint files fail when an environment variable they name is unset. One URL with an
embedded SQLite default keeps `rasa shell` working with no set-up and PostgreSQL one
variable away.

Two changes for a database that fails (docs/reliability.md, "Faults"):

* every wait is bounded (bot.db.bounded_connect_args) and a pooled connection is checked
  before use, so a restarted database costs no request;
* the database calls run in a worker thread: Rasa 3.6 runs them on the event loop, where a
  slow database stalls every conversation of the server, and its health check with them.

Rasa's own fail-safe wrapper, which hid the failures of this store behind an in-memory one,
is removed in bot.rasa_ext.server.fail_loudly_on_tracker_store_errors.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.core.tracker_store import create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

from bot.db import bounded_connect_args
from bot.masking import mask_event
from bot.rasa_ext.registry import patch
from bot.settings import tracker_store_url


@patch(
    why="personal data masked before storage; bounded waits; database calls off the event loop",
    upstream=[
        "rasa.core.tracker_store._load_from_module_name_in_endpoint_config",
        "rasa.core.tracker_store.create_engine_kwargs",
        "rasa.core.tracker_store.SQLTrackerStore.SQLEvent",
        "rasa.core.tracker_store.SQLTrackerStore.__init__",
        "rasa.core.tracker_store.SQLTrackerStore.session_scope",
        "rasa.core.tracker_store.SQLTrackerStore.keys",
        "rasa.core.tracker_store.SQLTrackerStore._retrieve",
        "rasa.core.tracker_store.SQLTrackerStore._event_query",
        "rasa.core.tracker_store.SQLTrackerStore.save",
        "rasa.core.tracker_store.SQLTrackerStore._additional_events",
        "rasa.core.tracker_store.TrackerStore.stream_events",
        "rasa.core.tracker_store.TrackerStore._stream_new_events",
    ],
    tests=[
        "tests/review/test_masking.py::test_the_real_tracker_store_masks_before_storing",
        "tests/test_faults.py::test_the_tracker_store_raises_quickly_when_its_database_is_gone",
    ],
)
class SQLTrackerStore(RasaSQLTrackerStore):
    """Rasa's `SQLTrackerStore`
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/tracker_store.py) with a new engine,
    and `keys`, `_retrieve`, `save` and `_stream_new_events` rewritten: Rasa's, masked and
    in a worker thread. Rasa creates it from endpoints.yml
    (`type: bot.rasa_ext.tracker_store.SQLTrackerStore`) with the section's `url` as `host`.
    """

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
        # Rasa builds its engine with no timeouts and no pre-ping, and offers no setting for
        # either; the tables exist by now, so the engine is swapped for one that has both.
        url = self.engine.url.render_as_string(hide_password=False)
        options = create_engine_kwargs(url)  # Rasa's pool sizes and PostgreSQL schema
        connect_args = bounded_connect_args(url)
        if "options" in options.get("connect_args", {}):
            connect_args["options"] += " " + options["connect_args"]["options"]
        options["connect_args"] = connect_args
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **options)
        self.sessionmaker = sessionmaker(bind=self.engine)

    async def keys(self) -> list[str]:
        return await asyncio.to_thread(self._keys)

    def _keys(self) -> list[str]:
        with self.session_scope() as session:
            rows = session.query(self.SQLEvent.sender_id).distinct().all()
            return [sender_id for (sender_id,) in rows]

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa 3.6's `_retrieve`, in a worker thread."""
        return await asyncio.to_thread(
            self._retrieve_in_thread, sender_id, fetch_events_from_all_sessions
        )

    def _retrieve_in_thread(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events, with personal data masked.

        Rasa 3.6's `SQLTrackerStore.save`, except that each event is masked before it is
        serialised (the conversation in memory keeps the original text for this turn: the
        NLU and the safety guard have already seen it, the database never sees it), and the
        database work runs in a worker thread. The number of stored events is unchanged, so
        Rasa's "which events are new" count still holds on the next turn. One transaction:
        a failure stores none of the turn's events.
        """
        await self.stream_events(tracker)
        await asyncio.to_thread(self._save_in_thread, tracker)

    def _save_in_thread(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = mask_event(event.as_dict())
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=_intent_name(data),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: list[Event], sender_id: str
    ) -> None:
        # An event broker (none is configured today) gets the same masked events as the
        # database, so no copy of the personal data leaves through it.
        for event in new_events:
            event_broker.publish({"sender_id": sender_id, **mask_event(event.as_dict())})


def _intent_name(event: dict[str, Any]) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return intent.get("name")
