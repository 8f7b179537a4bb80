"""The hand-off queue: conversations in which the user asked for a person, the newest request
first, with what they asked and the question they had typed before."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tracker_db.inbox import short_id, user_messages
from bot.tracker_db.paging import Page, select_page
from bot.tracker_db.schema import conversations, messages
from bot.tracker_db.user_messages import HANDOFF_INTENT, UserMessage


@dataclass(frozen=True)
class HandoffRequest:
    sender_id: str
    asked_at: float
    request: str
    question: str | None
    channel: str | None
    status: str

    @property
    def short_id(self) -> str:
        return short_id(self.sender_id)


def handoffs(
    engine: Engine, status: str = "", page: int = 1, size: int = 25
) -> Page[HandoffRequest]:
    """Conversations in which the user asked for a person, the newest request first; with
    `status`, only those with that review status."""
    asked_at = sa.func.max(messages.c.timestamp).label("asked_at")
    query = (
        sa.select(messages.c.sender_id, asked_at)
        .where(messages.c.intent == HANDOFF_INTENT)
        .group_by(messages.c.sender_id)
    )
    if status == "unread":
        query = query.where(
            messages.c.sender_id.not_in(
                sa.select(conversations.c.sender_id).where(conversations.c.status != "unread")
            )
        )
    elif status:
        query = query.where(
            messages.c.sender_id.in_(
                sa.select(conversations.c.sender_id).where(conversations.c.status == status)
            )
        )
    matching = query.subquery()
    with engine.connect() as connection:
        order = (matching.c.asked_at.desc(), matching.c.sender_id)
        rows, page, total = select_page(connection, matching, order, page, size)
        senders = [row.sender_id for row in rows]
        said: dict[str, list[UserMessage]] = {sender: [] for sender in senders}
        for message in user_messages(connection, senders) if senders else []:
            said[message.sender_id].append(message)
        statuses = dict(
            connection.execute(
                sa.select(conversations.c.sender_id, conversations.c.status).where(
                    conversations.c.sender_id.in_(senders)
                )
            ).all()
        )
    items = []
    for row in rows:
        history = said[row.sender_id]
        request_index = max(
            (i for i, m in enumerate(history) if m.prediction.intent == HANDOFF_INTENT),
            default=len(history) - 1,
        )
        typed_before = [m for m in history[:request_index] if not m.is_payload]
        items.append(
            HandoffRequest(
                sender_id=row.sender_id,
                asked_at=row.asked_at or 0,
                request=history[request_index].text if history else "",
                question=typed_before[-1].text if typed_before else None,
                channel=next((m.channel for m in history if m.channel), None),
                status=statuses.get(row.sender_id, "unread"),
            )
        )
    return Page(items, page, size, total)
