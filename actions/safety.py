"""The reply to someone who mentions suicide or self-harm: care, 112, and a crisis line for
their country (composed in bot/crisis_lines.py, which also answers when the database is
down), in the conversation's language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import crisis_lines
from bot.language import conversation_language


class ActionSelfHarm(Action):
    def name(self) -> str:
        return "action_self_harm"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text")
        language = conversation_language(tracker.events)
        reply = crisis_lines.reply(text, tracker.get_slot("country"), language=language)
        dispatcher.utter_message(text=reply)
        return []
