"""Whom to contact in a country: the partner form and its answer."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.forms import CountryValidation
from actions.language import is_english, language_of
from bot import i18n, partners
from bot.countries import Country, gazetteer
from bot.db import session_scope

logger = logging.getLogger(__name__)


class ValidatePartnerForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_partner_form"


# The custom payload that carries the partner an answer names, as a card (bot/presentation.py).
PARTNERS_KEY = "partners"


def partner_cards(
    country: Country | None, language: str | None = None
) -> list[dict[str, str | None]]:
    """The ECRIN partner the answer for `country` names (the first, as bot.partners.answer
    does), as a card: name, city, country, website and contact page. None without a country
    (the answer points to the office) or without a partner there, and none (logged) when the
    database cannot be read: the answer's text still goes out."""
    if country is None:
        return []
    try:
        with session_scope() as session:
            found = partners.lookup(session, country).ecrin_partners
            if not found:
                return []
            partner = found[0]
            return [
                {
                    "name": partner.display_name,
                    "city": partner.city or None,
                    "country": country.name
                    if is_english(language)
                    else country.name_in(i18n.supported(language)),
                    "website": partner.website or None,
                    "contact": partner.contact_url or None,
                }
            ]
    except SQLAlchemyError:
        logger.exception("Partner card look-up failed for %s", country.iso)
        return []


def say_partner(
    dispatcher: CollectingDispatcher, country: Country | None, language: str | None = None
) -> None:
    """The partner to contact in `country`, in `language`; the web chat and Telegram show it
    as a card beside the text, which stays as the REST channel answers it."""
    text = partners.contacts(country, language)
    if text is None:
        dispatcher.utter_message(response="utter_lookup_unavailable")
        return
    cards = partner_cards(country, language)
    dispatcher.utter_message(text=text, json_message={PARTNERS_KEY: cards} if cards else None)


class ActionFindPartner(Action):
    """The partner for the country of the conversation; without one (the user does not
    know, or skipped the question), the ECRIN office, which points people onwards."""

    def name(self) -> str:
        return "action_find_partner"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        country = gazetteer().resolve(tracker.get_slot("country"))
        say_partner(dispatcher, country, language_of(tracker))
        return []


def platform_text(country: Country | None, language: str | None = None) -> str | None:
    """Whether `country` has a EUPATI National Platform (or, without a country, which
    countries have one), or None (logged) when the database is unavailable."""
    try:
        with session_scope() as session:
            if country is None:
                return partners.platform_question(session, language)
            return partners.platform_answer(partners.platform_lookup(session, country), language)
    except SQLAlchemyError:
        logger.exception("EUPATI platform look-up failed for %s", country.iso if country else "-")
        return None


def say_platform(
    dispatcher: CollectingDispatcher, country: Country | None, language: str | None = None
) -> bool:
    """Answers "is there a EUPATI platform in <country>?" in `language`; False if the
    database is down (the user is told, and the error logged)."""
    text = platform_text(country, language)
    if text is None:
        dispatcher.utter_message(response="utter_lookup_unavailable")
        return False
    dispatcher.utter_message(text=text)
    return True


class ActionEupatiPlatform(Action):
    """ "Is there a EUPATI platform in my country?": the country the message names, else the
    conversation's; with neither, it asks which country (and lists those that have one)."""

    def name(self) -> str:
        return partners.PLATFORM_ACTION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        places = gazetteer()
        named = places.find_meant(tracker.latest_message.get("text") or "")
        country = named or places.resolve(tracker.get_slot("country"))
        say_platform(dispatcher, country, language_of(tracker))
        return [SlotSet("country", named.name)] if named else []
