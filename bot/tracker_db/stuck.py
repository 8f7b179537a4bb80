"""The "stuck" signal: conversations going round in circles, found without reading them.

A conversation is stuck where

* the assistant sent the same text twice in a row (its consecutive messages, whatever the
  user said in between: a form asking its question again after each answer), or gave the
  same whole reply to two user messages in a row (the forms in data/rules.yml answer an
  unclear message with "Sorry, I didn't follow that…" *and then* their question, so their
  loop alternates two messages and the first rule alone would never see it);
* or the user said the same thing twice in a row (compared lower-cased, with punctuation and
  spacing collapsed; button payloads and 👍 / 👎 are not something they said and are skipped).

A new session starts afresh: a greeting repeated when someone comes back days later is not a
loop. The repeated messages are stored in `review_repeats`, recomputed for a conversation
each time `bot.tracker_db.messages.sync_messages` copies a new user message of it, so the inbox
filters on a small table instead of reading every transcript.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.tracker_db.schema import events, messages, repeats
from bot.tracker_db.user_messages import is_payload

USER = "user"
BOT = "bot"
SESSION = "session"
# Everything but letters and digits: "What is a placebo?" and "what is a  placebo" match.
_NOT_A_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Said:
    """One step of a conversation, as far as repetition goes."""

    event_id: int
    speaker: str  # USER, BOT, or SESSION (a new session: nothing before it counts)
    text: str = ""


@dataclass(frozen=True)
class Repeat:
    event_id: int
    previous_event_id: int
    speaker: str


def _user_key(text: str) -> str | None:
    """What two user messages must share to be the same thing said again; None for payloads
    (and empty messages), which are never compared."""
    if is_payload(text):
        return None
    lowered = text.lower()
    # A message of only emoji or punctuation keeps its characters ("?" is not "👍").
    return _NOT_A_WORD.sub(" ", lowered).strip() or " ".join(lowered.split()) or None


def find_repeats(said: Iterable[Said]) -> list[Repeat]:
    """The messages that repeat the one before them, in order; `said` in event order."""
    found: dict[int, Repeat] = {}
    last: dict[str, tuple[int, str]] = {}  # speaker -> (event id, what is compared)
    reply: list[tuple[int, str]] = []  # the assistant's messages since the last user message
    previous_reply: list[tuple[int, str]] = []

    def close_reply() -> None:
        nonlocal reply, previous_reply
        if not reply:
            return  # no answer to that message: the reply before still counts as the last
        if [text for _, text in reply] == [text for _, text in previous_reply]:
            first = reply[0][0]
            found.setdefault(first, Repeat(first, previous_reply[0][0], BOT))
        previous_reply, reply = reply, []

    for item in said:
        if item.speaker == SESSION:
            last.clear()
            reply, previous_reply = [], []
            continue
        if item.speaker == USER:
            close_reply()
            key = _user_key(item.text)
        else:
            key = item.text.strip() or None
            if key is not None:
                reply.append((item.event_id, key))
        if key is None:
            continue
        before = last.get(item.speaker)
        if before and before[1] == key:
            found.setdefault(item.event_id, Repeat(item.event_id, before[0], item.speaker))
        last[item.speaker] = (item.event_id, key)
    close_reply()
    return sorted(found.values(), key=lambda repeat: repeat.event_id)


def refresh_repeats(connection: Connection, senders: Collection[str], chunk: int = 500) -> None:
    """Recompute the stored repeats of `senders` from their user messages (the
    `review_messages` copy, so it must be up to date) and the assistant's messages."""
    ordered = sorted(senders)
    for start in range(0, len(ordered), chunk):
        batch = ordered[start : start + chunk]
        said: dict[str, list[Said]] = {sender: [] for sender in batch}
        for row in connection.execute(
            sa.select(messages.c.event_id, messages.c.sender_id, messages.c.text).where(
                messages.c.sender_id.in_(batch)
            )
        ):
            said[row.sender_id].append(Said(row.event_id, USER, row.text))
        for row in connection.execute(
            sa.select(events.c.id, events.c.sender_id, events.c.type_name, events.c.data).where(
                events.c.sender_id.in_(batch),
                events.c.type_name.in_(("bot", "session_started")),
            )
        ):
            if row.type_name == "bot":
                text = json.loads(row.data or "{}").get("text")
                said[row.sender_id].append(Said(row.id, BOT, str(text or "")))
            else:
                said[row.sender_id].append(Said(row.id, SESSION))
        connection.execute(repeats.delete().where(repeats.c.sender_id.in_(batch)))
        rows = [
            {
                "event_id": repeat.event_id,
                "sender_id": sender,
                "speaker": repeat.speaker,
                "previous_event_id": repeat.previous_event_id,
            }
            for sender, steps in said.items()
            for repeat in find_repeats(sorted(steps, key=lambda step: step.event_id))
        ]
        if rows:
            connection.execute(repeats.insert(), rows)
