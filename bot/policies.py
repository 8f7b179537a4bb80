"""A dialogue policy that reads a message in the light of the previous answer.

"is it free?" right after an answer about EUPATI's training asks what EUPATI's training
costs, but on its own the response selector reads it as "what does a trial cost me?". The
rules would say the selector's choice; this policy steps in only for such follow-ups (a
question that points back with "it", "they", "there"… and names no subject of its own) when
the selector's first choice leaves the previous answer's subject, or when the message is too
unclear to classify on its own ("where is it based?"), and hands the turn to
`action_answer_faq`, which answers the topic `bot.conversation.faq_in_context` picks.
Likewise "and in Italy?" after an events answer or involvement guidance goes to
`action_follow_up` (the same look-up in Italy), not to the partner form the model's reading
would start; a researcher describing their own study gets the involvement form even when the
model read a patient-involvement FAQ topic, and "that's all" inside that form gives the plan
rather than a goodbye. "Ciao", "salut" or "servus" as the first message of a conversation is
a hello, though the model may read the goodbye they also are. Everything else is left to the
rules: the policy predicts nothing.

config.yml: `- name: bot.policies.FollowUpPolicy`. Its priority, 7, is above RulePolicy's 6, so
its rare prediction wins the tie with the rules'.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation import (
    EUPATI_PLATFORM,
    EVENTS,
    FAQ_INTENT_PREFIX,
    INVOLVEMENT,
    UNCLEAR_INTENT,
    faq_in_context,
    last_topic,
    previous_faq_key,
    refers_back,
)
from bot.countries import gazetteer
from bot.form_answers import (
    NEVER_AN_ANSWER,
    SAFETY_INTENTS,
    gives_requested,
    is_done,
    looks_like_question,
)
from bot.involvement import (
    describes_own_study,
    is_unsure,
    mentions_involvement,
    situation_slots,
)
from bot.language import greeting_language

ANSWER_IN_CONTEXT = "action_answer_faq"
PLAN_FORM = "involvement_form"
CONTINUE_LOOK_UP = "action_follow_up"
# "and in Italy?", "what about Austria": the previous look-up, somewhere else.
_ELLIPSIS = re.compile(r"^\W*(and|what about|how about|same for|also|what of)\b", re.IGNORECASE)
PLACE_ENTITIES = frozenset({"country", "city"})
GREET = "utter_greet"


# Short questions that point back are often misread on their own: "who runs it?" as a
# partner question ("who runs EUPATI in Sweden?"), "who funds it?" as "I don't know".
MISREAD_INTENTS = frozenset({"ask_partner", "dont_know"})


def _may_follow_up(intent: str, text: str, has_entities: bool) -> bool:
    """FAQ questions and unclear messages; and a question naming nothing that the model read
    as one of the intents short follow-ups are mistaken for."""
    if intent.startswith(FAQ_INTENT_PREFIX) or intent == UNCLEAR_INTENT:
        return True
    return intent in MISREAD_INTENTS and not has_entities and looks_like_question(text)


def follow_up_topic(tracker: DialogueStateTracker) -> str | None:
    """The FAQ topic the latest message means in context, when that differs from what the
    response selector chose alone; None otherwise (cheap checks first: this runs on every
    prediction)."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return None
    intent = (message.intent or {}).get("name") or ""
    text = message.text or ""
    if not refers_back(text) or not _may_follow_up(intent, text, bool(message.entities)):
        return None
    events = [event.as_dict() for event in tracker.events]
    return faq_in_context(text, message.parse_data, previous_faq_key(events))


def unclear_with_a_place(tracker: DialogueStateTracker) -> bool:
    """ "ECRIN in Deutschland": too unclear to classify, but it names a place (and maybe an
    organisation, which the rules for a bare place do not expect), so the conversation goes on
    with that place."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return False
    intent = (message.intent or {}).get("name")
    return intent == UNCLEAR_INTENT and _mentions_place(message)


def continues_look_up(tracker: DialogueStateTracker) -> bool:
    """ "and in Italy?" after an events answer, involvement guidance or a EUPATI platform
    answer asks for the same in Italy, though on its own the model reads it as a partner
    question; after the platform look-up asked "which country?", so does a bare "Italy"."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return False
    text = message.text or ""
    if (message.intent or {}).get("name") != "ask_partner":
        return False
    if not _mentions_place(message):
        return False
    last = last_topic([event.as_dict() for event in tracker.events])
    previous = last.topic if last else None
    if previous == EUPATI_PLATFORM:
        return bool(_ELLIPSIS.match(text)) or gazetteer().resolve(text.strip(" ?!.")) is not None
    return bool(_ELLIPSIS.match(text)) and previous in (EVENTS, INVOLVEMENT)


