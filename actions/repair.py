"""Conversation repair: follow-ups, "say that again", "tell me more" and "that's not what I
asked" — each read against the previous answer (bot/conversation.py)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.events import say_events
from actions.involvement import say_plan
from actions.language import is_english, language_of
from actions.partners import say_partner, say_platform
from bot import conversation, i18n, involvement
from bot.countries import gazetteer
from bot.suggestions import faq_payload, faq_title, faq_titles

HANDOFF_BUTTON = {"title": "Talk to a person", "payload": "/handoff"}


def handoff_button(language: str | None) -> dict[str, str]:
    """ "Talk to a person", in `language`."""
    if is_english(language):
        return HANDOFF_BUTTON
    return {**HANDOFF_BUTTON, "title": i18n.text("button.handoff", language)}


def say_again(dispatcher: CollectingDispatcher, message: dict[str, Any]) -> None:
    """Say a stored bot message again; by its response name when it had one, so the repeat
    is recorded as the same answer (and FAQ answers come from the live answer files)."""
    response = (message.get("metadata") or {}).get("utter_action")
    if response and response.startswith("utter_"):
        dispatcher.utter_message(response=response)
        return
    data = message.get("data") or {}
    dispatcher.utter_message(text=message.get("text"), buttons=data.get("buttons") or [])


NAMES_ECRIN = re.compile(r"\becrin\b", re.IGNORECASE)


class ActionFollowUp(Action):
    """A place or a stage given on its own ("and Austria?", "I live in Spain", "we're
    recruiting already") continues the conversation's last look-up with it."""

    def name(self) -> str:
        return "action_follow_up"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        country = gazetteer().find_meant(text)
        stages = involvement.stages_in(text)
        previous = conversation.last_topic(tracker.events)
        topic = previous.topic if previous else None
        language = language_of(tracker)
        remembered: list[dict[str, Any]] = []
        if country:
            remembered.append(SlotSet("country", country.name))
        if stages:
            # Whatever else the message says about the study counts too ("a rare-disease trial").
            situation = involvement.situation_slots(text)
            remembered += [SlotSet(slot, value) for slot, value in situation.items()]

        if tracker.active_loop.get("name"):
            # The waiting form goes on with what was found, or asks again after this.
            if not remembered:
                dispatcher.utter_message(response="utter_place_unknown")
            return remembered
        if topic == conversation.INVOLVEMENT and (country or stages):
            slots = {name: tracker.get_slot(name) for name in (*involvement.PLAN_SLOTS, "country")}
            slots.update({e["name"]: e["value"] for e in remembered})
            say_plan(dispatcher, slots, language)
        elif topic == conversation.EUPATI_PLATFORM and country:
            say_platform(dispatcher, country, language)
        elif topic == conversation.EVENTS and country:
            query = tracker.get_slot("events_query") or ""
            if say_events(dispatcher, query, country=country, language=language):
                remembered.append(SlotSet("events_query", f"{query} in {country.name}"))
        elif stages:
            # Guidance for researchers is what a stage is for: plan it with them.
            return [*remembered, FollowupAction("involvement_form")]
        elif country and (topic == conversation.PARTNER or NAMES_ECRIN.search(text)):
            # "ECRIN in Deutschland": whom to contact there, whatever came before.
            say_partner(dispatcher, country, language)
        elif country:
            # "the Netherlands" and "in the Netherlands", "Pays-Bas" and "aux Pays-Bas": the
            # translations say the second, the English of domain.yml the first.
            values = country.values(i18n.supported(language))
            dispatcher.utter_message(response="utter_country_noted", **values)
        else:
            dispatcher.utter_message(response="utter_place_unknown")
        return remembered


def previous_answer_or_say_so(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> conversation.Turn | None:
    """The answer "say that again" or "tell me more" is about; with none yet, say so (inside
    a form say nothing: the form asks its question again right after)."""
    previous = conversation.previous_answer(tracker.events)
    if previous is None and not tracker.active_loop.get("name"):
        dispatcher.utter_message(response="utter_nothing_to_repeat")
    return previous


class ActionRepeat(Action):
    def name(self) -> str:
        return "action_repeat"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        previous = previous_answer_or_say_so(dispatcher, tracker)
        for message in previous.answer_messages() if previous else []:
            say_again(dispatcher, message)
        return []


class ActionMore(Action):
    """More on the last answer: the question people ask next on the same subject, and the
    page with the full explanation."""

    def name(self) -> str:
        return "action_more"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        previous = previous_answer_or_say_so(dispatcher, tracker)
        if previous is None:
            return []
        answered = previous.faq_key
        last_text = (previous.answer_messages() or [{}])[-1].get("text") or ""
        link = conversation.source_link(last_text)
        titles = faq_titles()
        language = language_of(tracker)
        if answered is None:
            text = (
                i18n.text("repair.full_details", language, link=link)
                if link
                else i18n.text("repair.no_more", language)
            )
            dispatcher.utter_message(text=text)
            return []
        candidates = conversation.related_faq_keys(
            previous.user.get("parse_data") or {}, answered, limit=10
        )
        related = [
            key
            for key in candidates
            if conversation.faq_group(key) == conversation.faq_group(answered) and key in titles
        ][:3]
        # Topic titles in the conversation's language, as the text around them is.
        title = faq_title(answered, language) or i18n.text("repair.that", language)
        intro = i18n.text("repair.more_on", language, title=title, link=link)
        if not related:
            dispatcher.utter_message(text=intro)
            return []
        question = i18n.text("repair.related", language, question=faq_title(related[0], language))
        dispatcher.utter_message(text=f"{intro} {question}")
        dispatcher.utter_message(
            response=f"utter_{related[0]}",
            buttons=[
                {"title": faq_title(key, language), "payload": faq_payload(key)}
                for key in related[1:]
            ],
        )
        return []


class ActionFeedback(Action):
    """ "That's not what I asked" (or 👎): an apology, an offer to rephrase, the closest
    other topics as buttons, and a way to a person."""

    def name(self) -> str:
        return "action_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        previous = conversation.previous_answer(tracker.events)
        titles = faq_titles()
        language = language_of(tracker)
        buttons = []
        # Other readings of the question, when the answer was an FAQ topic: for a look-up
        # (a partner, events) the topic ranking says nothing about what was meant.
        if previous is not None and previous.faq_key:
            parse_data = previous.user.get("parse_data") or {}
            buttons = [
                {"title": faq_title(key, language), "payload": faq_payload(key)}
                for key in conversation.related_faq_keys(parse_data, previous.faq_key)
                if key in titles
            ]
        text = i18n.text("repair.not_what_you_needed", language)
        if buttons:
            text += " " + i18n.text("repair.or_did_you_mean", language)
        dispatcher.utter_message(text=text, buttons=[*buttons, handoff_button(language)])
        return []
