"""The inbox's filtered conversations as CSV (one row each) and JSON (with the messages)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.inbox import ConversationSummary
from bot.tracker_db.store import ConversationStore

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
    "languages",
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
        "languages": summary.languages,
    }


# A spreadsheet runs a cell as a formula when it starts with one of these, also after blanks
# or quotes it strips on import (the full-width forms too, which some versions accept).
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Stripped before looking: blanks, line breaks, quotes. A leading tab or line break is itself
# unsafe (it can start a cell of its own, or hide what follows).
_SKIPPED = " \t\r\n\u00a0\u3000\"'\u2018\u2019\u201c\u201d"


def _safe_cell(value: Any) -> str | int | float:
    """A CSV cell that a spreadsheet will not run as a formula (user text can start with =):
    text that could is prefixed with an apostrophe, which spreadsheets show as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value  # ours, never user text: -0.5 stays a number
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = "" if value is None else str(value)
    if text[:1] in ("\t", "\r", "\n") or text.lstrip(_SKIPPED)[:1] in FORMULA_STARTS:
        return "'" + text
    return text


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
                **({"language": entry.language} if entry.kind == "user" else {}),
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
