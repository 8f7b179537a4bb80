"""Rasa's Redis lock store, with every change to a lock made atomically.

Rasa serialises the messages of one conversation with a ticket lock (rasa/core/lock.py): each
message takes a ticket, waits until it is served, and hands the lock on when done. Rasa 3.6's
RedisLockStore stores the lock as one JSON value and changes it by read, modify, write: two
replicas that take a ticket at the same moment both read "no lock", both write a queue with
ticket 0 and both go ahead, as if there were no shared lock. With six messages of one
conversation sent at once to two replicas, most rounds lost messages (docs/scale-out.md).
The same race lets one replica's clean-up delete a ticket another replica has just taken
("Could not acquire lock", and the user gets an apology).

This subclass keeps Rasa's key layout, ticket algorithm and settings, and makes each change a
Redis optimistic transaction (WATCH, MULTI/EXEC, retry when another replica changed the lock
in between). Configure it as `type: bot.rasa_ext.lock_store.RedisLockStore`; `bot run` does
so from LOCK_STORE_URL (bot.settings.redis_lock_store).

More changes for a Redis that fails (docs/reliability.md, "Faults"):

* every wait on Redis is bounded (REDIS_TIMEOUT_SECONDS, to connect and to answer; Rasa
  bounds only the answer, at 10 s), and runs in a worker thread, not on the event loop;
* every lock key expires shortly after its last ticket (Rasa's never expire: a replica that
  died holding a lock left the key behind for good);
* a failure to hand the lock on after a turn is logged, not raised: the turn is done and
  stored, and its ticket expires by itself. Raised, it turned a stored answer into an
  apology, and the user sent the message again (measured: bench/fault_test.py).
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

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext.registry import patch

T = TypeVar("T")
logger = logging.getLogger(__name__)

# A Redis that does not answer within this costs the message an apology, not a hung server.
REDIS_TIMEOUT_SECONDS = 2.0
# A lock key outlives its last ticket by this much, then Redis deletes it.
KEY_EXPIRY_MARGIN_SECONDS = 5.0


def key_lifetime_ms(lock: TicketLock, now: float) -> int:
    """How long the stored `lock` must live: until its last ticket expires, plus a margin
    (an emptied lock, kept until clean-up, gets only the margin)."""
    last_expiry = max((ticket.expires for ticket in lock.tickets), default=now)
    return max(1, math.ceil((last_expiry - now + KEY_EXPIRY_MARGIN_SECONDS) * 1000))


@patch(
    why="atomic tickets across replicas; expiring keys; bounded waits off the event loop",
    upstream=[
        "rasa.core.lock_store._load_from_module_name_in_endpoint_config",
        "rasa.core.lock_store.LockStore.issue_ticket",
        "rasa.core.lock_store.LockStore.lock",
        "rasa.core.lock_store.LockStore._acquire_lock",
        "rasa.core.lock_store.LockStore.update_lock",
        "rasa.core.lock_store.LockStore.finish_serving",
        "rasa.core.lock_store.LockStore.cleanup",
        "rasa.core.lock_store.RedisLockStore.__init__",
        "rasa.core.lock_store.RedisLockStore.get_lock",
        "rasa.core.lock_store.RedisLockStore.delete_lock",
        "rasa.core.lock_store.RedisLockStore.save_lock",
        "rasa.core.lock.TicketLock",
    ],
    tests=[
        "tests/test_scale_out.py::test_rasa_builds_our_redis_lock_store_from_the_section",
        "tests/test_scale_out.py::test_tickets_taken_at_the_same_moment_by_many_replicas_all_differ",
        "tests/test_scale_out.py::test_the_lock_lets_one_holder_in_at_a_time_and_is_gone_afterwards",
        "tests/test_faults.py::test_a_held_lock_key_expires_after_its_last_ticket",
        "tests/test_faults.py::test_an_unreachable_redis_fails_the_lock_quickly_and_a_failed_hand_on_is_not_raised",
    ],
)
class RedisLockStore(RasaRedisLockStore):
    """Rasa's `RedisLockStore` whose ticket, update and clean-up steps are atomic.

    Rewrites `LockStore.issue_ticket`, `lock`, `_acquire_lock`, `update_lock`,
    `finish_serving` and `cleanup`, and replaces `RedisLockStore.save_lock` and `delete_lock`
    by one atomic `_change` (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/lock_store.py),
    keeping Rasa's ticket algorithm (`TicketLock`,
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/lock.py) and key layout.
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa creates a lock store named by module path as `cls(endpoint_config=...)`; the
        # section's keys are RedisLockStore's own (`url` is the host).
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        kwargs.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        super().__init__(**kwargs)
        # Rasa sets no connect timeout; redis-py then waits for the system's (minutes).
        self.red.connection_pool.connection_kwargs["socket_connect_timeout"] = kwargs[
            "socket_timeout"
        ]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa 3.6's `LockStore.lock` (rasa/core/lock_store.py), with each Redis call in a
        worker thread and the hand-on after the turn logged instead of raised."""
        ticket = await asyncio.to_thread(self.issue_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            try:
                await asyncio.to_thread(self.cleanup, conversation_id, ticket)
            except redis.RedisError as error:
                logger.warning(
                    "Could not hand on the lock of a conversation (%s); its ticket expires by "
                    "itself within %.0f s",
                    error,
                    lock_lifetime,
                )

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        """Rasa's `_acquire_lock`: wait until `ticket` is served; LockError if the lock is
        gone meanwhile (expired, or Redis restarted empty)."""
        while True:
            lock = await asyncio.to_thread(self.get_lock, conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            await asyncio.to_thread(self.update_lock, conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[T, TicketLock | None]],
    ) -> T:
        """Apply `change` to the stored lock atomically and store what it returns (None:
        delete the lock). `change` may run more than once: when another process changes the
        lock between our read and our write, Redis refuses the write and we start over."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    current = TicketLock.from_dict(json.loads(raw)) if raw else None
                    result, new = change(current)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps(), px=key_lifetime_ms(new, time.time()))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Take the next ticket, creating the lock if there is none."""

        def issue(lock: TicketLock | None) -> tuple[int, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            return self._change(conversation_id, issue)
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (as Rasa does, keeping an emptied lock until clean-up)."""

        def drop_expired(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock:
                lock.remove_expired_tickets()
            return None, lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove `ticket_number` from the queue."""

        def remove(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock:
                lock.remove_ticket_for(ticket_number)
            return None, lock

        self._change(conversation_id, remove)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove our ticket, and the lock itself when no one else holds a ticket — in one
        step, so a ticket taken meanwhile by another replica is never deleted with it."""

        def remove_and_maybe_delete(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock:
                lock.remove_ticket_for(ticket_number)
            return None, lock if lock and lock.is_someone_waiting() else None

        self._change(conversation_id, remove_and_maybe_delete)
