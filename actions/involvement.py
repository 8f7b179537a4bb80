"""Patient-involvement plans for researchers: the involvement form and the plan it leads to.

The form asks only what the researcher has not said yet (stage, country, kind of study and
who takes part, what they want help with), at most `MAX_QUESTIONS` questions; "not sure"
skips one, two skips or "that's all" end the questions and the plan covers the rest in
general. Reading the answers is bot/involvement.py's; these actions only move slots.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import AskOnceThenBriefly, CountryValidation, intent_of, is_new_message
from actions.language import language_of
from bot import conversation, dates, form_answers, involvement, partners, plan_chat
from bot.countries import gazetteer

FORM = "involvement_form"
SKIPPED = "involvement_skipped"
EVERYTHING = "*"  # in SKIPPED: no more questions, the plan covers what is missing
MAX_QUESTIONS = 3
MAX_SKIPS = 2


def questions_asked(tracker: Tracker) -> int:
    """How many of the form's questions were asked since it started (asking one again after
    a digression counts once). Rasa asks inside the form's run: only the bot's utterances
    are in the conversation, named in their metadata."""
    asked = set()
    for event in conversation.since_activation(tracker.events, FORM):
        name = (event.get("metadata") or {}).get("utter_action") or ""
        if event.get("event") == "bot" and name.startswith("utter_ask_"):
            slot = name.removeprefix("utter_ask_").removesuffix("_again")
            asked.add(slot.removesuffix("_for_guidance"))
    return len(asked)


def skips_since_activation(tracker: Tracker) -> int:
    """How many of the researcher's answers in this form were "not sure"."""
    return sum(
        1
        for event in conversation.since_activation(tracker.events, FORM)
        if event.get("event") == "user"
        and form_answers.is_skip(
            event.get("text") or "",
            ((event.get("parse_data") or {}).get("intent") or {}).get("name"),
        )
    )


class ValidateInvolvementForm(CountryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_involvement_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # A skipped question is not asked again, but an answer given later still counts.
        skipped = tracker.get_slot(SKIPPED) or []
        return [
            slot
            for slot in domain_slots
            if tracker.get_slot(slot) is not None
            or (slot not in skipped and EVERYTHING not in skipped)
        ]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """What the latest message says about the situation, and which questions it skips."""
        if is_new_message(tracker, FORM):
            events = self._situation_events(tracker)
            tracker.add_slots(events)
        else:
            events = []
        # The country: the domain's mappings, and CountryValidation's extract_country.
        return events + await super().get_extraction_events(dispatcher, tracker, domain)

    def _situation_events(self, tracker: Tracker) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        intent = intent_of(tracker)
        requested = tracker.get_slot("requested_slot")
        # The message that started the form is the request itself: whatever it says about
        # the study counts, however long or unclear it was to the model.
        starting = requested is None and intent not in form_answers.NEVER_AN_ANSWER
        updates = involvement.situation_slots(text)
        readable = starting or form_answers.may_answer(text, intent)
        if not (readable or form_answers.gives_requested(requested, updates, text, intent)):
            updates = {}
        if requested is None and not updates:
            # A new request that says nothing about the study: a new plan, asked afresh.
            return [SlotSet(slot, None) for slot in involvement.PLAN_SLOTS] + [SlotSet(SKIPPED, [])]
        skip = form_answers.is_skip(text, intent) and requested not in updates
        done = form_answers.is_done(text, intent)
        skipped = list(tracker.get_slot(SKIPPED) or [])
        if requested == "study_kind":
            # The study question asks for both: naming one settles the other as general.
            for slot, other in (involvement.STUDY_SLOTS, involvement.STUDY_SLOTS[::-1]):
                if skip or (other in updates and slot not in updates):
                    skipped.append(slot)
        elif skip and requested:
            skipped.append(requested)
        answered = bool(updates) or skip or done
        if answered and (
            done
            or skips_since_activation(tracker) >= MAX_SKIPS
            or questions_asked(tracker) >= MAX_QUESTIONS
        ):
            skipped.append(EVERYTHING)
        events = [SlotSet(slot, value) for slot, value in updates.items()]
        skipped = list(dict.fromkeys(skipped))
        if skipped != (tracker.get_slot(SKIPPED) or []):
            events.append(SlotSet(SKIPPED, skipped))
        return events

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        # The skipped list is bookkeeping, not a required slot: pass its update on as is.
        if SKIPPED in tracker.slots_to_validate():
            events.append(SlotSet(SKIPPED, tracker.get_slot(SKIPPED)))
        return events

    def validate_research_stage(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"research_stage": _valid(value, involvement.STAGES)}

    def validate_study_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"study_kind": value if value in involvement.KINDS else None}

    def validate_population(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"population": _valid(value, involvement.POPULATIONS)}

    def validate_help_topics(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"help_topics": _valid(value, involvement.HELP_TOPICS)}


def _valid(value: Any, allowed: tuple[str, ...]) -> list[str] | None:
    """The known keys in a list slot's value (a button sends one key as text)."""
    values = [value] if isinstance(value, str) else list(value or [])
    return [v for v in values if v in allowed] or None


def say_plan(
    dispatcher: CollectingDispatcher, slots: dict[str, Any], language: str | None = None
) -> None:
    """The plan for the situation in `slots`, in `language`, then the page to keep it (web
    chat: a link; Telegram: a document), rebuilt by the channel from the situation in the
    payload."""
    situation = involvement.Situation.from_slots(slots)
    country = gazetteer().resolve(situation.country) if situation.country else None
    plan = involvement.build_plan(situation, partners.contacts(country, language), dates.today())
    for text in plan_chat.chat_messages(plan, language):
        dispatcher.utter_message(text=text)
    if plan.contacts is None:
        dispatcher.utter_message(response="utter_lookup_unavailable")
    dispatcher.utter_message(
        response="utter_plan_to_keep",
        json_message={"involvement_plan": {"query": situation.query(), "made": str(plan.made)}},
    )


class ActionInvolvementGuidance(Action):
    def name(self) -> str:
        return "action_involvement_guidance"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        slots = {name: tracker.get_slot(name) for name in (*involvement.PLAN_SLOTS, "country")}
        say_plan(dispatcher, slots, language_of(tracker))
        # The situation stays: "it's in children" after the plan re-plans with the rest kept.
        return []


class ActionAskStudyKind(AskOnceThenBriefly, Action):
    slot = "study_kind"


class ActionAskPopulation(AskOnceThenBriefly, Action):
    slot = "population"


class ActionAskHelpTopics(AskOnceThenBriefly, Action):
    slot = "help_topics"
