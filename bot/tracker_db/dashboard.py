"""The dashboard's numbers over the last N days (UTC): conversations, messages, fall-backs,
hand-offs and ratings per day, the most frequent intents, and the involvement plans given.

Everything but the plans is counted on `review_messages` (plain columns); the plans are read
from the bot events that carry one (bot.tracker_db.plans).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.tracker_db.filters import DAY, day_start
from bot.tracker_db.plans import PAYLOAD_KEY, GivenPlan, PlanCounts, count_plans, plan_in_event
from bot.tracker_db.schema import events, messages
from bot.tracker_db.user_messages import FALLBACK_INTENT, HANDOFF_INTENT, is_helpful


def utc_day(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).date()


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


def dashboard(engine: Engine, days: int = 30, today: dt.date | None = None) -> DashboardNumbers:
    """The numbers of the `days` days up to `today` (default: today, UTC)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    first_day = today - dt.timedelta(days=days - 1)
    since = day_start(first_day)
    until = day_start(today) + DAY
    in_range = sa.and_(messages.c.timestamp >= since, messages.c.timestamp < until)
    with engine.connect() as connection:
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
        plans = count_plans(_plans_given(connection, since, until))
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
            DailyCount(day, fallback_days[day] / message_days[day] if message_days[day] else None)
            for day in every_day
        ],
        handoffs_per_day=series(handoff_days),
        satisfaction_per_day=[
            DailyCount(day, _share(helpful_days[day], not_helpful_days[day])) for day in every_day
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
