"""Deleting stored conversations: one on request (erasure), and every message older than the
retention period (purge), with every review row about them.

Blocking functions with bounded waits (bot.tracker_db.engine), each in one transaction on a
short-lived engine: a database that fails or does not answer raises `ErasureError` and
nothing is deleted. An erasure while the assistant runs holds the conversation's lock
(`erase_conversation_locked`, the one routine for the channels' "Forget me" and the review
app's erase button), so a message being answered cannot save the erased turns back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.tracker_db.conversation_lock import ConversationBusy, shared_conversation_lock
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
    """Delete the events and the review rows of `senders`; returns the events deleted.

    Live corrections made from their messages go too (undone or not): a correction keeps the
    user's words, and nothing of an erased or purged conversation may stay. Corrections
    already trained on live on in the model's training data, which holds no sender."""
    deleted = 0
    tables = _review_tables(connection)
    has_corrections = inspect(connection).has_table("review_corrections")
    for start in range(0, len(senders), BATCH):
        batch = {"senders": list(senders[start : start + BATCH])}
        if has_corrections:
            connection.execute(
                text(
                    "DELETE FROM review_corrections WHERE event_id IN "
                    "(SELECT id FROM events WHERE sender_id IN :senders)"
                ).bindparams(bindparam("senders", expanding=True)),
                batch,
            )
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
    `erase_conversation_locked`.
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


# --- Erasure under the conversation's lock --------------------------------------------------

# A conversation's lock is held while it is erased; erasing never takes longer than this.
ERASE_LOCK_LIFETIME = 60
# How long a staff member's erasure waits for a message being answered before it refuses
# (a turn normally takes a second or two; the page must answer before a proxy gives up).
STAFF_ERASE_WAIT_SECONDS = 10.0


class ConversationLockStore(Protocol):
    """What holds a conversation's lock: Rasa's lock stores (`agent.lock_store`: in memory,
    or bot.rasa_ext.lock_store.RedisLockStore) and, outside Rasa,
    bot.tracker_db.conversation_lock.RedisConversationLock."""

    def lock(
        self, conversation_id: str, lock_lifetime: float = ...
    ) -> AbstractAsyncContextManager[object]: ...


def _is_busy(error: BaseException) -> bool:
    """Whether the lock was not had because the conversation is busy: our ConversationBusy,
    or Rasa's `LockError` (rasa.core.lock_store), known by name so that this module, which
    the review app imports, never imports Rasa."""
    if isinstance(error, ConversationBusy):
        return True
    return any(
        kind.__name__ == "LockError" and kind.__module__ == "rasa.core.lock_store"
        for kind in type(error).__mro__
    )


async def erase_conversation_locked(
    sender_id: str,
    lock_store: ConversationLockStore,
    url: str | None = None,
    check: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """`erase_conversation`, in a worker thread, while holding the conversation's lock in
    `lock_store` (the lock Rasa's Agent takes around each message:
    `lock_store.lock(sender_id)`).

    A message of the same conversation arriving meanwhile waits until the erasure is done and
    then starts a new conversation; without the lock, a message already being handled would
    save its turn after the erasure together with every earlier event it had loaded, and the
    conversation would come back. `check` (an async callable, optional) runs inside the lock
    first: when it returns False nothing is erased and 0 is returned.

    Raises `ErasureError` when the lock or the database fails; its `reason` says "the
    conversation is busy" when the lock was not had in time.
    """
    try:
        async with lock_store.lock(sender_id, lock_lifetime=ERASE_LOCK_LIFETIME):
            if check is not None and not await check():
                return 0
            return await asyncio.to_thread(erase_conversation, sender_id, url)
    except ErasureError:
        raise
    except Exception as error:  # the lock's own errors, and its store's (Redis down…)
        if _is_busy(error):
            logging.getLogger(__name__).error(
                "Could not lock a conversation to erase it: %s", error
            )
            raise ErasureError(
                f"the conversation is busy or the lock store failed: {error}",
                reason="the conversation is busy",
            ) from error
        raise ErasureError(
            f"the conversation could not be locked or read: {error!r}",
            reason="the conversation store is unavailable",
        ) from error


def erase_conversation_beside_rasa(
    sender_id: str,
    url: str | None,
    lock_store_url: str | None,
    max_wait: float | None = None,
) -> int:
    """Blocking: `erase_conversation_locked` from a process that runs beside the Rasa servers
    without loading Rasa (the review app, whose pages run in a worker thread), on the lock
    they share in LOCK_STORE_URL's Redis, waiting at most `max_wait` seconds for it (default
    STAFF_ERASE_WAIT_SECONDS).

    Without a shared lock store (one Rasa server, locking in its own memory) there is no lock
    another process can take, and the conversation is erased without it. Raises
    `ErasureError` as `erase_conversation_locked` does.
    """
    wait = STAFF_ERASE_WAIT_SECONDS if max_wait is None else max_wait
    lock_store = shared_conversation_lock(lock_store_url, wait)
    if lock_store is None:
        return erase_conversation(sender_id, url)
    try:
        return asyncio.run(erase_conversation_locked(sender_id, lock_store, url))
    finally:
        lock_store.close()


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
