"""Tailored patient-involvement guidance for researchers: a form for stage and country."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.partners import validate_country_slot
from bot import involvement, partners
from bot.countries import gazetteer
from bot.db import session_scope

logger = logging.getLogger(__name__)


class ValidateInvolvementForm(FormValidationAction):
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

    def validate_country(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return validate_country_slot(slot_value, dispatcher, tracker)


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
        try:
            with session_scope() as session:
                contacts = partners.answer(partners.lookup(session, country))
        except SQLAlchemyError:
            logger.exception("Partner look-up failed for %s", country.iso)
            contacts = (
                "I can't look up contacts right now; the ECRIN office can help: https://ecrin.org"
            )
        dispatcher.utter_message(text=involvement.guidance(stage, contacts))
        return []
