"""The inbox's filtered conversations as CSV (one row each) and JSON (with the messages)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.review.conversations import ConversationStore, ConversationSummary, InboxFilters

CSV_COLUMNS = (
    "conversation",
    "channel",
    "started_utc",
    "last_activity_utc",
    "user_messages",
    "first_message",
    "intents",
    "lowest_confidence",
    "fallback",
    "handoff",
    "rated_helpful",
    "rated_not_helpful",
    "stuck",
    "status",
    "tags",
    "notes",
    "flags",
)


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).isoformat(timespec="seconds")


def _summary_record(summary: ConversationSummary) -> dict[str, Any]:
    return {
        "conversation": summary.sender_id,
        "channel": summary.channel,
        "started_utc": _iso(summary.first_at),
        "last_activity_utc": _iso(summary.last_at),
        "user_messages": summary.user_messages,
        "first_message": summary.first_message,
        "intents": summary.intents,
        "lowest_confidence": summary.lowest_confidence,
        "fallback": summary.fallback,
        "handoff": summary.handoff,
        "rated_helpful": summary.rated_helpful,
        "rated_not_helpful": summary.rated_not_helpful,
        "stuck": summary.stuck,
        "status": summary.status,
        "tags": [tag.name for tag in summary.tags],
        "notes": summary.notes,
        "flags": summary.flags,
    }


def _safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (user text can start with =)."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def conversations_csv(summaries: Iterable[ConversationSummary]) -> Iterator[str]:
    """CSV text, a chunk at a time (header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for summary in summaries:
        record = _summary_record(summary)
        writer.writerow([_safe_cell(record[column]) for column in CSV_COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def conversations_json(store: ConversationStore, filters: InboxFilters) -> str:
    """The conversations with their user and bot messages, as one JSON document."""
    summaries = list(store.matching(filters))
    messages = store.messages([summary.sender_id for summary in summaries])
    records = []
    for summary in summaries:
        record = _summary_record(summary)
        record["messages"] = [
            {
                "at_utc": _iso(entry.at),
                "from": entry.kind,
                "text": entry.text,
                **(
                    {
                        "intent": entry.prediction.intent,
                        "confidence": entry.prediction.confidence,
                        "response_key": entry.prediction.response_key,
                    }
                    if entry.prediction
                    else {}
                ),
                **(
                    {"rating": entry.rating.value, "rating_typed": entry.rating.typed}
                    if entry.rating
                    else {}
                ),
            }
            for entry in messages.get(summary.sender_id, [])
        ]
        records.append(record)
    return json.dumps(
        {"filters": filters.to_params(), "conversations": records}, ensure_ascii=False, indent=1
    )
