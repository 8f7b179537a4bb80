"""One conversation as staff read it: the transcript (user and bot messages, actions, session
starts, ratings shown on the answer they rate, repeats pointing at what they repeat, plans
given), with the notes, flags and NLU labels staff added; and the messages of many
conversations for the JSON export.

The transcript is the one read of Rasa's JSON per message (bot events carry buttons and plans
that `review_messages` does not copy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tracker_db.inbox import ConversationSummary, summarise
from bot.tracker_db.plans import GivenPlan, plan_in_event
from bot.tracker_db.schema import conversations, events, flags, nlu_labels, notes, repeats
from bot.tracker_db.user_messages import (
    Prediction,
    is_helpful,
    is_payload,
    read_language,
    read_prediction,
)

# Actions that are bookkeeping, not something the assistant did for the user.
QUIET_ACTIONS = {"action_listen", "action_session_start"}


@dataclass(frozen=True)
class Rating:
    """A user's verdict on the answer before it: 👍 / 👎 clicked, or typed."""

    event_id: int
    at: float
    helpful: bool
    typed: bool

    @property
    def value(self) -> str:
        """As in the inbox's rating filter and the exports."""
        return "helpful" if self.helpful else "not_helpful"

    @property
    def label(self) -> str:
        if self.typed:
            return "👍 Typed praise" if self.helpful else "👎 Typed complaint"
        return "👍 Rated helpful" if self.helpful else "👎 Rated not helpful"


@dataclass(frozen=True)
class TranscriptEntry:
    event_id: int
    kind: str  # "user", "bot", "action" or "session"
    at: float
    text: str = ""
    prediction: Prediction | None = None
    buttons: tuple[str, ...] = ()
    action: str = ""
    policy: str | None = None
    # A user message that rates the answer before it.
    rating: Rating | None = None
    # A bot message: the ratings it got (a clicked one is shown here instead of on its own).
    ratings: tuple[Rating, ...] = ()
    # A message that repeats an earlier one (the "stuck" signal): that message's event id.
    repeat_of: int | None = None
    # A bot message that offered a patient-involvement plan to keep: the plan.
    plan: GivenPlan | None = None
    # A user message: the language the NLU detected (None: it could not tell; shown "—").
    language: str | None = None


@dataclass(frozen=True)
class Note:
    id: int
    author: str | None
    body: str
    created_at: float


@dataclass(frozen=True)
class NluLabel:
    status: str
    label: str | None
    labelled_by: str | None


def read_nlu_labels(connection: sa.engine.Connection, where: Any) -> dict[int, NluLabel]:
    """The NLU inbox's labels of the messages `where` selects, by event id."""
    rows = connection.execute(
        sa.select(
            nlu_labels.c.event_id, nlu_labels.c.status, nlu_labels.c.label, nlu_labels.c.labelled_by
        ).where(where)
    )
    return {row.event_id: NluLabel(row.status, row.label, row.labelled_by) for row in rows}


@dataclass
class Conversation:
    summary: ConversationSummary
    entries: list[TranscriptEntry]
    notes: list[Note]
    flagged: set[int]
    labels: dict[int, NluLabel]
    updated_by: str | None = None

    @property
    def plans(self) -> list[TranscriptEntry]:
        """The messages that gave a patient-involvement plan, in order."""
        return [entry for entry in self.entries if entry.plan]


# --- Queries -----------------------------------------------------------------------------------


