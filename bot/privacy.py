"""What we tell users about their data, erasing a conversation on request and purging old
ones (masking is bot.masking).

One text for every channel (web page, Telegram /privacy), so the promise is the same
everywhere, and one erasure routine that the channels and the staff review app call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import Connection

from bot.db import bounded_connect_args
from bot.settings import tracker_store_url

PRIVACY_NOTICE = (
    "This assistant gives general information about clinical research, not medical advice: "
    "for your own health, talk to your doctor or study team, and in an emergency call 112. "
    "Your messages and the assistant's replies are stored so that ECRIN staff can improve the "
    "answers; they are linked to a random or pseudonymous ID, not to your name or phone "
    "number. Please don't share personal health details. You can erase your conversation at "
    'any time ("Forget me" on the web page, /forget in Telegram).'
)


def pseudonym(kind: str, identifier: str | int, secret: str) -> str:
    """A stable ID that cannot be turned back into `identifier` without `secret`."""
    digest = hmac.new(secret.encode(), f"{kind}:{identifier}".encode(), hashlib.sha256)
    return f"{kind}-{digest.hexdigest()[:32]}"


# --- Erasure and purge ------------------------------------------------------------------------

# Every database call below waits at most this long to connect, and (PostgreSQL) for a lock
# or a statement: a database that does not answer is reported, never waited for forever.
DATABASE_TIMEOUT_SECONDS = 10

# A conversation's lock is held while it is erased; erasing never takes longer than this.
ERASE_LOCK_LIFETIME = 60


class ErasureError(RuntimeError):
    """The conversation could not be erased (the database failed or did not answer); nothing
    may be reported as erased. The message says why, for the log; `reason` says it in a
    few words for the user, without the database's own details."""

    def __init__(self, message: str, reason: str = "the database is unavailable") -> None:
        super().__init__(message)
        self.reason = reason


def _engine(url: str | None):
    """A short-lived engine on `url` (default: the tracker store) with bounded waits."""
    from sqlalchemy.pool import NullPool

    url = url or tracker_store_url()
    # A purge may delete many rows: a statement gets six times the connect/lock wait.
    connect_args = bounded_connect_args(
        url,
        connect=DATABASE_TIMEOUT_SECONDS,
        statement=DATABASE_TIMEOUT_SECONDS * 6,
        lock=DATABASE_TIMEOUT_SECONDS,
    )
    return create_engine(url, future=True, poolclass=NullPool, connect_args=connect_args)


def _review_tables(connection: Connection) -> list[str]:
    """The staff review tables holding per-conversation rows that exist in this database."""
    from bot.review.schema import CONVERSATION_TABLES

    existing = set(inspect(connection).get_table_names())
    return [name for name in CONVERSATION_TABLES if name in existing]


# Review tables whose rows are about one message (and copy its text): they go with it.
MESSAGE_TABLES = ("review_messages", "review_repeats", "review_flags", "review_nlu_labels")


