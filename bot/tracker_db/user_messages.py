"""A user message as Rasa stores it: what was said, on which channel, and what the model made
of it (intent, confidence, FAQ key, best guess), read out of the event's JSON.

Shared by the `review_messages` copy (bot.tracker_db.messages), the "stuck" signal
(bot.tracker_db.stuck), the transcript and the NLU inbox, so each reads a message the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.feedback import NEGATIVE_INTENT, POSITIVE_INTENT

FALLBACK_INTENT = "nlu_fallback"
# A language code as data/languages.yml writes them ("fr", "pt-br"): the review app's column
# and filter take nothing else.
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
HANDOFF_INTENT = "handoff"
# "Was this helpful?": the 👍 / 👎 under an answer sends "/feedback_positive" or
# "/feedback_negative" (a payload), and typed praise or complaints get the same intents.
FEEDBACK_POSITIVE = POSITIVE_INTENT
FEEDBACK_NEGATIVE = NEGATIVE_INTENT
_HELPFUL = {FEEDBACK_POSITIVE: True, FEEDBACK_NEGATIVE: False}


@dataclass(frozen=True)
class Prediction:
    """The NLU result stored with a user message."""

    intent: str | None
    confidence: float | None
    response_key: str | None = None
    response_confidence: float | None = None
    # For nlu_fallback: the intent the model would have chosen, with its confidence.
    best_guess: str | None = None
    best_guess_confidence: float | None = None
    entities: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str | None:
        """What "mark correct" confirms: the response key for FAQ intents, else the intent."""
        return self.response_key or self.intent


def is_payload(text: str) -> bool:
    """Button clicks (and 👍 / 👎) arrive as "/intent{…}" payloads, not as something a person
    typed."""
    return text.startswith("/")


def is_helpful(intent: str | None) -> bool | None:
    """True for praise, False for a complaint (clicked or typed), None for any other intent."""
    return _HELPFUL.get(intent or "")


@dataclass(frozen=True)
class UserMessage:
    event_id: int
    sender_id: str
    at: float
    text: str
    channel: str | None
    prediction: Prediction
    # The language the NLU detected (parse data `language.code`); None when it could not
    # tell (a short message, a name) or for messages stored before issue 22.
    language: str | None = None

    @property
    def is_payload(self) -> bool:
        return is_payload(self.text)

    @property
    def helpful(self) -> bool | None:
        """The rating this message gives the answer before it, if it is one."""
        return is_helpful(self.prediction.intent)


def read_prediction(data: Mapping[str, Any]) -> Prediction:
    """The prediction in a serialised Rasa user event."""
    parse_data = data.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    name = intent.get("name")
    selector = (parse_data.get("response_selector") or {}).get("default") or {}
    response = selector.get("response") or {}
    response_key = response.get("intent_response_key")
    if not (name and response_key and response_key.startswith(f"{name}/")):
        # The selector answers for every message; its key only matters for FAQ intents.
        response_key = None
    best_guess = best_confidence = None
    if name == FALLBACK_INTENT:
        for ranked in parse_data.get("intent_ranking") or []:
            if ranked.get("name") not in (None, FALLBACK_INTENT):
                best_guess, best_confidence = ranked.get("name"), ranked.get("confidence")
                break
    entities = tuple(
        (str(entity.get("entity")), str(entity.get("value")))
        for entity in parse_data.get("entities") or []
        if isinstance(entity, dict)
    )
    return Prediction(
        intent=name,
        confidence=_number(intent.get("confidence")),
        response_key=response_key,
        response_confidence=_number(response.get("confidence")) if response_key else None,
        best_guess=best_guess,
        best_guess_confidence=_number(best_confidence),
        entities=entities,
    )


def read_language(data: Mapping[str, Any]) -> str | None:
    """The language code the NLU detected (bot.rasa_ext.language), in a serialised Rasa user
    event; None when there is none, or it is not a short code (the review app shows "—")."""
    found = ((data.get("parse_data") or {}).get("language")) or {}
    code = found.get("code") if isinstance(found, Mapping) else None
    return code if isinstance(code, str) and LANGUAGE_CODE.fullmatch(code) else None


def read_user_message(event_id: int, sender_id: str, at: float, data_json: str) -> UserMessage:
    """A user message from its `events` row."""
    data = json.loads(data_json or "{}")
    return UserMessage(
        event_id=event_id,
        sender_id=sender_id,
        at=at or 0.0,
        text=str(data.get("text") or ""),
        channel=data.get("input_channel"),
        prediction=read_prediction(data),
        language=read_language(data),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
