"""Whom to contact in a country: the partner form and its answer."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.forms import CountryValidation
from bot import partners
from bot.countries import Country, gazetteer
from bot.db import session_scope

logger = logging.getLogger(__name__)


class ValidatePartnerForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_partner_form"


def partner_contacts(country: Country | None) -> str | None:
    """Whom to contact in `country` (the ECRIN office when the country is not known), or
    None (logged) when the database is unavailable."""
    try:
        with session_scope() as session:
            if country is None:
                return partners.office_answer(session)
            return partners.answer(partners.lookup(session, country))
    except SQLAlchemyError:
        logger.exception("Partner look-up failed for %s", country.iso if country else "-")
        return None


def say_partner(dispatcher: CollectingDispatcher, country: Country | None) -> None:
    text = partner_contacts(country)
    if text is None:
        dispatcher.utter_message(response="utter_lookup_unavailable")
    else:
        dispatcher.utter_message(text=text)


class ActionFindPartner(Action):
    """The partner for the country of the conversation; without one (the user does not
    know, or skipped the question), the ECRIN office, which points people onwards."""

    def name(self) -> str:
        return "action_find_partner"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        say_partner(dispatcher, gazetteer().resolve(tracker.get_slot("country")))
        return []