def _delete_conversations(connection: Connection, senders: Sequence[str]) -> int:
    """Delete the events and the review rows of `senders`; returns the events deleted."""
    deleted = 0
    tables = _review_tables(connection)
    # Bounded IN lists: a purge can cover thousands of conversations.
    for start in range(0, len(senders), 500):
        batch = {"senders": list(senders[start : start + 500])}
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
    fails or does not answer within DATABASE_TIMEOUT_SECONDS: then nothing was deleted.
    Callers that run beside a Rasa server use `erase_conversation_locked`.
    """
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            return _delete_conversations(connection, [sender_id])
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise ErasureError(f"the database did not erase the conversation: {reason}") from error
    finally:
        engine.dispose()


async def erase_conversation_locked(
    sender_id: str, lock_store: Any, url: str | None = None, check: Any = None
) -> int:
    """`erase_conversation` while holding the conversation's lock in Rasa's lock store (the
    lock Rasa's Agent takes around each message: `lock_store.lock(sender_id)`).

    A message of the same conversation arriving meanwhile waits until the erasure is done and
    then starts a new conversation; without the lock, a message already being handled would
    save its turn after the erasure together with every earlier event it had loaded, and the
    conversation would come back. `check` (an async callable, optional) runs inside the lock
    first: when it returns False nothing is erased and 0 is returned.

    Raises `ErasureError` when the lock or the database fails.
    """
    import asyncio
    import logging

    from rasa.core.lock_store import LockError

    try:
        async with lock_store.lock(sender_id, lock_lifetime=ERASE_LOCK_LIFETIME):
            if check is not None and not await check():
                return 0
            return await asyncio.to_thread(erase_conversation, sender_id, url)
    except LockError as error:
        logging.getLogger(__name__).error("Could not lock a conversation to erase it: %s", error)
        raise ErasureError(
            f"the conversation is busy or the lock store failed: {error}",
            reason="the conversation is busy",
        ) from error
    except ErasureError:
        raise
    except Exception as error:  # the lock store's own connection errors (Redis down…)
        raise ErasureError(
            f"the conversation could not be locked or read: {error!r}",
            reason="the conversation store is unavailable",
        ) from error


_AGE = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_age(value: str) -> dt.timedelta:
    """ "180d" (days, the default unit) or "26w" (weeks) as a timedelta."""
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
    from sqlalchemy.exc import SQLAlchemyError

    now = time.time() if now is None else now
    cutoff = now - older_than.total_seconds()
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0, 0
            emptied = len(stale_conversations(connection, older_than, now))
            old = {"cutoff": cutoff}
            if dry_run:
                count = text("SELECT COUNT(*) FROM events WHERE timestamp < :cutoff")
                return emptied, connection.execute(count, old).scalar_one()
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
                connection.execute(
                    text("DELETE FROM review_messages WHERE timestamp < :cutoff"), old
                )
            deleted = connection.execute(
                text("DELETE FROM events WHERE timestamp < :cutoff"), old
            ).rowcount
            for table in tables:
                connection.execute(
                    text(
                        f"DELETE FROM {table} WHERE sender_id NOT IN "
                        "(SELECT DISTINCT sender_id FROM events)"
                    )
                )
            return emptied, deleted or 0
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise ErasureError(f"the database did not purge old messages: {reason}") from error
    finally:
        engine.dispose()


def _count_events(connection: Connection, senders: Iterable[str]) -> int:
    senders = list(senders)
    total = 0
    for start in range(0, len(senders), 500):
        total += connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id IN :senders").bindparams(
                bindparam("senders", expanding=True)
            ),
            {"senders": senders[start : start + 500]},
        ).scalar_one()
    return total


# --- The Telegram pseudonym key ---------------------------------------------------------------

PSEUDONYM_SECRET_MIN_CHARS = 16


def under_tests(env: Mapping[str, str]) -> bool:
    """pytest sets PYTEST_CURRENT_TEST for the test running now (and `bot run` started by a
    test inherits it): the only place a missing pseudonym key may fall back to another."""
    return bool(env.get("PYTEST_CURRENT_TEST"))


def pseudonym_secret_problem(env: Mapping[str, str]) -> str | None:
    """Why the Telegram channel must not start in `env`, or None.

    In production (TELEGRAM_TOKEN set, not under tests) the keyed hash that replaces chat ids
    needs its own secret, PSEUDONYM_SECRET: not the webhook secret (which is sent to Telegram
    and may be rotated, which would cut every chat off from its stored history), not the bot
    token, and long enough not to be guessed.
    """
    if not env.get("TELEGRAM_TOKEN") or under_tests(env):
        return None
    key = env.get("PSEUDONYM_SECRET") or ""
    how = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if not key:
        return f"TELEGRAM_TOKEN is set but PSEUDONYM_SECRET is not: {how}, and keep it."
    if key in (env.get("TELEGRAM_WEBHOOK_SECRET"), env.get("TELEGRAM_TOKEN")):
        return (
            "PSEUDONYM_SECRET must be its own secret, not the webhook secret or the bot token: "
            f"{how}."
        )
    if len(key) < PSEUDONYM_SECRET_MIN_CHARS:
        return f"PSEUDONYM_SECRET is shorter than {PSEUDONYM_SECRET_MIN_CHARS} characters: {how}."
    return None
