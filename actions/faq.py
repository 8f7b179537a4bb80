"""FAQ answers chosen by buttons or by context, and the "did you mean …?" buttons."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from bot import i18n
from bot.conversation import faq_in_context, faq_ranking, previous_faq_key
from bot.suggestions import (
    INTENT_TITLES,
    SOMETHING_ELSE,
    faq_key_of,
    faq_title,
    faq_titles,
    suggest,
)


def chosen_faq_key(tracker: Tracker) -> str | None:
    """The topic to answer: a picked button's, else the previous answer's context, else the
    response selector's own first choice."""
    picked = next(tracker.get_latest_entity_values("faq_key"), None)
    if picked:
        return picked
    message = tracker.latest_message
    in_context = faq_in_context(
        message.get("text") or "", message, previous_faq_key(tracker.events)
    )
    ranking = faq_ranking(message)
    return in_context or (ranking[0][0] if ranking else None)


class ActionAnswerFaq(Action):
    """Answers `/faq_pick{"faq_key": ...}` with that topic's response, and follow-ups that
    bot.policies.FollowUpPolicy hands over with the topic they mean in context."""

    def name(self) -> str:
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        faq_key = chosen_faq_key(tracker)
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
        language = language_of(tracker)
        dispatcher.utter_message(
            text=i18n.text("repair.did_you_mean", language),
            buttons=[translated_button(button, language) for button in buttons],
        )
        return []


def translated_button(button: dict[str, str], language: str) -> dict[str, str]:
    """A suggestion button with its title in `language` (an FAQ topic's question, an intent's,
    "Something else"); the payload never changes, so the answer is the same in any language."""
    faq_key = faq_key_of(button["payload"])
    if faq_key is not None:
        return {**button, "title": faq_title(faq_key, language) or button["title"]}
    intent = button["payload"].removeprefix("/")
    if intent in INTENT_TITLES:
        return {**button, "title": i18n.text(f"intent_title.{intent}", language)}
    if button == SOMETHING_ELSE:
        return {**button, "title": i18n.text("button.something_else", language)}
    return button
