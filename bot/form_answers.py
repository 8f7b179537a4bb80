"""When a message answers a form's question, and when it is something else.

A form waits for a country or a research stage, but people use that turn for anything: a
question, "stop", "are you a bot?", an emergency. A message fills the slot only when it
looks like an answer (docs/conversations.md); otherwise the form steps aside and the
dialogue rules answer the message, then the form asks again. Nothing here ever echoes the
user's words back as an invalid value.
"""

from __future__ import annotations

import re

from bot.countries import Country, gazetteer
from bot.involvement import ALL_STAGES, Stage, stage_from_text

# Messages that are never a slot value, whatever they contain ("book me a taxi to Lyon",
# "my husband in Paris is having a seizure").
NEVER_AN_ANSWER = frozenset(
    {
        "emergency",
        "self_harm",
        "medical_advice",
        "stop",
        "handoff",
        "out_of_scope",
        "chitchat",
        "goodbye",
        "greet",
        "thank",
        "bot_identity",
        "capabilities",
        "repeat",
        "more",
        "feedback_negative",
        "feedback_positive",
    }
)
# Intents that carry answers; anything else counts only when it is a short statement.
ANSWER_INTENTS = frozenset({"inform", "ask_partner", "plan_involvement", "dont_know", "affirm"})
MAX_STATEMENT_WORDS = 8

_QUESTION_START = re.compile(
    r"^(what|whats|what's|who|whom|whose|why|how|when|where|which|is|are|do|does|did|can|"
    r"could|would|should|will|may|tell me|explain|describe|define)\b"
)


def looks_like_question(text: str) -> bool:
    """ "what's a placebo?", "tell me about phases": a question, not an answer."""
    lowered = text.lower().replace("\u2019", "'").strip()
    return "?" in lowered or bool(_QUESTION_START.match(lowered))


def _may_answer(text: str, intent: str | None) -> bool:
    if intent in NEVER_AN_ANSWER or not text.strip() or text.startswith("/"):
        return False
    if intent in ANSWER_INTENTS:
        return True
    return not looks_like_question(text) and len(text.split()) <= MAX_STATEMENT_WORDS


def country_answer(text: str, intent: str | None) -> Country | None:
    """The country a message gives as its answer ("I'm Swiss", "España", "not Greece —
    Cyprus"), or None when the message is about something else."""
    if not _may_answer(text, intent):
        return None
    return gazetteer().find_meant(text)


def stage_answer(text: str, intent: str | None, requested: bool) -> Stage | None:
    """The research stage a message describes, or None.

    "Not sure" is an answer only to the stage question itself (`requested`): guidance for
    every stage. A stage described at any other time (a correction, "actually we're already
    recruiting") still counts.
    """
    if intent == "dont_know":
        return ALL_STAGES if requested else None
    if text.startswith("/") or not _may_answer(text, intent):
        return None
    return stage_from_text(text)