def conversation(engine: Engine, sender_id: str) -> Conversation | None:
    """The conversation stored under `sender_id`, or None when there is none (any more)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                events.c.id,
                events.c.type_name,
                events.c.timestamp,
                events.c.action_name,
                events.c.data,
            )
            .where(events.c.sender_id == sender_id)
            .order_by(events.c.id)
        ).all()
        if not rows:
            return None
        timestamps = [row.timestamp for row in rows if row.timestamp is not None]
        [summary] = summarise(
            connection,
            [_Row(sender_id, min(timestamps, default=0), max(timestamps, default=0))],
        )
        repeated = dict(
            connection.execute(
                sa.select(repeats.c.event_id, repeats.c.previous_event_id).where(
                    repeats.c.sender_id == sender_id
                )
            ).all()
        )
        entries = _as_read([entry for entry in map(transcript_entry, rows) if entry], repeated)
        note_rows = connection.execute(
            sa.select(notes.c.id, notes.c.author, notes.c.body, notes.c.created_at)
            .where(notes.c.sender_id == sender_id)
            .order_by(notes.c.created_at, notes.c.id)
        ).all()
        flagged = set(
            connection.execute(
                sa.select(flags.c.event_id).where(flags.c.sender_id == sender_id)
            ).scalars()
        )
        labels = read_nlu_labels(connection, nlu_labels.c.sender_id == sender_id)
        updated_by = connection.execute(
            sa.select(conversations.c.updated_by).where(conversations.c.sender_id == sender_id)
        ).scalar()
    return Conversation(
        summary=summary,
        entries=entries,
        notes=[Note(*row) for row in note_rows],
        flagged=flagged,
        labels=labels,
        updated_by=updated_by,
    )


def messages(engine: Engine, senders: Sequence[str]) -> dict[str, list[TranscriptEntry]]:
    """User and bot messages of each conversation (for the JSON export)."""
    found: dict[str, list[TranscriptEntry]] = {sender: [] for sender in senders}
    with engine.connect() as connection:
        for start in range(0, len(senders), 500):
            rows = connection.execute(
                sa.select(
                    events.c.sender_id,
                    events.c.id,
                    events.c.type_name,
                    events.c.timestamp,
                    events.c.action_name,
                    events.c.data,
                )
                .where(
                    events.c.sender_id.in_(senders[start : start + 500]),
                    events.c.type_name.in_(("user", "bot")),
                )
                .order_by(events.c.id)
            )
            for row in rows:
                entry = transcript_entry(row)
                if entry:
                    found[row.sender_id].append(entry)
    return found


@dataclass(frozen=True)
class _Row:
    sender_id: str
    first_at: float
    last_at: float


def transcript_entry(row: Any) -> TranscriptEntry | None:
    """What the transcript shows of one `events` row; None for bookkeeping events."""
    at = row.timestamp or 0.0
    if row.type_name == "user":
        data = json.loads(row.data or "{}")
        text = str(data.get("text") or "")
        prediction = read_prediction(data)
        helpful = is_helpful(prediction.intent)
        return TranscriptEntry(
            event_id=row.id,
            kind="user",
            at=at,
            text=text,
            prediction=prediction,
            rating=None
            if helpful is None
            else Rating(row.id, at, helpful, typed=not is_payload(text)),
            language=read_language(data),
        )
    if row.type_name == "bot":
        data = json.loads(row.data or "{}")
        buttons = ((data.get("data") or {}).get("buttons")) or []
        return TranscriptEntry(
            event_id=row.id,
            kind="bot",
            at=at,
            text=str(data.get("text") or ""),
            buttons=tuple(str(button.get("title", "")) for button in buttons),
            plan=plan_in_event(data),
        )
    if row.type_name == "action" and row.action_name not in QUIET_ACTIONS:
        data = json.loads(row.data or "{}")
        return TranscriptEntry(
            event_id=row.id,
            kind="action",
            at=at,
            action=row.action_name or "",
            policy=data.get("policy"),
        )
    if row.type_name == "session_started":
        return TranscriptEntry(event_id=row.id, kind="session", at=at)
    return None


def _as_read(entries: list[TranscriptEntry], repeated: Mapping[int, int]) -> list[TranscriptEntry]:
    """The transcript as staff read it. A rating is shown on the answer it rates (the bot
    reply just before it): a clicked 👍 / 👎 only there, instead of as its payload; typed
    praise or a complaint also stays in place, since its words matter (and the model may
    have misread them). A repeated message points at the one it repeats."""
    shown: list[TranscriptEntry] = []
    answer: int | None = None  # where the latest bot reply is in `shown`
    for entry in entries:
        if entry.event_id in repeated:
            entry = replace(entry, repeat_of=repeated[entry.event_id])
        rating = entry.rating
        if rating and answer is not None:
            rated = shown[answer]
            shown[answer] = replace(rated, ratings=(*rated.ratings, rating))
            if not rating.typed:
                continue
        if entry.kind == "bot":
            answer = len(shown)
        shown.append(entry)
    return shown
