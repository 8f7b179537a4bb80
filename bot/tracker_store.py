"""Rasa's SQL tracker store, configured by one URL (`TRACKER_STORE_URL`), that masks personal
data (e-mail addresses, phone numbers, card numbers, IBANs, national ID numbers:
bot/privacy.py) before anything is written.

Rasa's own `type: SQL` needs dialect, host, port, database… as separate keys, and its
endpoint files fail when an environment variable they name is unset. One URL with an
embedded SQLite default keeps `rasa shell` working with no set-up and PostgreSQL one
variable away.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import mask_event
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

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events, with personal data masked.

        Rasa 3.6's `SQLTrackerStore.save`, except that each event is masked before it is
        serialised: the conversation in memory keeps the original text for this turn (the
        NLU and the safety guard have already seen it), the database never sees it. The
        number of stored events is unchanged, so Rasa's "which events are new" count still
        holds on the next turn.
        """
        await self.stream_events(tracker)
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
