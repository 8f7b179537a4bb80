"""Tailored patient-involvement guidance for researchers: a form for stage and country."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.partners import CountryValidation, partner_contacts
from bot import involvement
from bot.countries import gazetteer


class ValidateInvolvementForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_involvement_form"

    def validate_research_stage(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        stage = involvement.stage_from_text(str(slot_value or ""))
        if stage is None:
            dispatcher.utter_message(
                text="Sorry, I didn't catch the stage. Please pick one of the options."
            )
            return {"research_stage": None}
        return {"research_stage": stage.key}


class ActionInvolvementGuidance(Action):
    def name(self) -> str:
        return "action_involvement_guidance"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        stage = involvement.STAGES.get(tracker.get_slot("research_stage") or "")
        country = gazetteer().resolve(tracker.get_slot("country"))
        if stage is None or country is None:
            dispatcher.utter_message(response="utter_default")
            return []
        contacts = partner_contacts(country) or (
            "I can't look up contacts right now; the ECRIN office can help: https://ecrin.org"
        )
        dispatcher.utter_message(text=involvement.guidance(stage, contacts))
        return []
