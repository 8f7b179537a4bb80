"""User messages as the review app reads them: what the model made of each one, and the
`review_messages` table that keeps those facts in plain columns.

Rasa stores a user message as one JSON document per event. Reading channel, intent,
confidence and text out of JSON for thousands of rows on every inbox request is slow on
SQLite and slower on PostgreSQL, so each message is read once, when the app first sees it
(`sync_messages`, called before the queries that need it), into `review_messages`; the
conversations it touched get their repeats recomputed then (`bot.review.stuck`). The rows are
deleted with their conversation (erasure, purge), like every review row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.channels.feedback import NEGATIVE_INTENT, POSITIVE_INTENT
from bot.review.schema import events, messages, repeats

FALLBACK_INTENT = "nlu_fallback"
HANDOFF_INTENT = "handoff"
# "Was this helpful?": the 👍 / 👎 under an answer sends "/feedback_positive" or
# "/feedback_negative" (a payload), and typed praise or complaints get the same intents.
FEEDBACK_POSITIVE = POSITIVE_INTENT
FEEDBACK_NEGATIVE = NEGATIVE_INTENT
_HELPFUL = {FEEDBACK_POSITIVE: True, FEEDBACK_NEGATIVE: False}
# Rasa's ids grow, but on PostgreSQL a transaction that took an id can commit after one
# that took a later id: each sync looks this many ids back for messages it has not seen.
LOOKBACK_IDS = 2_000
_SYNC_LOCK = threading.Lock()


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
    )


def message_from_row(row: Any) -> UserMessage:
    """A user message from its `review_messages` row (no best guess or entities there)."""
    return UserMessage(
        event_id=row.event_id,
        sender_id=row.sender_id,
        at=row.timestamp or 0.0,
        text=row.text,
        channel=row.channel,
        prediction=Prediction(
            intent=row.intent, confidence=row.confidence, response_key=row.response_key
        ),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def sync_messages(engine: Engine, batch: int = 2_000) -> int:
    """Copy the user messages not yet in `review_messages`; returns how many were added.

    Cheap when there is nothing new: two indexed look-ups.
    """
    # Imported here: bot.review.stuck builds on this module's helpers.
    from bot.review.stuck import refresh_repeats

    added = 0
    # One sync at a time in this process; another process syncing the same rows at the same
    # moment hits the primary key, and this one leaves the rest to the next request.
    with _SYNC_LOCK:
        with engine.connect() as connection:
            newest = connection.execute(sa.select(sa.func.max(messages.c.event_id))).scalar()
        after = (newest or 0) - LOOKBACK_IDS
        while True:
            try:
                with engine.begin() as connection:
                    rows = connection.execute(
                        sa.select(
                            events.c.id, events.c.sender_id, events.c.timestamp, events.c.data
                        )
                        .outerjoin(messages, messages.c.event_id == events.c.id)
                        .where(
                            events.c.id > after,
                            events.c.type_name == "user",
                            messages.c.event_id.is_(None),
                        )
                        .order_by(events.c.id)
                        .limit(batch)
                    ).all()
                    if rows:
                        connection.execute(messages.insert(), [_message_row(r) for r in rows])
                        # In the same transaction, so the copy and its repeats never disagree.
                        refresh_repeats(connection, {row.sender_id for row in rows})
            except sa.exc.IntegrityError:
                return added
            if rows:
                _forget_erased(engine, rows)
            added += len(rows)
            if len(rows) < batch:
                return added
            after = rows[-1].id


def _forget_erased(engine: Engine, rows: Sequence[Any]) -> None:
    """Drop copies of messages (and their repeats) whose conversation was erased while they
    were being copied (the erasure deleted the rows that existed, not these). `bot privacy
    purge` also removes any row left without its events."""
    with engine.begin() as connection:
        connection.execute(
            messages.delete().where(
                messages.c.event_id.in_([row.id for row in rows]),
                ~sa.exists().where(events.c.id == messages.c.event_id),
            )
        )
        connection.execute(
            repeats.delete().where(
                repeats.c.sender_id.in_(list({row.sender_id for row in rows})),
                ~sa.exists().where(events.c.id == repeats.c.event_id),
            )
        )


def _message_row(row: Any) -> dict[str, Any]:
    message = read_user_message(row.id, row.sender_id, row.timestamp, row.data)
    prediction = message.prediction
    return {
        "event_id": message.event_id,
        "sender_id": message.sender_id,
        "timestamp": row.timestamp,
        "channel": (message.channel or "")[:32] or None,
        "intent": prediction.intent,
        "confidence": prediction.confidence,
        "response_key": prediction.response_key,
        "text": message.text,
    }
