"""What events are coming up (or happened), by kind, audience, organiser, place and date."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.language import language_of
from bot import dates, events, i18n, ical
from bot.countries import Country, gazetteer
from bot.db import session_scope

logger = logging.getLogger(__name__)

# "any courses there?" after a country was named: the conversation's country (and the same
# in French, German, Spanish and Italian: "là-bas", "dort", "allí", "lì").
_THERE = re.compile(
    r"\b(there|that country|over there|in my country|where i (live|am))\b"
    r"|(là-bas|\bla-bas|\bdans ce pays|\bdans mon pays|\bdort\b|\bin diesem land"
    r"|\bin meinem land|\ballí\b|\balli\b|\ballá\b|\ben ese país|\ben mi país|\blì\b"
    r"|\bin quel paese|\bnel mio paese)",
    re.I,
)


def say_events(
    dispatcher: CollectingDispatcher,
    text: str,
    page: int = 1,
    country: Country | None = None,
    language: str | None = None,
) -> bool:
    """Answers the events question `text` (in `country` when given) in `language`; False if
    the database is unavailable (the user is told, and the error logged).

    The events the answer lists travel with it as a custom payload (bot/ical.py
    event_entries): the web chat and Telegram show each as a card (bot/presentation.py), with
    an "Add to calendar" link where it has a date to come; the text stays as it is, which the
    REST channel answers."""
    today = dates.today()
    query = events.parse_query(text, today)
    if country is not None:
        query = replace(query, country=country.iso)
    try:
        with session_scope() as session:
            result = events.answer(session, query, today, page, language)
            # Inside the session: the listed rows are read before it closes.
            listed = ical.event_entries(result.listed, today)
    except SQLAlchemyError:
        logger.exception("Event look-up failed")
        dispatcher.utter_message(response="utter_lookup_unavailable")
        return False
    buttons = []
    if result.has_more:
        payload = "/ask_events" + json.dumps({"events_page": str(page + 1)})
        buttons.append({"title": i18n.text("events.show_more", language), "payload": payload})
    dispatcher.utter_message(
        text=result.text,
        buttons=buttons,
        json_message={ical.PAYLOAD_KEY: listed} if listed else None,
    )
    return True


class ActionFindEvents(Action):
    def name(self) -> str:
        return "action_find_events"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # "Show more" buttons send /ask_events{"events_page": "2"}: same question, next page.
        page_value = next(tracker.get_latest_entity_values("events_page"), None)
        page = int(page_value) if str(page_value or "").isdigit() else 1
        text = (
            tracker.get_slot("events_query") if page > 1 else None
        ) or tracker.latest_message.get("text", "")
        if page == 1 and _THERE.search(text) and not gazetteer().find_in(text):
            country = gazetteer().resolve(tracker.get_slot("country"))
            if country is not None:
                text = f"{text} in {country.name}"
        if not say_events(dispatcher, text, page, language=language_of(tracker)):
            return []
        return [SlotSet("events_query", text)]
