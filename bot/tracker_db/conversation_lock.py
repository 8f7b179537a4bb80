"""Rasa's conversation lock, taken from a process that does not load Rasa (the review app).

Rasa handles the messages of one conversation one at a time: each message takes a ticket in
the conversation's lock and waits to be served (`TicketLock`,
https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/lock.py). Erasing a conversation must
hold the same lock, or a message being answered saves the erased turns back
(bot.tracker_db.erasure.erase_conversation_locked says how).

The Rasa servers share that lock in Redis when LOCK_STORE_URL is set
(bot.rasa_ext.lock_store.RedisLockStore). The review app must not load Rasa
(docs/architecture.md), so `RedisConversationLock` takes a ticket in the same Redis, under the
same key and in the same JSON form, with the same atomic step (WATCH, MULTI/EXEC) as that
lock store; tests/test_conversation_lock.py checks against the real one that each waits for
the other. Unlike Rasa's, it gives up after `max_wait` seconds, removing its ticket, so a
staff member's request never hangs behind a long turn.

Without LOCK_STORE_URL each Rasa server locks in its own memory, which no other process can
reach: `shared_conversation_lock` returns None then (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from bot.settings import parsing

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Rasa's RedisLockStore keys a lock as "<key_prefix>:lock:<conversation id>".
RASA_LOCK_KEY = "{prefix}:lock:{conversation_id}"
# A Redis that does not answer within this fails the erasure instead of hanging the page.
REDIS_TIMEOUT_SECONDS = 2.0
# A lock key outlives its last ticket by this much, then Redis deletes it (as
# bot.rasa_ext.lock_store does: a process that died holding a ticket leaves no key behind).
KEY_EXPIRY_MARGIN_SECONDS = 5.0

# A ticket as Rasa stores it: {"number": int, "expires": float (epoch seconds)}.
Ticket = dict[str, float]


class ConversationBusy(RuntimeError):
    """The lock was not had: the conversation stayed busy for the whole wait, or its lock
    vanished while waiting (expired, or Redis restarted empty)."""


def _tickets(raw: bytes | str | None, now: float) -> list[Ticket]:
    """The unexpired tickets of a stored lock, in queue order (Rasa's `TicketLock.from_dict`
    and `remove_expired_tickets`: each ticket is itself a JSON string in the list)."""
    if not raw:
        return []
    tickets = [json.loads(ticket) for ticket in json.loads(raw).get("tickets", [])]
    return [ticket for ticket in tickets if ticket["expires"] >= now]


def _dumps(conversation_id: str, tickets: list[Ticket]) -> str:
    """Rasa's `TicketLock.dumps`."""
    return json.dumps(
        {"conversation_id": conversation_id, "tickets": [json.dumps(t) for t in tickets]}
    )


def _now_serving(tickets: list[Ticket]) -> int:
    """Rasa's `TicketLock.now_serving`: the first ticket's number, 0 with none."""
    return int(tickets[0]["number"]) if tickets else 0


class RedisConversationLock:
    """Rasa's ticket lock in Redis, for processes that do not load Rasa.

    `lock(conversation_id, lock_lifetime)` is used like Rasa's `LockStore.lock`, as
    bot.tracker_db.erasure.erase_conversation_locked does."""

    def __init__(
        self, client: Any, key_prefix: str, max_wait: float, poll_seconds: float = 0.25
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.max_wait = max_wait
        self.poll_seconds = poll_seconds

    @classmethod
    def from_url(cls, url: str, max_wait: float) -> RedisConversationLock:
        """The lock store of LOCK_STORE_URL `url` (bot.settings.parsing.redis_section reads
        it as the Rasa servers' endpoints file does)."""
        import redis

        section = parsing.redis_section(url)
        client = redis.Redis(
            host=str(section["url"]),
            port=int(section["port"]),  # type: ignore[call-overload]
            db=int(section["db"]),  # type: ignore[call-overload]
            username=section.get("username"),  # type: ignore[arg-type]
            password=section.get("password"),  # type: ignore[arg-type]
            ssl=bool(section["use_ssl"]),
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return cls(client, str(section["key_prefix"]), max_wait)

    def close(self) -> None:
        """Close the connections to Redis."""
        self.client.close()

    def key(self, conversation_id: str) -> str:
        return RASA_LOCK_KEY.format(prefix=self.key_prefix, conversation_id=conversation_id)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float) -> AsyncIterator[None]:
        """Hold the conversation's lock for the block: take a ticket, wait until it is served
        (at most `max_wait` seconds, else ConversationBusy), give it back at the end. Each
        Redis call runs in a worker thread."""
        ticket = await asyncio.to_thread(self._issue_ticket, conversation_id, lock_lifetime)
        try:
            await self._wait_until_served(conversation_id, ticket)
            yield
        finally:
            await asyncio.to_thread(self._give_back, conversation_id, ticket, lock_lifetime)

    async def _wait_until_served(self, conversation_id: str, ticket: int) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            raw = await asyncio.to_thread(self.client.get, self.key(conversation_id))
            if raw is None:
                raise ConversationBusy(f"the lock of conversation {conversation_id!r} is gone")
            if _now_serving(_tickets(raw, time.time())) == ticket:
                return
            if time.monotonic() >= deadline:
                raise ConversationBusy(
                    f"conversation {conversation_id!r} stayed locked for {self.max_wait:g} s"
                )
            await asyncio.sleep(self.poll_seconds)

    def _issue_ticket(self, conversation_id: str, lifetime: float) -> int:
        """Rasa's `TicketLock.issue_ticket`: the next number after the last unexpired one."""

        def issue(tickets: list[Ticket], now: float) -> tuple[int, list[Ticket]]:
            number = int(tickets[-1]["number"]) + 1 if tickets else 0
            return number, [*tickets, {"number": number, "expires": now + lifetime}]

        return self._change(conversation_id, issue)

    def _give_back(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Remove `ticket`, and the lock with it when no one else holds one (as our Redis
        lock store's `cleanup`, in one step). A Redis that fails now is logged, not raised:
        what the block did is done, and the ticket expires by itself."""
        import redis

        def remove(tickets: list[Ticket], now: float) -> tuple[None, list[Ticket]]:
            return None, [t for t in tickets if t["number"] != ticket]

        try:
            self._change(conversation_id, remove)
        except redis.RedisError as error:
            logger.warning(
                "Could not give back a conversation's lock (%s); its ticket expires by itself "
                "within %.0f s",
                error,
                lifetime,
            )

    def _change(
        self,
        conversation_id: str,
        change: Callable[[list[Ticket], float], tuple[T, list[Ticket]]],
    ) -> T:
        """Apply `change` to the stored tickets atomically and store what it returns (none:
        delete the lock); start over when another process changed the lock meanwhile."""
        import redis

        key = self.key(conversation_id)
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    now = time.time()
                    result, tickets = change(_tickets(pipe.get(key), now), now)
                    pipe.multi()
                    if tickets:
                        last_expiry = max(t["expires"] for t in tickets)
                        lifetime = last_expiry - now + KEY_EXPIRY_MARGIN_SECONDS
                        pipe.set(
                            key,
                            _dumps(conversation_id, tickets),
                            px=max(1, math.ceil(lifetime * 1000)),
                        )
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue


def shared_conversation_lock(
    lock_store_url: str | None, max_wait: float
) -> RedisConversationLock | None:
    """The Rasa servers' shared lock store (LOCK_STORE_URL), or None when there is none (one
    Rasa server, locking in its own memory)."""
    return RedisConversationLock.from_url(lock_store_url, max_wait) if lock_store_url else None
