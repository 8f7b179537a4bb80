"""Rasa's side of live FAQ answers (bot/answers.py): what it trains on and what it says.

Rasa copies every retrieval answer into its NLU training data, so one edited word used to
change the data fingerprint and retrain every component (~11 minutes). The response selector
learns answer keys (`use_text_as_label: false`), never the text, so:

- `FaqAnswerImporter` (config.yml `importers`) trains on one placeholder for every answer:
  editing an answer leaves the training data, and so the model, unchanged;
- `LiveAnswerGenerator` (endpoints.yml `nlg`) says the text from the answer files instead,
  re-read when they change, as Rasa's NLG-server pattern does but inside the Rasa process;
  it also gives the greeting and "what can you do?" the welcome suggestions of
  data/welcome.yml as buttons (bot/welcome.py), read live too;
- in a conversation in another language (bot/language.py `conversation_language`) it says
  that language's text of the response (data/i18n/<code>/*.yml `replies:`, bot/i18n.py),
  the English buttons' payloads kept with the translated titles; English when the language
  has no text for it (logged once). The welcome's buttons are titled in that language too
  (bot/welcome.py `welcome_in`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator, interpolator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.endpoints import EndpointConfig

from bot import i18n
from bot.answers import ANSWERS_DIR, FAQ_RESPONSE_PREFIX, LiveAnswers, Responses
from bot.language import conversation_language
from bot.rasa_ext.registry import patch
from bot.settings import PROJECT_ROOT
from bot.welcome import WelcomeError, welcome_in

logger = logging.getLogger(__name__)

# What a trained model holds for every FAQ answer. Users see it only if the live answer is
# missing (a server started without endpoints.yml's `nlg`, or answer files deleted), so it
# must be safe to say; each time, the server logs an error.
PLACEHOLDER = (
    "Sorry, I can't show that answer right now. Please try again in a moment, or ask to talk "
    "to a person. Learn more: https://ecrin.org"
)


# The responses that offer the welcome suggestions (data/welcome.yml) as buttons: what the
# assistant says to a new user (Telegram's /start sends /greet) and to "what can you do?".
GREETING = "utter_greet"
WELCOME_RESPONSES = frozenset({GREETING, "utter_capabilities"})


def with_placeholders(responses: Responses) -> Responses:
    return {
        name: [{"text": PLACEHOLDER}] if name.startswith(FAQ_RESPONSE_PREFIX) else variants
        for name, variants in responses.items()
    }


@patch(
    why="an edited answer must not change what Rasa trains on, so it needs no training",
    upstream=[
        "rasa.shared.importers.importer.TrainingDataImporter._importer_from_dict",
        "rasa.shared.importers.rasa.RasaFileImporter.get_nlu_data",
        "rasa.shared.nlu.training_data.training_data.TrainingData.__init__",
        "rasa.shared.nlu.training_data.training_data.TrainingData._fill_response_phrases",
    ],
    tests=["tests/test_answers.py::test_editing_an_answer_leaves_what_rasa_trains_on_unchanged"],
)
class FaqAnswerImporter(RasaFileImporter):
    """Rasa's file importer, with every FAQ answer replaced by the same placeholder.

    config.yml: `importers: [{name: bot.rasa_ext.nlg.FaqAnswerImporter}]`. Rasa only warns
    when an importer's path is wrong and trains on the real answers instead
    (`TrainingDataImporter._importer_from_dict`,
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/shared/importers/importer.py). Overrides
    `RasaFileImporter.get_nlu_data`
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/shared/importers/rasa.py) and rebuilds
    the `TrainingData`, whose constructor copies each response into its examples
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/shared/nlu/training_data/training_data.py).
    """

    def get_nlu_data(self, language: str | None = "en") -> TrainingData:
        data = super().get_nlu_data(language)
        # A new TrainingData, because the constructor copies the answer text into each
        # example (its RESPONSE attribute), which is part of the fingerprint.
        return TrainingData(
            data.training_examples,
            data.entity_synonyms,
            data.regex_features,
            data.lookup_tables,
            responses=with_placeholders(data.responses),
        )


@patch(
    why="an edited answer is said by the running server without training or restart",
    upstream=[
        "rasa.core.nlg.generator._load_from_module_name_in_endpoint_config",
        "rasa.core.nlg.response.TemplatedNaturalLanguageGenerator.__init__",
        "rasa.core.nlg.response.TemplatedNaturalLanguageGenerator._random_response_for",
        "rasa.core.nlg.response.TemplatedNaturalLanguageGenerator.generate",
        "rasa.core.nlg.response.TemplatedNaturalLanguageGenerator.generate_from_slots",
        "rasa.core.agent.Agent.load_model",
    ],
    tests=[
        "tests/test_answers.py::test_the_generator_says_live_answers_and_the_models_own_responses",
        "tests/test_answers.py::test_the_running_assistant_says_an_edited_answer_without_training",
        "tests/test_welcome.py::test_the_greeting_and_capabilities_offer_the_welcome_buttons",
        "tests/test_language.py::test_the_generator_answers_in_the_conversations_language",
    ],
)
class LiveAnswerGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's response templates, with FAQ answers read live from the answer files.

    endpoints.yml: `nlg: {type: bot.rasa_ext.nlg.LiveAnswerGenerator}`; an `answers:` key may
    name another folder of faq_*.yml files (relative to the project). Rasa creates it with
    the section and the domain
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/nlg/generator.py). Rasa's
    `TemplatedNaturalLanguageGenerator` keeps one `responses` dict, set by its constructor and
    again by `Agent.load_model` for each model
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/nlg/response.py,
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/agent.py); here `responses` is a
    property that merges the model's with the live answers, and `generate_from_slots`
    refreshes them first.
    """

    def __init__(
        self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None
    ) -> None:
        folder = (endpoint_config.kwargs.get("answers") if endpoint_config else None) or ANSWERS_DIR
        self.answers = LiveAnswers(PROJECT_ROOT / Path(folder))
        super().__init__(domain.responses if domain else {})

    @property
    def responses(self) -> Responses:
        """The model's responses, its FAQ placeholders replaced by the live answers (as of
        the last `generate_from_slots`, which checks the files once per response)."""
        return self._merged

    @responses.setter
    def responses(self, responses: Responses) -> None:
        # Rasa sets this whenever it loads a model (rasa.core.agent.Agent.load_model).
        self._model_responses = dict(responses)
        self._faq_names = {n for n in responses if n.startswith(FAQ_RESPONSE_PREFIX)}
        # The model can pick any of its answers: a reload that drops one is refused.
        self.answers.require(self._faq_names)
        self._served: Responses | None = None
        self._refresh()

    def _refresh(self) -> Responses:
        answers = self.answers.current()
        if answers is not self._served:
            self._merged = {**self._model_responses, **answers}
            self._served = answers
        return answers

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """The response in the conversation's language (Rasa's `generate` gives the slots
        only to `generate_from_slots`, which has no conversation to read it from)."""
        filled_slots = tracker.current_slot_values()
        message = self.generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
        language = conversation_language(tracker.events, default=i18n.default_language())
        message = translated(message, utter_action, language, {**filled_slots, **kwargs})
        return with_welcome(message, utter_action, language)

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        if utter_action in self._faq_names and utter_action not in self._refresh():
            logger.error("No live answer for %s: said the placeholder instead", utter_action)
        return super().generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)