def answers_plan_question(tracker: DialogueStateTracker) -> bool:
    """Inside the involvement form: "that's all", "skip", or a statement that gives what the
    form asked, go to the form, though the model may read them as goodbye, stop, unclear or
    an FAQ (and the rules would then leave the form, or answer something else)."""
    message = tracker.latest_message
    if tracker.active_loop_name != PLAN_FORM or message is None:
        return False
    text, intent = message.text or "", (message.intent or {}).get("name")
    if intent in SAFETY_INTENTS or intent == "handoff":
        return False
    if is_done(text, intent) or is_unsure(text):
        return True
    requested = tracker.get_slot("requested_slot")
    return gives_requested(requested, situation_slots(text), text, intent)


def _mentions_place(message: UserUttered) -> bool:
    return any(entity.get("entity") in PLACE_ENTITIES for entity in message.entities)


def asks_for_a_plan(tracker: DialogueStateTracker) -> bool:
    """A researcher describing their own study ("how much should we pay patient partners?
    we're in Norway") wants a plan for it, though the model may file the message under an
    FAQ topic, or find it too unclear to classify."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return False
    intent = (message.intent or {}).get("name") or ""
    text = message.text or ""
    if not describes_own_study(text):
        return False
    if intent == UNCLEAR_INTENT or (intent == "inform" and mentions_involvement(text)):
        return True
    # A clear FAQ question ("how do we report involvement in our paper?") keeps its answer;
    # a request ("help me get patients involved in my research"), or naming where the study
    # is, makes it about that study.
    if not intent.startswith(FAQ_INTENT_PREFIX):
        return False
    if not looks_like_question(text):
        return intent.startswith("faq_ppi") or _mentions_place(message)
    return intent.startswith("faq_ppi") and _mentions_place(message)


def corrects_the_plan(tracker: DialogueStateTracker) -> bool:
    """ "Actually it's in children", "we're recruiting now" right after a plan: the plan
    again with that changed (the form takes the detail and, having asked, finishes)."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return False
    text, intent = message.text or "", (message.intent or {}).get("name")
    if intent in NEVER_AN_ANSWER or looks_like_question(text) or not situation_slots(text):
        return False
    previous = last_topic([event.as_dict() for event in tracker.events])
    return previous is not None and previous.topic == INVOLVEMENT


def opens_with_hello_or_bye(tracker: DialogueStateTracker) -> bool:
    """ "Ciao", "salut", "servus" say hello and goodbye alike: as the first message of a
    conversation, which the model may read as goodbye, they are a hello (a greeting of one
    language, bot.language.GREETINGS)."""
    message = tracker.latest_message
    if message is None or (message.intent or {}).get("name") != "goodbye":
        return False
    if greeting_language(message.text or "") is None:
        return False
    said = [event for event in tracker.applied_events() if isinstance(event, UserUttered)]
    return len(said) == 1


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class FollowUpPolicy(Policy):
    """Answers FAQ follow-ups in the context of the previous answer (module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7}

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        latest = tracker.latest_action_name
        if latest == ACTION_LISTEN_NAME and (
            answers_plan_question(tracker) or asks_for_a_plan(tracker) or corrects_the_plan(tracker)
        ):
            probabilities[domain.index_for_action(PLAN_FORM)] = 1.0
        elif latest == ACTION_LISTEN_NAME and (
            continues_look_up(tracker) or unclear_with_a_place(tracker)
        ):
            probabilities[domain.index_for_action(CONTINUE_LOOK_UP)] = 1.0
        elif latest == ACTION_LISTEN_NAME and follow_up_topic(tracker):
            probabilities[domain.index_for_action(ANSWER_IN_CONTEXT)] = 1.0
        elif latest == ACTION_LISTEN_NAME and opens_with_hello_or_bye(tracker):
            probabilities[domain.index_for_action(GREET)] = 1.0
        elif (latest in (ANSWER_IN_CONTEXT, CONTINUE_LOOK_UP) and not tracker.active_loop_name) or (
            latest == GREET and opens_with_hello_or_bye(tracker)
        ):
            # No rule knows this path; after the answer, wait for the user. (A button's
            # /faq_pick gets the same from its rule.)
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
