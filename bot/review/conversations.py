"""Reading conversations out of the tracker store: the inbox with its filters, one
transcript, the hand-off queue, and the numbers behind the dashboard.

A conversation is everything stored under one sender id in Rasa's `events` table. Its user
messages are also in `review_messages` (plain columns, see `bot.review.messages`), so each
filter is a `sender_id IN (…)` sub-query on plain, indexed columns; details are then fetched
for the one page of conversations shown. Only a transcript, and the dashboard's count of
involvement plans given (bot.review.plans), read Rasa's JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from bot.masking import mask_personal_data
from bot.review.database import like_pattern
from bot.review.messages import (
    FALLBACK_INTENT,
    FEEDBACK_NEGATIVE,
    FEEDBACK_POSITIVE,
    HANDOFF_INTENT,
    Prediction,
    UserMessage,
    is_helpful,
    is_payload,
    message_from_row,
    read_prediction,
    sync_messages,
)
from bot.review.plans import PAYLOAD_KEY, GivenPlan, PlanCounts, count_plans, plan_in_event
from bot.review.schema import (
    STATUSES,
    conversation_tags,
    conversations,
    events,
    flags,
    messages,
    nlu_labels,
    notes,
    repeats,
    tags,
)

CHANNELS = ("web", "telegram", "rest")
# The inbox's rating filter: conversations with at least one such rating (clicked or typed).
RATING_INTENTS = {"helpful": FEEDBACK_POSITIVE, "not_helpful": FEEDBACK_NEGATIVE}
FALLBACK_ACTIONS = ("action_two_stage_fallback", "action_default_fallback")
# Actions that are bookkeeping, not something the assistant did for the user.
QUIET_ACTIONS = {"action_listen", "action_session_start"}
DAY = 86_400

T = TypeVar("T")


def short_id(sender_id: str) -> str:
    """The sender id as staff see it: shortened, and masked in case an API client used an
    e-mail address or phone number as its id."""
    shown = mask_personal_data(sender_id)
    if shown.startswith("tg-") and len(shown) > 11:
        return shown[:11] + "…"
    if len(shown) > 12:
        return shown[:8] + "…"
    return shown


def day_start(day: dt.date) -> float:
    """Midnight UTC at the start of `day`, as epoch seconds."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()


def utc_day(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).date()


# --- Inbox filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's filters, as they come from (and go back into) the query string."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    channel: str = ""
    intent: str = ""
    low_confidence: bool = False
    fallback: bool = False
    handoff: bool = False
    rating: str = ""  # "helpful" or "not_helpful"
    stuck: bool = False
    status: str = ""
    tag: str = ""
    search: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> tuple[InboxFilters, list[str]]:
        """Filters from a query string, and what is wrong with each value that cannot be
        read (the caller refuses the request: a filter dropped silently would show or export
        more conversations than were asked for)."""
        problems: list[str] = []

        def date(name: str) -> dt.date | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                problems.append(f"The date {name}={raw!r} cannot be read: use YYYY-MM-DD.")
                return None

        def choice(name: str, allowed: Sequence[str]) -> str:
            raw = (params.get(name) or "").strip()
            if raw and raw not in allowed:
                problems.append(f"Unknown {name} {raw!r}: use one of {', '.join(allowed)}.")
                return ""
            return raw

        return (
            cls(
                date_from=date("from"),
                date_to=date("to"),
                channel=choice("channel", CHANNELS),
                intent=(params.get("intent") or "").strip()[:255],
                low_confidence=_checked(params.get("low_confidence")),
                fallback=_checked(params.get("fallback")),
                handoff=_checked(params.get("handoff")),
                rating=choice("rating", tuple(RATING_INTENTS)),
                stuck=_checked(params.get("stuck")),
                status=choice("status", STATUSES),
                tag=(params.get("tag") or "").strip()[:40],
                search=(params.get("q") or "").strip()[:200],
            ),
            problems,
        )

    def to_params(self) -> dict[str, str]:
        """The query-string form of the filters that are set."""
        params = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "channel": self.channel,
            "intent": self.intent,
            "low_confidence": "1" if self.low_confidence else "",
            "fallback": "1" if self.fallback else "",
            "handoff": "1" if self.handoff else "",
            "rating": self.rating,
            "stuck": "1" if self.stuck else "",
            "status": self.status,
            "tag": self.tag,
            "q": self.search,
        }
        return {name: value for name, value in params.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_params())


