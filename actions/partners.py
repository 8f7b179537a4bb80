"""Whom to contact in a country: the partner form and its answer."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot import partners
from bot.countries import Country, gazetteer
from bot.db import session_scope

logger = logging.getLogger(__name__)


def validate_country_slot(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any]:
    """Normalise the country slot ("Deutschland", "Dublin" -> the country's English name)."""
    country = gazetteer().resolve(slot_value) or gazetteer().find_in(
        tracker.latest_message.get("text")
    )
    if country is None:
        dispatcher.utter_message(
            text=f'Sorry, I don\'t recognise "{slot_value}" as a country. '
            'Please tell me the country\'s name, for example "Ireland".'
        )
        return {"country": None}
    return {"country": country.name}


class CountryValidation:
    """`validate_country` for every form that asks for a country."""

    def validate_country(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return validate_country_slot(slot_value, dispatcher, tracker)


class ValidatePartnerForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_partner_form"


def partner_contacts(country: Country) -> str | None:
    """Whom to contact in `country`, or None (logged) when the database is unavailable."""
    try:
        with session_scope() as session:
            return partners.answer(partners.lookup(session, country))
    except SQLAlchemyError:
        logger.exception("Partner look-up failed for %s", country.iso)
        return None


class ActionFindPartner(Action):
    def name(self) -> str:
        return "action_find_partner"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        country = gazetteer().resolve(tracker.get_slot("country"))
        if country is None:
            dispatcher.utter_message(response="utter_ask_country")
            return []
        text = partner_contacts(country)
        if text is None:
            dispatcher.utter_message(response="utter_lookup_unavailable")
        else:
            dispatcher.utter_message(text=text)
        return []
