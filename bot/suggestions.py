""" "Did you mean …?" suggestions when the assistant is unsure what the user asked.

Titles are readable questions, never intent names: FAQ topics take theirs from the
catalogue in `data/faq/` (bot/knowledge.py), other intents from `INTENT_TITLES`. A picked
FAQ topic comes back as `/faq_pick{"faq_key": "faq_trials/placebo"}`, so the answer does
not depend on classifying the title text again. In another language a topic's title is its
`faq_title.<key>` message (data/i18n/<code>/faq_titles.yml, `faq_title`); the English is the
catalogue's, which is why data/i18n/en has none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot import i18n
from bot.conversation import faq_ranking
from bot.knowledge import catalogue

FAQ_PREFIX = "faq_"
MAX_SUGGESTIONS = 3
# Below this, a candidate is noise rather than a plausible reading of the question.
MIN_CONFIDENCE = 0.05

INTENT_TITLES = {
    "ask_partner": "Whom can I contact in my country?",
    "ask_events": "What events are coming up?",
    "ask_eupati_platform": "Is there a EUPATI platform in my country?",
    "handoff": "I'd like to talk to a person",
    "capabilities": "What can you help me with?",
    "bot_identity": "Who are you?",
}

SOMETHING_ELSE = {"title": "Something else", "payload": "/out_of_scope"}

# The message id of a topic's title in another language: "faq_title.faq_trials/placebo".
FAQ_TITLE = "faq_title."
# A picked topic's payload, as `faq_payload` writes it (the {…} read as JSON, any spacing).
FAQ_PICK = re.compile(r"/faq_pick(\{.*\})", re.S)


@dataclass(frozen=True)
class Suggestion:
    title: str
    payload: str

    def as_button(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


def faq_titles() -> dict[str, str]:
    """Response key ("faq_trials/placebo") -> readable question."""
    return {key: topic.title for key, topic in catalogue().items()}


def faq_title(faq_key: str, language: str | None) -> str | None:
    """Topic `faq_key`'s question in `language`: its translation, else the English catalogue
    title (logged once per language and key, as bot.i18n does); None for an unknown key."""
    topic = catalogue().get(faq_key)
    if topic is None:
        return None
    code = i18n.supported(language) or i18n.default_language()
    if code == i18n.SOURCE:
        return topic.title  # the source: not a missing translation
    return i18n.translation(FAQ_TITLE + faq_key, code) or topic.title


def faq_payload(faq_key: str) -> str:
    return "/faq_pick" + json.dumps({"faq_key": faq_key}, separators=(",", ":"))


def faq_key_of(payload: str) -> str | None:
    """The topic a `faq_payload` button picks ("faq_trials/placebo"), else None."""
    found = FAQ_PICK.fullmatch(payload.strip())
    if found is None:
        return None
    try:
        values = json.loads(found[1])
    except json.JSONDecodeError:
        return None
    key = values.get("faq_key") if isinstance(values, dict) else None
    return key if isinstance(key, str) else None


def _faq_candidates(parse_data: dict[str, Any], intent: str) -> list[tuple[str, float]]:
    return [(key, c) for key, c in faq_ranking(parse_data) if key.startswith(f"{intent}/")]


def suggest(parse_data: dict[str, Any], titles: dict[str, str] | None = None) -> list[Suggestion]:
    """Up to three readable readings of an unclear message, most likely first."""
    titles = faq_titles() if titles is None else titles
    suggestions: list[Suggestion] = []
    seen: set[str] = set()

    def add(title: str | None, payload: str) -> None:
        if title and payload not in seen and len(suggestions) < MAX_SUGGESTIONS:
            seen.add(payload)
            suggestions.append(Suggestion(title, payload))

    for entry in parse_data.get("intent_ranking") or []:
        intent, confidence = entry.get("name"), float(entry.get("confidence", 0.0))
        if not intent or intent == "nlu_fallback" or confidence < MIN_CONFIDENCE:
            continue
        if intent.startswith(FAQ_PREFIX):
            for faq_key, _ in _faq_candidates(parse_data, intent)[:2]:
                add(titles.get(faq_key), faq_payload(faq_key))
        else:
            add(INTENT_TITLES.get(intent), f"/{intent}")
    return suggestions
