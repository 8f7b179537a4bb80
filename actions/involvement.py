"""Tailored patient-involvement guidance for researchers: a form for stage and country."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import CountryValidation, intent_of, is_new_message
from actions.partners import partner_contacts
from bot import form_answers, involvement
from bot.countries import gazetteer

OFFICE_FALLBACK = "I can't look up contacts right now; the ECRIN office can help: https://ecrin.org"


class ValidateInvolvementForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_involvement_form"

    def extract_research_stage(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Any message that describes a stage counts, also while the country is asked
        # ("actually we're recruiting already"); a question never does.
        if not is_new_message(tracker, self.form_name()):
            return {}
        stage = form_answers.stage_answer(
            tracker.latest_message.get("text") or "",
            intent_of(tracker),
            requested=tracker.get_slot("requested_slot") == "research_stage",
        )
        return {"research_stage": stage.key} if stage else {}

    def validate_research_stage(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        stage = involvement.stage_by_key(slot_value) or involvement.stage_from_text(
            str(slot_value or "")
        )
        return {"research_stage": stage.key if stage else None}


def say_guidance(
    dispatcher: CollectingDispatcher, stage_key: str | None, country_name: str | None
) -> None:
    """Guidance for the stage (every stage when unknown) and whom to contact in the country
    (the ECRIN office when unknown)."""
    stage = involvement.stage_by_key(stage_key) or involvement.ALL_STAGES
    contacts = partner_contacts(gazetteer().resolve(country_name)) or OFFICE_FALLBACK
    dispatcher.utter_message(text=involvement.guidance(stage, contacts))


class ActionInvolvementGuidance(Action):
    def name(self) -> str:
        return "action_involvement_guidance"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say_guidance(dispatcher, tracker.get_slot("research_stage"), tracker.get_slot("country"))
        return []
