"""The language of each message, in its parse data: `language: {code, confidence}`.

config.yml: `- name: bot.rasa_ext.language.LanguageDetector` before the classifiers. It
reads the text only (bot/language.py `detect`) and adds one key to the message's output, so
the tracker stores it with the user event, bot/language.py `conversation_language` reads it
back for the answer's language, and the review app shows and filters it. A predict-only
component (`is_trainable=False`, as bot.live_corrections.LiveCorrections): nothing of it is
trained, so adding it leaves the other components' training fingerprints as they were.

Registered as a patch because it relies on Rasa carrying a property set with
`add_to_output=True` into the parse data
(https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/shared/nlu/training_data/message.py) and on
the recipe's registration of a non-trainable classifier
(https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/engine/recipes/default_recipe.py).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import language
from bot.rasa_ext.registry import patch

# The parse-data key (bot/language.py reads it back).
LANGUAGE_KEY = "language"


@patch(
    why="each message's language must travel with it, for the answer and the review app",
    upstream=[
        "rasa.engine.recipes.default_recipe.DefaultV1Recipe.register",
        "rasa.shared.nlu.training_data.message.Message.set",
        "rasa.shared.nlu.training_data.message.Message.as_dict",
    ],
    tests=["tests/test_language.py::test_the_pipeline_component_adds_the_language_to_parse_data"],
)
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Pipeline component: `- name: bot.rasa_ext.language.LanguageDetector` (see the module
    docstring). Button payloads ("/faq_pick{…}") say no language: they get none.

    Relies on `Message.set(…, add_to_output=True)` putting the key in the parse data
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/shared/nlu/training_data/message.py)
    and on `DefaultV1Recipe.register` giving a non-trainable classifier no training node
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/engine/recipes/default_recipe.py)."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        # Load the detector's models now, not on the first user's message (about 0.5 s).
        language.detect("load the language models now")
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            found = language.detect(text)
            message.set(LANGUAGE_KEY, found.as_dict(), add_to_output=True)
        return messages
