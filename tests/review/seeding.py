"""Conversations for the review tests, stored through the real Rasa tracker store.

Events are real `rasa.shared.core.events` objects saved by our `SQLTrackerStore` (so masking
and Rasa's own serialisation both apply), not hand-written rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.tracker_store import SQLTrackerStore

# 2026-11-02 09:00 UTC: far enough in the past for "older than" tests to choose from.
BASE_TIME = 1_793_610_000.0


@dataclass(frozen=True)
class Turn:
    """One user message and the assistant's answer."""

    text: str
    intent: str
    confidence: float = 0.97
    response_key: str | None = None
    response_confidence: float = 0.62
    entities: Sequence[tuple[str, str]] = ()
    # Default: a different answer for each turn of a chat (the same one twice in a row would
    # make the conversation "stuck").
    answer: str = ""
    buttons: Sequence[str] = ()
    action: str | None = None
    # Further assistant messages after the answer, in the same turn.
    more: Sequence[str] = ()
    # The language the NLU detected (parse data `language`, issue 22); None: not told.
    language: str | None = None


@dataclass(frozen=True)
class Chat:
    sender_id: str
    turns: Sequence[Turn]
    channel: str = "web"
    start: float = BASE_TIME
    extra: Sequence[Event] = field(default_factory=tuple)


def parse_data(turn: Turn) -> dict:
    ranking = [{"name": turn.intent, "confidence": turn.confidence}]
    if turn.intent == "nlu_fallback":
        ranking.append({"name": "faq_trials", "confidence": 0.41})
    data: dict = {
        "intent": {"name": turn.intent, "confidence": turn.confidence},
        "entities": [
            {"entity": name, "value": value, "start": 0, "end": len(value)}
            for name, value in turn.entities
        ],
        "intent_ranking": ranking,
        "response_selector": {
            "all_retrieval_intents": ["faq_trials", "faq_ecrin"],
            "default": {
                "response": {
                    "responses": [{"text": "A stored FAQ answer."}],
                    "confidence": turn.response_confidence,
                    "intent_response_key": turn.response_key or "faq_trials/placebo",
                    "utter_action": f"utter_{turn.response_key or 'faq_trials/placebo'}",
                },
                "ranking": [],
            },
        },
    }
    if turn.language is not None:
        data["language"] = {"code": turn.language, "confidence": 0.93}
    return data


def chat_events(chat: Chat) -> list[Event]:
    at = chat.start
    found: list[Event] = [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]
    for number, turn in enumerate(chat.turns):
        at = chat.start + 30 * (number + 1)
        found.append(
            UserUttered(
                turn.text,
                intent={"name": turn.intent, "confidence": turn.confidence},
                parse_data=parse_data(turn),
                input_channel=chat.channel,
                timestamp=at,
            )
        )
        action = turn.action or (
            "action_two_stage_fallback" if turn.intent == "nlu_fallback" else f"utter_{turn.intent}"
        )
        found.append(ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=at + 1))
        found.append(
            BotUttered(
                turn.answer or f"Answer {number + 1}. Learn more: https://ecrin.org",
                data={"buttons": [{"title": t, "payload": "/x"} for t in turn.buttons] or None},
                timestamp=at + 1,
            )
        )
        found.extend(BotUttered(text, timestamp=at + 1) for text in turn.more)
        found.append(ActionExecuted("action_listen", timestamp=at + 2))
    found.extend(chat.extra)
    return found


def save_chats(url: str, chats: Iterable[Chat]) -> None:
    """Store each chat with the real tracker store at `url`; a chat with a stored sender id
    continues that conversation in a new session, as Rasa would."""
    store = SQLTrackerStore(host=url)
    try:
        for chat in chats:
            tracker = DialogueStateTracker(chat.sender_id, [])
            # As Rasa does before each message: the stored events of the latest session.
            with store.session_scope() as session:
                stored = store._event_query(session, chat.sender_id, False).all()
            for event in [Event.from_parameters(json.loads(row.data)) for row in stored]:
                tracker.update(event)
            for event in chat_events(chat):
                tracker.update(event)
            asyncio.run(store.save(tracker))
    finally:
        store.engine.dispose()


PLACEBO = Turn("What is a placebo?", "faq_trials", 0.99, "faq_trials/placebo", 0.71)
HELLO = Turn("hello", "greet", 0.99)
HANDOFF = Turn("can I talk to a real person please", "handoff", 0.93)
UNSURE = Turn("zzqx blorf wibble", "nlu_fallback", 0.45)
LOW = Turn("do trials pay for my bus ticket", "faq_trials", 0.52, "faq_trials/costs", 0.3)
PARTNER = Turn(
    "Who is the ECRIN partner in France?",
    "ask_partner",
    0.98,
    entities=[("country", "France")],
    action="action_partner",
)

# Ratings: the 👍 / 👎 under an answer send payloads; typed feedback gets the same intents.
THUMBS_UP = Turn(
    "/feedback_positive", "feedback_positive", 1.0, answer="Thank you, I'm glad it helped!"
)
THUMBS_DOWN = Turn(
    "/feedback_negative", "feedback_negative", 1.0, answer="Sorry. Could you say what you needed?"
)
COMPLAINT = Turn("that's not what I asked", "feedback_negative", 0.88, answer="Sorry about that.")
PRAISE = Turn("great, thanks, that helped", "feedback_positive", 0.91, answer="Glad it helped!")
