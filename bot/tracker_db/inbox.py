"""The inbox: one page of the conversations that match the filters, newest first, each as a
summary (channel, first message, intents, ratings, status, tags…), and every match for the
exports.

A conversation is everything stored under one sender id in Rasa's `events` table. The
summaries are read from the plain-column copies (`review_messages`, `review_repeats`) and the
review tables, for the one page of conversations shown; the caller brings the copies up to
date first (bot.tracker_db.store).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.masking import mask_personal_data
from bot.tracker_db.filters import FALLBACK_ACTIONS, InboxFilters, matching_conversations
from bot.tracker_db.messages import message_from_row
from bot.tracker_db.paging import Page, select_page
from bot.tracker_db.schema import (
    conversation_tags,
    conversations,
    events,
    flags,
    messages,
    notes,
    repeats,
    tags,
)
from bot.tracker_db.user_messages import FALLBACK_INTENT, HANDOFF_INTENT, UserMessage


def short_id(sender_id: str) -> str:
    """The sender id as staff see it: shortened, and masked in case an API client used an
    e-mail address or phone number as its id."""
    shown = mask_personal_data(sender_id)
    if shown.startswith("tg-") and len(shown) > 11:
        return shown[:11] + "…"
    if len(shown) > 12:
        return shown[:8] + "…"
    return shown


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    colour: str


@dataclass
class ConversationSummary:
    sender_id: str
    first_at: float
    last_at: float
    user_messages: int = 0
    first_message: str = ""
    channel: str | None = None
    intents: list[str] = field(default_factory=list)
    lowest_confidence: float | None = None
    fallback: bool = False
    handoff: bool = False
    # Ratings of answers, 👍 / 👎 and typed praise or complaints together.
    rated_helpful: int = 0
    rated_not_helpful: int = 0
    # The first message that repeats the one before it (see bot.tracker_db.stuck), if any.
    first_repeat: int | None = None
    status: str = "unread"
    tags: list[Tag] = field(default_factory=list)
    notes: int = 0
    flags: int = 0
    # The languages detected in its user messages, in the order they first appear.
    languages: list[str] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return short_id(self.sender_id)

    @property
    def stuck(self) -> bool:
        return self.first_repeat is not None


# --- Queries -----------------------------------------------------------------------------------


def inbox(
    engine: Engine, filters: InboxFilters, low_confidence: float, page: int = 1, size: int = 25
) -> Page[ConversationSummary]:
    """Page `page` of the conversations matching `filters`, the latest activity first."""
    matching = matching_conversations(filters, low_confidence).subquery()
    with engine.connect() as connection:
        order = (matching.c.last_at.desc(), matching.c.sender_id)
        rows, page, total = select_page(connection, matching, order, page, size)
        summaries = summarise(connection, rows)
    return Page(summaries, page, size, total)


def every_match(
    engine: Engine, filters: InboxFilters, low_confidence: float, chunk: int = 500
) -> Iterator[ConversationSummary]:
    """Every matching conversation, newest first (for exports), fetched in chunks."""
    matching = matching_conversations(filters, low_confidence).subquery()
    query = sa.select(matching).order_by(matching.c.last_at.desc(), matching.c.sender_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        for start in range(0, len(rows), chunk):
            yield from summarise(connection, rows[start : start + chunk])


def summarise(connection: Connection, rows: Sequence[Any]) -> list[ConversationSummary]:
    """The summaries of `rows` (sender_id, first_at, last_at each), in their order."""
    summaries = {
        row.sender_id: ConversationSummary(row.sender_id, row.first_at or 0, row.last_at or 0)
        for row in rows
    }
    if not summaries:
        return []
    senders = list(summaries)
    for message in user_messages(connection, senders):
        summary = summaries[message.sender_id]
        summary.user_messages += 1
        summary.channel = summary.channel or message.channel
        if not summary.first_message and not message.is_payload:
            summary.first_message = message.text
        prediction = message.prediction
        label = prediction.label
        if label and label not in summary.intents:
            summary.intents.append(label)
        if message.language and message.language not in summary.languages:
            summary.languages.append(message.language)
        if prediction.intent == FALLBACK_INTENT:
            summary.fallback = True
        if prediction.intent == HANDOFF_INTENT:
            summary.handoff = True
        if message.helpful is True:
            summary.rated_helpful += 1
        elif message.helpful is False:
            summary.rated_not_helpful += 1
        if prediction.confidence is not None and not message.is_payload:
            lowest = summary.lowest_confidence
            summary.lowest_confidence = (
                prediction.confidence if lowest is None else min(lowest, prediction.confidence)
            )
    for (sender,) in connection.execute(
        sa.select(events.c.sender_id)
        .where(
            events.c.sender_id.in_(senders),
            events.c.type_name == "action",
            events.c.action_name.in_(FALLBACK_ACTIONS),
        )
        .distinct()
    ):
        summaries[sender].fallback = True
    for sender, first in connection.execute(
        sa.select(repeats.c.sender_id, sa.func.min(repeats.c.event_id))
        .where(repeats.c.sender_id.in_(senders))
        .group_by(repeats.c.sender_id)
    ):
        summaries[sender].first_repeat = first
    for sender, status in connection.execute(
        sa.select(conversations.c.sender_id, conversations.c.status).where(
            conversations.c.sender_id.in_(senders)
        )
    ):
        summaries[sender].status = status
    for sender, tag in _tags(connection, senders):
        summaries[sender].tags.append(tag)
    for table, attribute in ((notes, "notes"), (flags, "flags")):
        for sender, count in connection.execute(
            sa.select(table.c.sender_id, sa.func.count())
            .where(table.c.sender_id.in_(senders))
            .group_by(table.c.sender_id)
        ):
            setattr(summaries[sender], attribute, count)
    return [summaries[row.sender_id] for row in rows]


def user_messages(connection: Connection, senders: Sequence[str]) -> list[UserMessage]:
    """The user messages of `senders` (from the `review_messages` copy), in order."""
    rows = connection.execute(
        sa.select(messages).where(messages.c.sender_id.in_(senders)).order_by(messages.c.event_id)
    )
    return [message_from_row(row) for row in rows]


def _tags(connection: Connection, senders: Sequence[str]) -> Iterable[tuple[str, Tag]]:
    rows = connection.execute(
        sa.select(conversation_tags.c.sender_id, tags.c.id, tags.c.name, tags.c.colour)
        .join(tags, tags.c.id == conversation_tags.c.tag_id)
        .where(conversation_tags.c.sender_id.in_(senders))
        .order_by(tags.c.name)
    )
    return [(row.sender_id, Tag(row.id, row.name, row.colour)) for row in rows]


def all_tags(engine: Engine) -> list[Tag]:
    """Every tag, by name (the inbox's tag filter, the transcript's tag picker)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(tags.c.id, tags.c.name, tags.c.colour).order_by(tags.c.name)
        )
        return [Tag(*row) for row in rows]
