"""The inbox's filters and its text search, as they come from the query string and as SQL.

Each filter is a `sender_id IN (…)` sub-query on plain, indexed columns (`review_messages`,
`review_repeats`, the review status and tags; see bot.tracker_db.messages), so no filter
reads Rasa's JSON. The search is a case-insensitive substring of what users typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Select

from bot.tracker_db.schema import (
    STATUSES,
    conversation_tags,
    conversations,
    events,
    messages,
    repeats,
    tags,
)
from bot.tracker_db.user_messages import (
    FALLBACK_INTENT,
    FEEDBACK_NEGATIVE,
    FEEDBACK_POSITIVE,
    HANDOFF_INTENT,
    LANGUAGE_CODE,
)

CHANNELS = ("web", "telegram", "rest")
# The inbox's rating filter: conversations with at least one such rating (clicked or typed).
RATING_INTENTS = {"helpful": FEEDBACK_POSITIVE, "not_helpful": FEEDBACK_NEGATIVE}
FALLBACK_ACTIONS = ("action_two_stage_fallback", "action_default_fallback")
DAY = 86_400


def day_start(day: dt.date) -> float:
    """Midnight UTC at the start of `day`, as epoch seconds."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()


def like_pattern(term: str) -> str:
    """`term` as a LIKE pattern matching it anywhere, its wildcards escaped (escape "\\")."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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
    language: str = ""  # a code of data/languages.yml: a user message detected in it

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
                language=_language(params.get("language"), problems),
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
            "language": self.language,
        }
        return {name: value for name, value in params.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_params())


def _language(value: str | None, problems: list[str]) -> str:
    """A language code, or "" with a problem: any well-formed code is accepted, so a language
    removed from data/languages.yml can still be found in older conversations."""
    raw = (value or "").strip().lower()
    if raw and not LANGUAGE_CODE.fullmatch(raw):
        problems.append(f"Unknown language {raw[:20]!r}: use a code such as en or fr.")
        return ""
    return raw


def _checked(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "on", "true", "yes"}


# --- As SQL -------------------------------------------------------------------------------------


def _senders_saying(*conditions: Any) -> Select:
    return sa.select(messages.c.sender_id).where(*conditions)


def filter_conditions(filters: InboxFilters, low_confidence: float) -> list[Any]:
    """Conditions on `events.sender_id`, one per active filter; `low_confidence` is the
    confidence below which a message counts as unsure."""
    wanted: list[Select] = []
    if filters.channel:
        wanted.append(_senders_saying(messages.c.channel == filters.channel))
    if filters.intent:
        column = messages.c.response_key if "/" in filters.intent else messages.c.intent
        wanted.append(_senders_saying(column == filters.intent))
    if filters.low_confidence:
        wanted.append(_senders_saying(messages.c.confidence < low_confidence))
    if filters.fallback:
        # An nlu_fallback, or a fallback action after a low-confidence dialogue prediction.
        wanted.append(
            sa.union(
                _senders_saying(messages.c.intent == FALLBACK_INTENT),
                sa.select(events.c.sender_id).where(
                    events.c.type_name == "action",
                    events.c.action_name.in_(FALLBACK_ACTIONS),
                ),
            )
        )
    if filters.handoff:
        wanted.append(_senders_saying(messages.c.intent == HANDOFF_INTENT))
    if filters.rating:
        wanted.append(_senders_saying(messages.c.intent == RATING_INTENTS[filters.rating]))
    if filters.stuck:
        wanted.append(sa.select(repeats.c.sender_id))
    if filters.language:
        wanted.append(_senders_saying(messages.c.language == filters.language))
    if filters.search:
        pattern = like_pattern(filters.search)
        wanted.append(_senders_saying(messages.c.text.ilike(pattern, escape="\\")))
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


def matching_conversations(filters: InboxFilters, low_confidence: float) -> Select:
    """One row per matching conversation: sender_id, first_at, last_at."""
    last_at = sa.func.max(events.c.timestamp)
    query = (
        sa.select(
            events.c.sender_id,
            sa.func.min(events.c.timestamp).label("first_at"),
            last_at.label("last_at"),
        )
        .where(*filter_conditions(filters, low_confidence))
        .group_by(events.c.sender_id)
        # Only conversations in which somebody said something (not a bare session start).
        .having(sa.func.sum(sa.case((events.c.type_name == "user", 1), else_=0)) > 0)
    )
    if filters.date_from:
        query = query.having(last_at >= day_start(filters.date_from))
    if filters.date_to:
        query = query.having(last_at < day_start(filters.date_to) + DAY)
    return query
