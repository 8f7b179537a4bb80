"""The safety guardrails inside Rasa: `SafetyGuard`, the last component of the NLU pipeline.

The rules themselves (emergencies, self-harm, the person's own trial treatment, requests for
medical advice, in that order of priority) are in `bot.safety_rules`, free of Rasa so that the
review app can check staff corrections against them too; they are re-exported here.

`SafetyGuard` runs them inside Rasa's NLU pipeline (after the FallbackClassifier and the staff's
live corrections, bot.live_corrections), so rules, stories, the review logs and `rasa test` all
see the corrected intent, and no correction can route a safety message elsewhere.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety_rules import (
    EMERGENCY,
    MEDICAL_ADVICE,
    RULES,
    SAFETY_INTENTS,
    SELF_HARM,
    TRIAL_TREATMENT,
    Rule,
    guard,
    normalise,
)

__all__ = [
    "EMERGENCY",
    "MEDICAL_ADVICE",
    "RULES",
    "SAFETY_INTENTS",
    "SELF_HARM",
    "TRIAL_TREATMENT",
    "Rule",
    "SafetyGuard",
    "guard",
    "normalise",
]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyGuard(GraphComponent):
    """Pipeline component: `- name: bot.safety.SafetyGuard`, last in the NLU pipeline."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):  # button payloads say exactly what they mean
                continue
            intent = guard(text)
            if intent is None:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": intent, "confidence": 1.0}, *ranking],
                add_to_output=True,
            )
        return messages