def _checked(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "on", "true", "yes"}


# --- Results ------------------------------------------------------------------------------------


def clamp_page(requested: int, total: int, size: int) -> int:
    """`requested`, kept between the first and the last page (an empty list has page 1)."""
    return min(max(1, requested), max(1, -(-total // size)))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


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
    # The first message that repeats the one before it (see bot.review.stuck), if any.
    first_repeat: int | None = None
    status: str = "unread"
    tags: list[Tag] = field(default_factory=list)
    notes: int = 0
    flags: int = 0

    @property
    def short_id(self) -> str:
        return short_id(self.sender_id)

    @property
    def stuck(self) -> bool:
        return self.first_repeat is not None


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


@dataclass(frozen=True)
class DailyCount:
    day: dt.date
    value: float | None  # None: nothing to measure that day (drawn as no bar, not as 0)


@dataclass(frozen=True)
class DashboardNumbers:
    first_day: dt.date
    last_day: dt.date
    conversations_per_day: list[DailyCount]
    messages_per_day: list[DailyCount]
    fallback_rate_per_day: list[DailyCount]
    handoffs_per_day: list[DailyCount]
    satisfaction_per_day: list[DailyCount]
    top_intents: list[tuple[str, int]]
    conversations: int
    messages: int
    fallbacks: int
    handoffs: int
    # Clicked 👍 / 👎, and typed praise and complaints (feedback intents of typed messages).
    clicked_helpful: int = 0
    clicked_not_helpful: int = 0
    typed_praise: int = 0
    typed_complaints: int = 0
    # Patient-involvement plans given to researchers in the period.
    plans: PlanCounts = field(default_factory=lambda: count_plans([]))

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages else 0.0

    @property
    def clicked_ratings(self) -> int:
        return self.clicked_helpful + self.clicked_not_helpful

    @property
    def satisfaction_rate(self) -> float | None:
        """Helpful / (helpful + not helpful), clicked and typed; None without any rating."""
        return _share(
            self.clicked_helpful + self.typed_praise,
            self.clicked_not_helpful + self.typed_complaints,
        )


def _share(helpful: int, not_helpful: int) -> float | None:
    rated = helpful + not_helpful
    return helpful / rated if rated else None


# --- Queries -----------------------------------------------------------------------------------


class ConversationStore:
    """Queries over the tracker store joined with the review tables. They only write to keep
    the `review_messages` copy up to date (`sync`)."""

    def __init__(self, engine: Engine, low_confidence: float = 0.7) -> None:
        self.engine = engine
        self.low_confidence = low_confidence

    def sync(self) -> None:
        """Bring `review_messages` up to date with what Rasa stored since the last request."""
        sync_messages(self.engine)

    # Building blocks

    @staticmethod
    def _senders_saying(*conditions: Any) -> Select:
        return sa.select(messages.c.sender_id).where(*conditions)

    def _filter_conditions(self, filters: InboxFilters) -> list[Any]:
        """Conditions on `events.sender_id`, one per active filter."""
        wanted: list[Select] = []
        if filters.channel:
            wanted.append(self._senders_saying(messages.c.channel == filters.channel))
        if filters.intent:
            column = messages.c.response_key if "/" in filters.intent else messages.c.intent
            wanted.append(self._senders_saying(column == filters.intent))
        if filters.low_confidence:
            wanted.append(self._senders_saying(messages.c.confidence < self.low_confidence))
        if filters.fallback:
            # An nlu_fallback, or a fallback action after a low-confidence dialogue prediction.
            wanted.append(
                sa.union(
                    self._senders_saying(messages.c.intent == FALLBACK_INTENT),
                    sa.select(events.c.sender_id).where(
                        events.c.type_name == "action",
                        events.c.action_name.in_(FALLBACK_ACTIONS),
                    ),
                )
            )
        if filters.handoff:
            wanted.append(self._senders_saying(messages.c.intent == HANDOFF_INTENT))
        if filters.rating:
            wanted.append(self._senders_saying(messages.c.intent == RATING_INTENTS[filters.rating]))
        if filters.stuck:
            wanted.append(sa.select(repeats.c.sender_id))
        if filters.search:
            pattern = like_pattern(filters.search)
            wanted.append(self._senders_saying(messages.c.text.ilike(pattern, escape="\\")))
        if filters.status in ("reviewed", "saved"):
            wanted.append(
                sa.select(conversations.c.sender_id).where(conversations.c.status == filters.status)
            )
        if filters.tag:
            wanted.append(
                sa.select(conversation_tags.c.sender_id)
                .join(tags, tags.c.id == conversation_tags.c.tag_id)
                .where(tags.c.name == filters.tag)
            )
        conditions: list[Any] = [events.c.sender_id.in_(query) for query in wanted]
        if filters.status == "unread":
            conditions.append(
                events.c.sender_id.not_in(
                    sa.select(conversations.c.sender_id).where(conversations.c.status != "unread")
                )
            )
        return conditions

    def _conversations(self, filters: InboxFilters) -> Select:
        """One row per matching conversation: sender_id, first_at, last_at."""
        last_at = sa.func.max(events.c.timestamp)
        query = (
            sa.select(
                events.c.sender_id,
                sa.func.min(events.c.timestamp).label("first_at"),
                last_at.label("last_at"),
            )
            .where(*self._filter_conditions(filters))
            .group_by(events.c.sender_id)
            # Only conversations in which somebody said something (not a bare session start).
            .having(sa.func.sum(sa.case((events.c.type_name == "user", 1), else_=0)) > 0)
        )
        if filters.date_from:
            query = query.having(last_at >= day_start(filters.date_from))
        if filters.date_to:
            query = query.having(last_at < day_start(filters.date_to) + DAY)
        return query

    # The inbox

    def inbox(self, filters: InboxFilters, page: int = 1, size: int = 25) -> Page:
        self.sync()
        matching = self._conversations(filters).subquery()
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(matching)).scalar()
            page = clamp_page(page, total or 0, size)
            rows = connection.execute(
                sa.select(matching)
                .order_by(matching.c.last_at.desc(), matching.c.sender_id)
                .limit(size)
                .offset((page - 1) * size)
            ).all()
            summaries = self._summaries(connection, rows)
        return Page(summaries, page, size, total or 0)

    def matching(self, filters: InboxFilters, chunk: int = 500) -> Iterator[ConversationSummary]:
        """Every matching conversation, newest first (for exports), fetched in chunks."""
        self.sync()
        matching = self._conversations(filters).subquery()
        query = sa.select(matching).order_by(matching.c.last_at.desc(), matching.c.sender_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            for start in range(0, len(rows), chunk):
                yield from self._summaries(connection, rows[start : start + chunk])

    def _summaries(self, connection: Connection, rows: Sequence[Any]) -> list[ConversationSummary]:
        summaries = {
            row.sender_id: ConversationSummary(row.sender_id, row.first_at or 0, row.last_at or 0)
            for row in rows
        }
        if not summaries:
            return []
        senders = list(summaries)
        for message in self._user_messages(connection, senders):
            summary = summaries[message.sender_id]
            summary.user_messages += 1
            summary.channel = summary.channel or message.channel
            if not summary.first_message and not message.is_payload:
                summary.first_message = message.text
            prediction = message.prediction
            label = prediction.label
            if label and label not in summary.intents:
                summary.intents.append(label)
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
        for sender, tag in self._tags(connection, senders):
            summaries[sender].tags.append(tag)
        for table, attribute in ((notes, "notes"), (flags, "flags")):
            for sender, count in connection.execute(
                sa.select(table.c.sender_id, sa.func.count())
                .where(table.c.sender_id.in_(senders))
                .group_by(table.c.sender_id)
            ):
                setattr(summaries[sender], attribute, count)
        return [summaries[row.sender_id] for row in rows]

    @staticmethod
    def _user_messages(connection: Connection, senders: Sequence[str]) -> list[UserMessage]:
        rows = connection.execute(
            sa.select(messages)
            .where(messages.c.sender_id.in_(senders))
            .order_by(messages.c.event_id)
        )
        return [message_from_row(row) for row in rows]

    @staticmethod
    def _tags(connection: Connection, senders: Sequence[str]) -> Iterable[tuple[str, Tag]]:
        rows = connection.execute(
            sa.select(conversation_tags.c.sender_id, tags.c.id, tags.c.name, tags.c.colour)
            .join(tags, tags.c.id == conversation_tags.c.tag_id)
            .where(conversation_tags.c.sender_id.in_(senders))
            .order_by(tags.c.name)
        )
        return [(row.sender_id, Tag(row.id, row.name, row.colour)) for row in rows]

    def all_tags(self) -> list[Tag]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(tags.c.id, tags.c.name, tags.c.colour).order_by(tags.c.name)
            )
            return [Tag(*row) for row in rows]

    # One conversation

    def conversation(self, sender_id: str) -> Conversation | None:
        self.sync()
        with self.engine.connect() as connection:
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
            [summary] = self._summaries(
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
            entries = _as_read([entry for entry in map(_transcript_entry, rows) if entry], repeated)
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
            labels = {
                row.event_id: NluLabel(row.status, row.label, row.labelled_by)
                for row in connection.execute(
                    sa.select(
                        nlu_labels.c.event_id,
                        nlu_labels.c.status,
                        nlu_labels.c.label,
                        nlu_labels.c.labelled_by,
                    ).where(nlu_labels.c.sender_id == sender_id)
                )
            }
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

    # Hand-offs

    def handoffs(self, status: str = "", page: int = 1, size: int = 25) -> Page:
        """Conversations in which the user asked for a person, the newest request first."""
        self.sync()
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
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(matching)).scalar()
            page = clamp_page(page, total or 0, size)
            rows = connection.execute(
                sa.select(matching)
                .order_by(matching.c.asked_at.desc(), matching.c.sender_id)
                .limit(size)
                .offset((page - 1) * size)
            ).all()
            senders = [row.sender_id for row in rows]
            said: dict[str, list[UserMessage]] = {sender: [] for sender in senders}
            for message in self._user_messages(connection, senders) if senders else []:
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
        return Page(items, page, size, total or 0)

    # Dashboard

    def dashboard(self, days: int = 30, today: dt.date | None = None) -> DashboardNumbers:
        self.sync()
        today = today or dt.datetime.now(dt.timezone.utc).date()
        first_day = today - dt.timedelta(days=days - 1)
        since = day_start(first_day)
        until = day_start(today) + DAY
        in_range = sa.and_(messages.c.timestamp >= since, messages.c.timestamp < until)
        with self.engine.connect() as connection:
            # A conversation starts with its first user message, as in the inbox.
            first_said = sa.func.min(messages.c.timestamp)
            started = connection.execute(
                sa.select(first_said)
                .group_by(messages.c.sender_id)
                .having(first_said >= since)
                .having(first_said < until)
            ).scalars()
            conversation_days = Counter(utc_day(at) for at in started)
            message_days: Counter[dt.date] = Counter()
            fallback_days: Counter[dt.date] = Counter()
            handoff_days: Counter[dt.date] = Counter()
            helpful_days: Counter[dt.date] = Counter()
            not_helpful_days: Counter[dt.date] = Counter()
            # (helpful, typed) -> how many: clicked ratings and typed feedback, told apart.
            ratings: Counter[tuple[bool, bool]] = Counter()
            for at, intent, clicked in connection.execute(
                sa.select(
                    messages.c.timestamp, messages.c.intent, messages.c.text.startswith("/")
                ).where(in_range)
            ):
                day = utc_day(at)
                message_days[day] += 1
                helpful = is_helpful(intent)
                if intent == FALLBACK_INTENT:
                    fallback_days[day] += 1
                elif intent == HANDOFF_INTENT:
                    handoff_days[day] += 1
                elif helpful is not None:
                    (helpful_days if helpful else not_helpful_days)[day] += 1
                    ratings[helpful, not clicked] += 1
            count = sa.func.count().label("n")
            top_intents = [
                (intent or "(none)", n)
                for intent, n in connection.execute(
                    sa.select(messages.c.intent, count)
                    .where(in_range)
                    .group_by(messages.c.intent)
                    .order_by(count.desc(), messages.c.intent)
                    .limit(12)
                )
            ]
            plans = count_plans(self._plans_given(connection, since, until))
        every_day = [first_day + dt.timedelta(days=offset) for offset in range(days)]

        def series(counter: Counter[dt.date]) -> list[DailyCount]:
            return [DailyCount(day, counter.get(day, 0)) for day in every_day]

        return DashboardNumbers(
            first_day=first_day,
            last_day=today,
            conversations_per_day=series(conversation_days),
            messages_per_day=series(message_days),
            fallback_rate_per_day=[
                # A day without messages has no rate (no bar), as for satisfaction.
                DailyCount(
                    day, fallback_days[day] / message_days[day] if message_days[day] else None
                )
                for day in every_day
            ],
            handoffs_per_day=series(handoff_days),
            satisfaction_per_day=[
                DailyCount(day, _share(helpful_days[day], not_helpful_days[day]))
                for day in every_day
            ],
            top_intents=top_intents,
            conversations=sum(conversation_days.values()),
            messages=sum(message_days.values()),
            fallbacks=sum(fallback_days.values()),
            handoffs=sum(handoff_days.values()),
            clicked_helpful=ratings[True, False],
            clicked_not_helpful=ratings[False, False],
            typed_praise=ratings[True, True],
            typed_complaints=ratings[False, True],
            plans=plans,
        )

    @staticmethod
    def _plans_given(connection: Connection, since: float, until: float) -> Iterator[GivenPlan]:
        """The involvement plans the assistant gave between `since` and `until` (bot messages
        whose payload carries one; the LIKE only narrows down which JSON to read)."""
        rows = connection.execute(
            sa.select(events.c.data).where(
                events.c.type_name == "bot",
                events.c.timestamp >= since,
                events.c.timestamp < until,
                events.c.data.contains(f'"{PAYLOAD_KEY}"', autoescape=True),
            )
        ).scalars()
        for data in rows:
            try:
                plan = plan_in_event(json.loads(data or "{}"))
            except ValueError:  # not JSON: not Rasa's, and not ours to read
                continue
            if plan:
                yield plan

    # Exports

    def messages(self, senders: Sequence[str]) -> dict[str, list[TranscriptEntry]]:
        """User and bot messages of each conversation (for the JSON export)."""
        found: dict[str, list[TranscriptEntry]] = {sender: [] for sender in senders}
        with self.engine.connect() as connection:
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
                    entry = _transcript_entry(row)
                    if entry:
                        found[row.sender_id].append(entry)
        return found


@dataclass(frozen=True)
class _Row:
    sender_id: str
    first_at: float
    last_at: float


def _transcript_entry(row: Any) -> TranscriptEntry | None:
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
