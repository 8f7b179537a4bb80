"""Staff corrections applied live, inside Rasa's NLU pipeline, before any training.

A message relabelled in the review app's NLU inbox becomes a correction
(bot.tracker_db.corrections); from then on a message with the same wording (bot.corrections.
normalise: case, spaces, punctuation and accents aside) gets the corrected intent, and for a
retrieval key such as "faq_trials/placebo" that FAQ topic, as if the model had predicted them
with full confidence. Each Rasa process keeps the corrections in memory and a background
thread picks up changes within `REFRESH_SECONDS`, so every replica follows within seconds and
no message waits on the database; when the database fails, the corrections loaded before
stay in effect and the conversation goes on.

config.yml: `- name: bot.live_corrections.LiveCorrections` after the FallbackClassifier (a
correction also rescues a message the model was unsure of) and before `bot.safety.SafetyGuard`,
so the guardrails still win over any correction.

The message is marked with `"correction": {"id": …, "label": …}` in its parse data (stored
with the event), so a transcript can tell a corrected answer from the model's own.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_DEFAULT_INTENT,
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.util import intent_response_key_to_template_key

from bot.corrections import Correction
from bot.settings import tracker_store_url
from bot.tracker_db.corrections import REFRESH_SECONDS, CorrectionIndex

# The parse-data key that marks a corrected message.
CORRECTION_KEY = "correction"


def apply_correction(message: Message, correction: Correction) -> None:
    """Give `message` the correction's intent (and FAQ topic), with confidence 1.0."""
    intent = correction.intent
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
    top = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, dict(top), add_to_output=True)
    message.set(INTENT_RANKING_KEY, [dict(top), *ranking], add_to_output=True)
    if correction.response_key is not None:
        _select_response(message, intent, correction.response_key)
    message.set(
        CORRECTION_KEY, {"id": correction.id, "label": correction.label}, add_to_output=True
    )


def _select_response(message: Message, intent: str, response_key: str) -> None:
    """Write the response selector's output as rasa.nlu.selectors.response_selector.
    ResponseSelector.process does, with `response_key` chosen: under the retrieval intent's
    own key if a selector for it answered, else under "default" (where Rasa's
    ActionRetrieveResponse and bot.evaluation.answer_label look, in that order).

    The other topics stay in the ranking, after the correction, at confidence 0: "that's not
    what I asked" can still offer them, and a follow-up read in context
    (bot.conversation.faq_in_context) cannot send the corrected wording elsewhere."""
    selectors = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
    key = intent if intent in selectors else RESPONSE_SELECTOR_DEFAULT_INTENT
    previous = selectors.get(key) or {}
    chosen = {PREDICTED_CONFIDENCE_KEY: 1.0, INTENT_RESPONSE_KEY: response_key}
    others = []
    for entry in previous.get(RESPONSE_SELECTOR_RANKING_KEY) or []:
        if entry.get(INTENT_RESPONSE_KEY) == response_key:
            chosen = {**entry, **chosen}  # keeps Rasa's label id
        else:
            others.append({**entry, PREDICTED_CONFIDENCE_KEY: 0.0})
    predicted = previous.get(RESPONSE_SELECTOR_PREDICTION_KEY) or {}
    responses = (
        predicted.get(RESPONSE_SELECTOR_RESPONSES_KEY)
        if predicted.get(INTENT_RESPONSE_KEY) == response_key
        else None
    )
    selectors.setdefault(RESPONSE_SELECTOR_RETRIEVAL_INTENTS, [intent])
    selectors[key] = {
        RESPONSE_SELECTOR_PREDICTION_KEY: {
            # The model's responses are not at hand here; Rasa says the response named by
            # `utter_action` through the NLG (bot.rasa_ext.nlg), never these, and writes
            # the same stand-in when it has none.
            RESPONSE_SELECTOR_RESPONSES_KEY: responses or [{TEXT: response_key}],
            PREDICTED_CONFIDENCE_KEY: 1.0,
            INTENT_RESPONSE_KEY: response_key,
            RESPONSE_SELECTOR_UTTER_ACTION_KEY: intent_response_key_to_template_key(response_key),
        },
        RESPONSE_SELECTOR_RANKING_KEY: [chosen, *others],
    }
    message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LiveCorrections(GraphComponent):
    """Pipeline component: `- name: bot.live_corrections.LiveCorrections`, just before
    `bot.safety.SafetyGuard` (module docstring)."""

    def __init__(self, index: CorrectionIndex) -> None:
        self.index = index

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # How often this process looks for new or undone corrections, in seconds.
        return {"refresh_seconds": REFRESH_SECONDS}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LiveCorrections:
        refresh = float(config.get("refresh_seconds") or REFRESH_SECONDS)
        index = CorrectionIndex(tracker_store_url(), refresh_seconds=refresh)
        index.start()
        return cls(index)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):  # button payloads say exactly what they mean
                continue
            correction = self.index.lookup(text)
            if correction is not None:
                apply_correction(message, correction)
        return messages
