"""The admin's erase button holds the conversation's lock, as "Forget me" does.

The review app does not load Rasa, so it takes the Rasa servers' lock in their shared Redis
(LOCK_STORE_URL) through bot.tracker_db.conversation_lock. Here the other party is the real
lock store the Rasa servers use (bot.rasa_ext.lock_store.RedisLockStore) on the local Redis:
while it holds a conversation, the erase waits for it, or refuses and says so when it stays
busy, and leaves no ticket behind; and each lock waits for the other.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
import sqlalchemy as sa

from bot.tracker_db import erasure
from bot.tracker_db.conversation_lock import RedisConversationLock
from bot.tracker_db.engine import get_engine
from tests.review.conftest import WEB_ID, Staff


@pytest.fixture
def lock_store_url(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A LOCK_STORE_URL of its own (a fresh key prefix) on the local Redis, set for the
    review app as a deployment sets it."""
    url = f"{redis_server}?key_prefix=erase{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LOCK_STORE_URL", url)
    return url


def rasa_lock_store(url: str):
    """The lock store the Rasa servers build from LOCK_STORE_URL (bot.serve's endpoints)."""
    from bot.rasa_ext.lock_store import RedisLockStore
    from bot.settings import redis_lock_store

    section = redis_lock_store(url)
    section.pop("type")
    return RedisLockStore(host=section.pop("url"), **section)


@contextmanager
def message_holding_the_lock(store, sender: str, seconds: float, order: list[str]) -> Iterator:
    """A message of `sender` being answered for `seconds` in another thread, holding its lock
    in `store` as Rasa's Agent does (`async with lock_store.lock(sender)`)."""
    holding = threading.Event()

    async def answer() -> None:
        async with store.lock(sender):
            order.append("message starts")
            holding.set()
            await asyncio.sleep(seconds)
            order.append("message saved")

    thread = threading.Thread(target=asyncio.run, args=(answer(),))
    thread.start()
    try:
        assert holding.wait(10), "the message never got the lock"
        yield
    finally:
        thread.join(30)


def stored_events(url: str, sender: str) -> int:
    with get_engine(url).connect() as connection:
        return connection.execute(
            sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}
        ).scalar_one()


def test_the_review_erase_waits_for_a_message_holding_the_lock(
    admin: Staff, seeded_sqlite: str, lock_store_url: str
) -> None:
    store = rasa_lock_store(lock_store_url)
    assert stored_events(seeded_sqlite, WEB_ID) > 0
    order: list[str] = []
    with message_holding_the_lock(store, WEB_ID, 1.0, order):
        reply = admin.post("/conversation/erase", {"id": WEB_ID, "confirm": "yes"})
        order.append("erased")
    assert order == ["message starts", "message saved", "erased"]
    assert reply.headers["location"] == "/"
    assert stored_events(seeded_sqlite, WEB_ID) == 0
    # The erase gave its ticket back: no lock is left for the conversation.
    assert store.red.get(store.key_prefix + WEB_ID) is None


def test_the_review_erase_refuses_when_the_conversation_stays_busy(
    admin: Staff, seeded_sqlite: str, lock_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure, "STAFF_ERASE_WAIT_SECONDS", 0.5)
    store = rasa_lock_store(lock_store_url)
    before = stored_events(seeded_sqlite, WEB_ID)
    order: list[str] = []
    with message_holding_the_lock(store, WEB_ID, 3.0, order):
        started = time.monotonic()
        reply = admin.post("/conversation/erase", {"id": WEB_ID, "confirm": "yes"})
        waited = time.monotonic() - started
        assert order == ["message starts"], "the erase did not wait for the lock"
    assert 0.5 <= waited < 2.5
    assert reply.headers["location"].startswith("/conversation")
    page = admin.client.get(reply.headers["location"]).text
    assert "Nothing was erased: the conversation is busy" in page
    assert stored_events(seeded_sqlite, WEB_ID) == before

    # The refused erase took its ticket back: the next message gets the lock at once instead
    # of waiting for that ticket to expire (a minute).
    async def next_message() -> None:
        async with store.lock(WEB_ID):
            pass

    asyncio.run(asyncio.wait_for(next_message(), timeout=3))


def test_the_rasa_servers_wait_for_the_review_apps_lock(lock_store_url: str) -> None:
    store = rasa_lock_store(lock_store_url)
    review_lock = RedisConversationLock.from_url(lock_store_url, max_wait=5)
    sender = f"both-ways-{uuid.uuid4().hex[:8]}"
    order: list[str] = []

    async def erase() -> None:
        async with review_lock.lock(sender, lock_lifetime=60):
            order.append("erase starts")
            await asyncio.sleep(0.5)
            order.append("erase done")

    async def message() -> None:
        await asyncio.sleep(0.1)
        async with store.lock(sender):
            order.append("message")

    async def both() -> None:
        await asyncio.gather(erase(), message())

    asyncio.run(both())
    assert order == ["erase starts", "erase done", "message"]
    assert store.red.get(store.key_prefix + sender) is None


# --- How a lock that was not had is told (no Redis needed) -----------------------------------


class UnavailableLockStore:
    """A lock store whose `lock` fails with `error`, as Rasa's do when a lock cannot be had."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = 60):
        raise self.error
        yield


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("rasa", "the conversation is busy"),
        ("review", "the conversation is busy"),
        ("redis", "the conversation store is unavailable"),
    ],
)
def test_a_lock_not_had_is_an_erasure_error_with_its_reason(
    error: str, reason: str, sqlite_url: str
) -> None:
    import redis
    from rasa.core.lock_store import LockError

    from bot.tracker_db.conversation_lock import ConversationBusy

    raised = {
        "rasa": LockError("Could not acquire lock for conversation_id 'x'."),
        "review": ConversationBusy("conversation 'x' stayed locked for 10 s"),
        "redis": redis.ConnectionError("Connection refused"),
    }[error]
    with pytest.raises(erasure.ErasureError) as refused:
        asyncio.run(
            erasure.erase_conversation_locked("x", UnavailableLockStore(raised), sqlite_url)
        )
    assert refused.value.reason == reason
