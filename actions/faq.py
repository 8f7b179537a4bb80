"""FAQ answers picked from "did you mean …?" buttons, and the buttons themselves."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.suggestions import SOMETHING_ELSE, faq_titles, suggest


class ActionAnswerFaq(Action):
    """Answers `/faq_pick{"faq_key": ...}` with that topic's response."""

    def name(self) -> str:
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        faq_key = next(tracker.get_latest_entity_values("faq_key"), None)
        if faq_key not in faq_titles():
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response=f"utter_{faq_key}")
        return []


class ActionDidYouMean(Action):
    """Replaces Rasa's "Did you mean 'faq_trials'?" with readable questions as buttons."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        suggestions = suggest(tracker.latest_message)
        if not suggestions:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [s.as_button() for s in suggestions] + [SOMETHING_ELSE]
        dispatcher.utter_message(text="I'm not sure I understood. Did you mean:", buttons=buttons)
        return []
