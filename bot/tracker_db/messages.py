"""The `review_messages` table: each user message's facts in plain columns, copied once out of
Rasa's JSON.

Rasa stores a user message as one JSON document per event. Reading channel, intent,
confidence and text out of JSON for thousands of rows on every inbox request is slow on
SQLite and slower on PostgreSQL, so each message is read once, when the app first sees it
(`sync_messages`, called before the queries that need it), into `review_messages`; the
conversations it touched get their repeats recomputed then (`bot.tracker_db.stuck`). The
rows are deleted with their conversation (erasure, purge), like every review row.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tracker_db.schema import events, messages, repeats
from bot.tracker_db.stuck import refresh_repeats
from bot.tracker_db.user_messages import Prediction, UserMessage, read_user_message

# Rasa's ids grow, but on PostgreSQL a transaction that took an id can commit after one
# that took a later id: each sync looks this many ids back for messages it has not seen.
LOOKBACK_IDS = 2_000
_SYNC_LOCK = threading.Lock()


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
        language=row.language,
    )


def sync_messages(engine: Engine, batch: int = 2_000) -> int:
    """Copy the user messages not yet in `review_messages`; returns how many were added.

    Cheap when there is nothing new: two indexed look-ups.
    """
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
        "language": message.language,
    }
