"""`ConversationStore`: the review app's reads of the stored conversations, in one object
that holds the engine and the low-confidence threshold.

Each read first brings the plain-column copies up to date with what Rasa stored since the
last request (`sync`, bot.tracker_db.messages), then asks the module for its concern:
filters and search (bot.tracker_db.filters), the inbox and exports (inbox), one conversation
(transcript), the hand-off queue (handoffs), the dashboard (dashboard). The reads only write
to keep those copies up to date.

Blocking calls with bounded waits (bot.tracker_db.engine): the review app runs them in a
worker thread, async code would use `asyncio.to_thread`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy.engine import Engine

from bot.tracker_db import dashboard, handoffs, inbox, transcript
from bot.tracker_db.dashboard import DashboardNumbers
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.handoffs import HandoffRequest
from bot.tracker_db.inbox import ConversationSummary, Tag
from bot.tracker_db.messages import sync_messages
from bot.tracker_db.paging import Page
from bot.tracker_db.transcript import Conversation, TranscriptEntry


class ConversationStore:
    def __init__(self, engine: Engine, low_confidence: float = 0.7) -> None:
        self.engine = engine
        # Below this intent confidence a message counts as unsure (the inbox's filter).
        self.low_confidence = low_confidence

    def sync(self) -> None:
        """Bring `review_messages` up to date with what Rasa stored since the last request."""
        sync_messages(self.engine)

    def inbox(
        self, filters: InboxFilters, page: int = 1, size: int = 25
    ) -> Page[ConversationSummary]:
        self.sync()
        return inbox.inbox(self.engine, filters, self.low_confidence, page, size)

    def matching(self, filters: InboxFilters, chunk: int = 500) -> Iterator[ConversationSummary]:
        """Every matching conversation, newest first (for exports), fetched in chunks."""
        self.sync()
        yield from inbox.every_match(self.engine, filters, self.low_confidence, chunk)

    def all_tags(self) -> list[Tag]:
        return inbox.all_tags(self.engine)

    def conversation(self, sender_id: str) -> Conversation | None:
        self.sync()
        return transcript.conversation(self.engine, sender_id)

    def messages(self, senders: Sequence[str]) -> dict[str, list[TranscriptEntry]]:
        """User and bot messages of each conversation (for the JSON export)."""
        return transcript.messages(self.engine, senders)

    def handoffs(self, status: str = "", page: int = 1, size: int = 25) -> Page[HandoffRequest]:
        self.sync()
        return handoffs.handoffs(self.engine, status, page, size)

    def dashboard(self, days: int = 30, today: dt.date | None = None) -> DashboardNumbers:
        self.sync()
        return dashboard.dashboard(self.engine, days, today)
