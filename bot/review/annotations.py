"""What staff add to a conversation: review status, tags, notes and flagged messages.

All of it lives in the review tables; Rasa's events are only read (to check that the
conversation or message exists).
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.tracker_db.schema import (
    STATUSES,
    TAG_COLOURS,
    conversation_tags,
    conversations,
    events,
    flags,
    notes,
    tags,
)

MAX_NOTE_CHARS = 5_000
MAX_TAG_CHARS = 40


class AnnotationError(ValueError):
    """A change staff asked for cannot be made; the message says why."""


def _require_conversation(connection: Connection, sender_id: str) -> None:
    exists = connection.execute(
        sa.select(events.c.id).where(events.c.sender_id == sender_id).limit(1)
    ).first()
    if not exists:
        raise AnnotationError("That conversation does not exist (any more).")


def set_status(engine: Engine, sender_id: str, status: str, by: str) -> None:
    if status not in STATUSES:
        raise AnnotationError(f"Unknown status {status!r}.")
    with engine.begin() as connection:
        _require_conversation(connection, sender_id)
        values = {"status": status, "updated_at": time.time(), "updated_by": by}
        updated = connection.execute(
            conversations.update().where(conversations.c.sender_id == sender_id).values(values)
        )
        if not updated.rowcount:
            connection.execute(conversations.insert().values(sender_id=sender_id, **values))


def add_tag(engine: Engine, sender_id: str, name: str, colour: str, by: str) -> None:
    """Tag a conversation; a new tag name is created with `colour`, an existing one keeps its
    colour unless a different one is chosen."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_TAG_CHARS:
        raise AnnotationError(f"A tag is 1 to {MAX_TAG_CHARS} characters.")
    if colour not in TAG_COLOURS:
        raise AnnotationError(f"Unknown colour {colour!r}.")
    with engine.begin() as connection:
        _require_conversation(connection, sender_id)
        tag = connection.execute(
            sa.select(tags.c.id, tags.c.colour).where(tags.c.name == name)
        ).first()
        if tag is None:
            tag_id = connection.execute(
                tags.insert().values(name=name, colour=colour)
            ).inserted_primary_key[0]
        else:
            tag_id = tag.id
            if tag.colour != colour:
                connection.execute(tags.update().where(tags.c.id == tag_id).values(colour=colour))
        linked = connection.execute(
            sa.select(conversation_tags.c.tag_id).where(
                conversation_tags.c.sender_id == sender_id, conversation_tags.c.tag_id == tag_id
            )
        ).first()
        if not linked:
            connection.execute(
                conversation_tags.insert().values(
                    sender_id=sender_id, tag_id=tag_id, added_by=by, added_at=time.time()
                )
            )


def remove_tag(engine: Engine, sender_id: str, tag_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            conversation_tags.delete().where(
                conversation_tags.c.sender_id == sender_id, conversation_tags.c.tag_id == tag_id
            )
        )


def add_note(engine: Engine, sender_id: str, body: str, by: str) -> None:
    body = body.strip()
    if not body:
        raise AnnotationError("The note is empty.")
    if len(body) > MAX_NOTE_CHARS:
        raise AnnotationError(f"A note is at most {MAX_NOTE_CHARS:,} characters.")
    with engine.begin() as connection:
        _require_conversation(connection, sender_id)
        connection.execute(
            notes.insert().values(sender_id=sender_id, author=by, body=body, created_at=time.time())
        )


def toggle_flag(engine: Engine, sender_id: str, event_id: int, by: str) -> bool:
    """Flag a message of the conversation, or unflag it; returns whether it is now flagged."""
    with engine.begin() as connection:
        message = connection.execute(
            sa.select(events.c.id).where(
                events.c.id == event_id,
                events.c.sender_id == sender_id,
                events.c.type_name.in_(("user", "bot")),
            )
        ).first()
        if not message:
            raise AnnotationError("That message is not part of this conversation.")
        removed = connection.execute(flags.delete().where(flags.c.event_id == event_id))
        if removed.rowcount:
            return False
        connection.execute(
            flags.insert().values(
                sender_id=sender_id, event_id=event_id, flagged_by=by, created_at=time.time()
            )
        )
        return True
