"""What events are coming up."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot import events
from bot.db import session_scope

logger = logging.getLogger(__name__)


class ActionFindEvents(Action):
    def name(self) -> str:
        return "action_find_events"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.timezone.utc)
        try:
            with session_scope() as session:
                text = events.answer(events.upcoming(session, now), now.date())
        except SQLAlchemyError:
            logger.exception("Event look-up failed")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return []
        dispatcher.utter_message(text=text)
        return []