def with_welcome(message: dict[str, Any] | None, name: str, language: str) -> dict[str, Any] | None:
    """The greeting and "what can you do?" with the welcome suggestions as buttons, and the
    greeting in the welcome's words, from data/welcome.yml as it is now, in `language` (the
    buttons' payloads never change). A response with buttons of its own keeps them."""
    if message is None or name not in WELCOME_RESPONSES or message.get("buttons"):
        return message
    try:
        shown = welcome_in(language)  # once: the buttons and the greeting of the same file
    except WelcomeError:
        # Logged by bot.welcome; while the file has never been good the domain's response is
        # said as it is: a greeting without buttons is better than no greeting.
        return message
    result = {**message, "buttons": shown.buttons()}
    if name == GREETING and shown.text:
        result["text"] = shown.text
    return result


def translated(
    message: dict[str, Any] | None, name: str, language: str, values: dict[str, Any]
) -> dict[str, Any] | None:
    """`message` (response `name`, said in English) in `language`: the translation's text with
    the same values filled in, and its button titles over the English buttons in order (the
    payloads never change). Unchanged for English, or when there is no translation."""
    translation = i18n.response(name, language) if message is not None else None
    if message is None or translation is None or not translation.get("text"):
        return message
    text = interpolator.interpolate(str(translation["text"]), values)
    result = {**message, "text": text}
    titles = translation.get("buttons") or []
    buttons = message.get("buttons") or []
    if titles and len(titles) == len(buttons):
        result["buttons"] = [
            {**button, "title": interpolator.interpolate(str(title), values)}
            for button, title in zip(buttons, titles, strict=True)
        ]
    return result
