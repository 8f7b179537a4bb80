"""Deleting stored conversations: one on request (erasure), and every message older than the
retention period (purge), with every review row about them.

Blocking functions with bounded waits (bot.tracker_db.engine), each in one transaction on a
short-lived engine: a database that fails or does not answer raises `ErasureError` and
nothing is deleted. Async code calls them through `asyncio.to_thread`; the channels' "Forget
me" goes through bot.privacy.erase_conversation_locked, which holds the conversation's lock
in Rasa's lock store around the erasure.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.tracker_db.engine import short_lived_engine
from bot.tracker_db.schema import CONVERSATION_TABLES, MESSAGE_TABLES

# Conversations per DELETE … IN (…): a purge can cover thousands of them.
BATCH = 500


class ErasureError(RuntimeError):
    """The conversation could not be erased (the database failed or did not answer); nothing
    may be reported as erased. The message says why, for the log; `reason` says it in a
    few words for the user, without the database's own details."""

    def __init__(self, message: str, reason: str = "the database is unavailable") -> None:
        super().__init__(message)
        self.reason = reason


def _review_tables(connection: Connection) -> list[str]:
    """The review tables holding per-conversation rows that exist in this database (none
    before the review migrations ran)."""
    existing = set(inspect(connection).get_table_names())
    return [name for name in CONVERSATION_TABLES if name in existing]


def _delete_conversations(connection: Connection, senders: Sequence[str]) -> int:
    """Delete the events and the review rows of `senders`; returns the events deleted."""
    deleted = 0
    tables = _review_tables(connection)
    for start in range(0, len(senders), BATCH):
        batch = {"senders": list(senders[start : start + BATCH])}
        for table in tables:
            connection.execute(
                text(f"DELETE FROM {table} WHERE sender_id IN :senders").bindparams(
                    bindparam("senders", expanding=True)
                ),
                batch,
            )
        result = connection.execute(
            text("DELETE FROM events WHERE sender_id IN :senders").bindparams(
                bindparam("senders", expanding=True)
            ),
            batch,
        )
        deleted += result.rowcount or 0
    return deleted


def erase_conversation(sender_id: str, url: str | None = None) -> int:
    """Delete every stored event of one conversation, and the staff's review notes, tags,
    flags and labels about it, in one transaction; returns how many events were deleted.

    Blocking (call it from a thread in a server). Raises `ErasureError` when the database
    fails or does not answer within bot.tracker_db.engine.DATABASE_TIMEOUT_SECONDS: then
    nothing was deleted. Callers that run beside a Rasa server use
    bot.privacy.erase_conversation_locked.
    """
    with short_lived_engine(url) as engine:
        try:
            with engine.begin() as connection:
                if not inspect(connection).has_table("events"):
                    return 0
                return _delete_conversations(connection, [sender_id])
        except SQLAlchemyError as error:
            reason = getattr(error, "orig", None) or error
            raise ErasureError(f"the database did not erase the conversation: {reason}") from error


_AGE = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_age(value: str) -> dt.timedelta:
    """ "180d" (days, the default unit) or "26w" (weeks) as a timedelta: the age of the
    messages a purge deletes (`bot privacy purge --older-than`)."""
    match = _AGE.match(value)
    if not match:
        raise ValueError(f"expected a number of days such as 180d (or weeks: 26w), got {value!r}")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return dt.timedelta(weeks=amount) if unit == "w" else dt.timedelta(days=amount)


def stale_conversations(
    connection: Connection, older_than: dt.timedelta, now: float | None = None
) -> list[str]:
    """Conversations whose last event is older than `older_than` (gone whole by a purge)."""
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    rows = connection.execute(
        text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
        {"cutoff": cutoff},
    )
    return [sender for (sender,) in rows]


def purge_conversations(
    older_than: dt.timedelta,
    url: str | None = None,
    now: float | None = None,
    dry_run: bool = False,
) -> tuple[int, int]:
    """Retention, per message age: delete every event older than `older_than`, whatever
    conversation it belongs to, with the review rows about those messages; then the review
    rows of conversations that have no event left. A conversation still going on keeps its
    recent messages and loses its old ones.

    Returns (conversations emptied, events deleted) — or that would be, with `dry_run`.
    Raises `ErasureError` when the database fails (nothing is deleted then).
    """
    now = time.time() if now is None else now
    cutoff = now - older_than.total_seconds()
    with short_lived_engine(url) as engine:
        try:
            with engine.begin() as connection:
                if not inspect(connection).has_table("events"):
                    return 0, 0
                emptied = len(stale_conversations(connection, older_than, now))
                old = {"cutoff": cutoff}
                if dry_run:
                    count = text("SELECT COUNT(*) FROM events WHERE timestamp < :cutoff")
                    return emptied, connection.execute(count, old).scalar_one()
                return emptied, _delete_older(connection, old)
        except SQLAlchemyError as error:
            reason = getattr(error, "orig", None) or error
            raise ErasureError(f"the database did not purge old messages: {reason}") from error


def _delete_older(connection: Connection, old: dict[str, float]) -> int:
    """Delete the events before `old["cutoff"]`, the review rows about those messages, and
    the review rows of conversations left without events; returns the events deleted."""
    tables = _review_tables(connection)
    for table in tables:
        if table in MESSAGE_TABLES:
            connection.execute(
                text(
                    f"DELETE FROM {table} WHERE event_id IN "
                    "(SELECT id FROM events WHERE timestamp < :cutoff)"
                ),
                old,
            )
    if "review_messages" in tables:  # its own copy of the time, in case
        connection.execute(text("DELETE FROM review_messages WHERE timestamp < :cutoff"), old)
    deleted = connection.execute(text("DELETE FROM events WHERE timestamp < :cutoff"), old).rowcount
    for table in tables:
        connection.execute(
            text(
                f"DELETE FROM {table} WHERE sender_id NOT IN "
                "(SELECT DISTINCT sender_id FROM events)"
            )
        )
    return deleted or 0
