"""What the two forms share: taking a country as an answer, and asking their questions.

The forms accept only messages that look like an answer (bot/form_answers.py); anything else
makes them step aside so the dialogue rules can answer it, and then they ask again, briefly.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from bot import form_answers, plan_chat
from bot.conversation import ASK_RESPONSES, asked_since_activation
from bot.countries import gazetteer


def intent_of(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def is_new_message(tracker: Tracker, form: str) -> bool:
    """Whether the form runs on the user's latest message, not on its way back after the
    rules answered that message (which then must not be read as an answer a second time).

    Rasa shows the validation action the conversation with the form's own run appended, so
    the question is whether anything but slot updates and `form` came after the message.
    """
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return True
        if kind == "action" and event.get("name") != form:
            return False
    return False


class CountryValidation:
    """`extract_country` and `validate_country` for every form that asks for a country."""

    def extract_country(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # The domain's entity mappings take places from messages about where the user is;
        # this also takes a bare answer the classifier filed elsewhere ("España", "I'm Swiss").
        if tracker.get_slot("requested_slot") != "country" or not is_new_message(
            tracker, self.form_name()
        ):
            return {}
        country = form_answers.country_answer(
            tracker.latest_message.get("text") or "", intent_of(tracker)
        )
        return {"country": country.name} if country else {}

    def validate_country(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """The country's English name ("Deutschland", "Dublin" -> ...); in a correction such
        as "not Greece, Cyprus" the one the user means, not the first one named."""
        text = tracker.latest_message.get("text") or ""
        country = gazetteer().find_meant(text) or gazetteer().resolve(str(slot_value or ""))
        return {"country": country.name if country else None}


class AskOnceThenBriefly:
    """Asks a form's question in full the first time, and briefly after a digression.

    A mixin, not an Action: rasa-sdk registers every Action subclass by its name."""

    slot: str

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        form = tracker.active_loop.get("name") or ""
        asks = [name for name in ASK_RESPONSES if name.startswith(f"utter_ask_{self.slot}")]
        if asked_since_activation(tracker.events, form, asks):
            dispatcher.utter_message(response=f"utter_ask_{self.slot}_again")
        else:
            self.ask_first(dispatcher, tracker, form)
        return []

    def ask_first(self, dispatcher: CollectingDispatcher, tracker: Tracker, form: str) -> None:
        dispatcher.utter_message(response=f"utter_ask_{self.slot}")


class ActionAskCountry(AskOnceThenBriefly, Action):
    slot = "country"

    def ask_first(self, dispatcher: CollectingDispatcher, tracker: Tracker, form: str) -> None:
        # After the researcher named their stage, say it was understood before moving on:
        # "the design and running stages", in the conversation's language.
        stages = list(tracker.get_slot("research_stage") or [])
        if form == "involvement_form" and stages:
            stage = plan_chat.stages_phrase(stages, language_of(tracker), key="the")
            dispatcher.utter_message(response="utter_ask_country_for_guidance", stage=stage)
        else:
            super().ask_first(dispatcher, tracker, form)


class ActionAskResearchStage(AskOnceThenBriefly, Action):
    slot = "research_stage"
