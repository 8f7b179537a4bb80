"""When a message answers a form's question, and when it is something else.

A form waits for a country or a researcher's situation, but people use that turn for anything: a
question, "stop", "are you a bot?", an emergency. A message fills the slot only when it
looks like an answer (docs/conversations.md); otherwise the form steps aside and the
dialogue rules answer the message, then the form asks again. Nothing here ever echoes the
user's words back as an invalid value.
"""

from __future__ import annotations

import re

from bot.countries import Country, gazetteer
from bot.involvement import STUDY_SLOTS, is_unsure

# Messages that are never a slot value, whatever they contain ("book me a taxi to Lyon",
# "my husband in Paris is having a seizure").
NEVER_AN_ANSWER = frozenset(
    {
        "emergency",
        "self_harm",
        "medical_advice",
        "trial_treatment",
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
# bot.safety's SAFETY_INTENTS, named again so the action server does not import Rasa's
# engine with bot.safety (tests/test_form_answers.py keeps the two the same).
SAFETY_INTENTS = frozenset({"emergency", "self_harm", "medical_advice", "trial_treatment"})
# Intents that carry answers; anything else counts only when it is a short statement.
ANSWER_INTENTS = frozenset(
    {"inform", "ask_partner", "plan_involvement", "dont_know", "affirm", "done"}
)
# "That's all": no more questions, answer with what you have.
_DONE = re.compile(
    r"^\W*(no,? )?(that'?s|thats|that is) (all|it|everything|enough)\b|"
    r"^\W*(nothing (else|more)|no more( questions)?|just (give|show|send) me the plan|"
    r"(i have|i've got) nothing (else|more))\b"
)
MAX_STATEMENT_WORDS = 8

_QUESTION_START = re.compile(
    r"^(what|whats|what's|who|whom|whose|why|how|when|where|which|is|are|do|does|did|can|"
    r"could|would|should|will|may|tell me|explain|describe|define)\b"
)


def looks_like_question(text: str) -> bool:
    """ "what's a placebo?", "tell me about phases": a question, not an answer."""
    lowered = text.lower().replace("\u2019", "'").strip()
    return "?" in lowered or bool(_QUESTION_START.match(lowered))


def may_answer(text: str, intent: str | None) -> bool:
    """Whether a message may be read as an answer to a form's question at all."""
    if intent in NEVER_AN_ANSWER or not text.strip() or text.startswith("/"):
        return False
    if intent in ANSWER_INTENTS:
        return True
    return not looks_like_question(text) and len(text.split()) <= MAX_STATEMENT_WORDS


def country_answer(text: str, intent: str | None) -> Country | None:
    """The country a message gives as its answer ("I'm Swiss", "España", "not Greece —
    Cyprus"), or None when the message is about something else."""
    if not may_answer(text, intent):
        return None
    return gazetteer().find_meant(text)


def gives_requested(
    requested: str | None, found: dict[str, object], text: str, intent: str | None
) -> bool:
    """A statement of any length that gives what the form asked ("it's a randomised trial of
    a new inhaler in teenagers") answers it, whatever topic the model filed it under."""
    wanted = set(STUDY_SLOTS) if requested in STUDY_SLOTS else {requested}
    # The model often files such a statement as out of scope or chitchat; only safety, a
    # request for a person and leaving the form are never answers.
    return (
        bool(wanted & set(found))
        and intent not in SAFETY_INTENTS | {"stop", "handoff"}
        and not looks_like_question(text)
    )


def is_skip(text: str, intent: str | None) -> bool:
    """ "Not sure", "skip", "no idea": the question stays open and the answer is general."""
    # The words decide: the model often files "skip" under stop.
    return intent == "dont_know" or (intent not in SAFETY_INTENTS and is_unsure(text))


def is_done(text: str, intent: str | None) -> bool:
    """ "That's all", "nothing else": stop asking and answer with what is known."""
    lowered = text.lower().replace("\u2019", "'").strip()
    # The model often files "that's all" under goodbye or thanks: the words decide here.
    return intent == "done" or (intent not in SAFETY_INTENTS and bool(_DONE.search(lowered)))
