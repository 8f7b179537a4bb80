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
would start. Everything else is left to the rules: the policy predicts nothing.

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
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation import (
    EVENTS,
    FAQ_INTENT_PREFIX,
    INVOLVEMENT,
    UNCLEAR_INTENT,
    faq_in_context,
    last_topic,
    previous_faq_key,
    refers_back,
)
from bot.form_answers import looks_like_question

ANSWER_IN_CONTEXT = "action_answer_faq"
CONTINUE_LOOK_UP = "action_follow_up"
# "and in Italy?", "what about Austria": the previous look-up, somewhere else.
_ELLIPSIS = re.compile(r"^\W*(and|what about|how about|same for|also|what of)\b", re.IGNORECASE)
PLACE_ENTITIES = frozenset({"country", "city"})


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


def continues_look_up(tracker: DialogueStateTracker) -> bool:
    """ "and in Italy?" after an events answer or involvement guidance asks for the same in
    Italy, though on its own the model reads it as a partner question."""
    message = tracker.latest_message
    if message is None or tracker.active_loop_name:
        return False
    if (message.intent or {}).get("name") != "ask_partner" or not _ELLIPSIS.match(
        message.text or ""
    ):
        return False
    if not any(entity.get("entity") in PLACE_ENTITIES for entity in message.entities):
        return False
    previous = last_topic([event.as_dict() for event in tracker.events])
    return previous is not None and previous.topic in (EVENTS, INVOLVEMENT)


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
        if latest == ACTION_LISTEN_NAME and continues_look_up(tracker):
            probabilities[domain.index_for_action(CONTINUE_LOOK_UP)] = 1.0
        elif latest == ACTION_LISTEN_NAME and follow_up_topic(tracker):
            probabilities[domain.index_for_action(ANSWER_IN_CONTEXT)] = 1.0
        elif latest in (ANSWER_IN_CONTEXT, CONTINUE_LOOK_UP) and not tracker.active_loop_name:
            # No rule knows this path; after the answer, wait for the user. (A button's
            # /faq_pick gets the same from its rule.)
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
