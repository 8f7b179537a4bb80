""" "Forget me" tells the truth: a database failure is a 503 with a reason (web) or a message
saying the conversation is still stored (Telegram), never "Done"; the erasure holds the
conversation's lock, so a message arriving at the same moment cannot bring it back; Telegram
updates are answered once; the Telegram pseudonym key is its own secret.

Real services: the running assistant on SQLite, PostgreSQL at 127.0.0.1:5432, Redis.
"""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import privacy
from bot.channels.telegram import FORGET_FAILED, FORGOTTEN, TelegramInput
from bot.serve import credentials_file
from bot.settings import Settings
from bot.tracker_db import engine, erasure
from tests.conftest import TELEGRAM_SECRET, Assistant
from tests.telegram_fake import FakeBotApi, message_update

WEBHOOK = "/webhooks/telegram/webhook"


def _forget(assistant: Assistant, sender: str):
    return assistant.post("/webhooks/web/forget", json.dumps({"sender": sender}).encode())


def _texts(tracker_url: str, sender: str) -> list[str]:
    path = tracker_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchall()
    return [json.loads(data).get("text") or "" for (data,) in rows]


class HeldWriteLock:
    """Another writer holding the SQLite tracker store: every write waits, then fails."""

    def __init__(self, tracker_url: str) -> None:
        self.connection = sqlite3.connect(
            tracker_url.removeprefix("sqlite:///"), isolation_level=None
        )

    def __enter__(self) -> HeldWriteLock:
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


# --- The web page's "Forget me" ----------------------------------------------------------------


@pytest.mark.e2e
def test_a_database_failure_is_a_503_with_a_reason_and_nothing_is_lost(
    assistant: Assistant,
) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    assistant.ask("What is a placebo?", sender=sender, channel="web")
    with HeldWriteLock(assistant.tracker_store_url):
        status, reply = _forget(assistant, sender)
    assert status == 503, reply
    assert "not erased" in reply["error"] and "database" in reply["error"]
    assert "erased_events" not in reply
    assert _texts(assistant.tracker_store_url, sender) == ["What is a placebo?"]
    # Once the database is back, the same request erases it.
    status, reply = _forget(assistant, sender)
    assert status == 200 and reply["erased_events"] > 0
    assert _texts(assistant.tracker_store_url, sender) == []


@pytest.mark.e2e
def test_a_message_arriving_with_forget_me_cannot_bring_the_conversation_back(
    assistant: Assistant,
) -> None:
    """Without the lock, a message loaded with the old turns saves them all back after the
    erasure (Rasa saves the events it thinks are new by count). Each round sends a message
    and "Forget me" at nearly the same moment, with the forget a little later each time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_number in range(8):
            sender = f"race-{uuid.uuid4().hex[:8]}"
            assistant.ask("What is ECRIN?", sender=sender, channel="web")
            message = pool.submit(assistant.ask, "What is a placebo?", sender, "web")
            time.sleep(0.02 * round_number)
            status, reply = pool.submit(_forget, assistant, sender).result()
            message.result()
            assert status == 200, reply
            # Whatever the order, the erased message never comes back.
            assert "What is ECRIN?" not in _texts(assistant.tracker_store_url, sender)


def test_erasure_takes_the_conversation_lock(assistant: Assistant) -> None:
    """The erasure waits for a message holding the lock, on Rasa's in-memory lock store and
    our Redis one alike (here: the in-memory one; see the Redis test below)."""
    from rasa.core.lock_store import InMemoryLockStore

    asyncio.run(_erase_waits_for_the_lock(InMemoryLockStore(), assistant.tracker_store_url))


@pytest.mark.postgres
def test_erasure_waits_for_the_redis_lock(redis_server: str, postgres_database: str) -> None:
    from bot.rasa_ext.lock_store import RedisLockStore
    from bot.settings import redis_lock_store

    section = redis_lock_store(f"{redis_server}?key_prefix=forget{uuid.uuid4().hex[:6]}")
    section.pop("type")
    store = RedisLockStore(host=section.pop("url"), **section)
    _events_table(postgres_database)
    asyncio.run(_erase_waits_for_the_lock(store, postgres_database))


def _events_table(url: str) -> None:
    from bot.serve import upgrade_tracker_store

    upgrade_tracker_store({"TRACKER_STORE_URL": url})


async def _erase_waits_for_the_lock(lock_store, url: str) -> None:
    sender = f"locked-{uuid.uuid4().hex[:8]}"
    order: list[str] = []

    async def message() -> None:
        async with lock_store.lock(sender):
            order.append("message starts")
            await asyncio.sleep(0.5)
            order.append("message saved")

    async def forget() -> None:
        await asyncio.sleep(0.1)
        await privacy.erase_conversation_locked(sender, lock_store, url)
        order.append("erased")

    await asyncio.gather(message(), forget())
    assert order == ["message starts", "message saved", "erased"]


# --- Erasure against failing databases (PostgreSQL) ---------------------------------------------


@pytest.mark.postgres
def test_a_locked_postgresql_table_makes_erasure_fail_within_the_timeout(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events_table(postgres_database)
    monkeypatch.setattr(engine, "DATABASE_TIMEOUT_SECONDS", 1)
    blocker = sa.create_engine(postgres_database, future=True)
    try:
        with blocker.begin() as connection:
            connection.execute(sa.text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(erasure.ErasureError, match="did not erase"):
                erasure.erase_conversation("someone", postgres_database)
            assert time.monotonic() - started < 5
    finally:
        blocker.dispose()


def test_an_unreachable_database_is_an_erasure_error(free_tcp_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_tcp_port}/nothing"
    with pytest.raises(erasure.ErasureError) as raised:
        erasure.erase_conversation("someone", url)
    assert raised.value.reason == "the database is unavailable"


@pytest.fixture
def free_tcp_port() -> int:
    from bot.serve import free_port

    return free_port()


# --- Telegram -----------------------------------------------------------------------------------


def _send(assistant: Assistant, update: dict):
    body = json.dumps(update).encode()
    return assistant.post(
        WEBHOOK, body, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )


@pytest.mark.e2e
def test_telegram_forget_says_so_when_the_database_did_not_erase(
    assistant: Assistant, fake_telegram: FakeBotApi
) -> None:
    chat_id = 55_000 + int(time.time()) % 1000
    fake_telegram.clear()
    _send(assistant, message_update("What is a placebo?", chat_id=chat_id))
    with HeldWriteLock(assistant.tracker_store_url):
        assert _send(assistant, message_update("/forget", chat_id=chat_id))[0] == 200
    assert fake_telegram.sent()[-1]["text"] == html.escape(FORGET_FAILED, quote=False)
    _send(assistant, message_update("/forget", chat_id=chat_id))
    assert fake_telegram.sent()[-1]["text"] == html.escape(FORGOTTEN, quote=False)


@pytest.mark.e2e
def test_a_redelivered_telegram_update_is_answered_once(
    assistant: Assistant, fake_telegram: FakeBotApi
) -> None:
    fake_telegram.clear()
    update = message_update("What is EUPATI?", chat_id=56_001)
    update["update_id"] = 7_000_000 + int(time.time()) % 100_000
    assert _send(assistant, update) == (200, {"status": "ok"})
    answered = len(fake_telegram.sent())
    assert answered >= 1
    status, reply = _send(assistant, update)
    assert status == 200 and reply["duplicate"] is True
    assert len(fake_telegram.sent()) == answered


@pytest.mark.postgres
def test_update_ids_are_shared_through_redis(redis_server: str) -> None:
    """Two replicas (two channel objects) share the seen ids through the Redis lock store."""
    from bot.rasa_ext.lock_store import RedisLockStore
    from bot.settings import redis_lock_store

    section = redis_lock_store(f"{redis_server}?key_prefix=tg{uuid.uuid4().hex[:6]}")
    section.pop("type")
    store = RedisLockStore(host=section.pop("url"), **section)
    one = TelegramInput("123:abc", "s", "http://127.0.0.1:9", "k" * 32)
    two = TelegramInput("123:abc", "s", "http://127.0.0.1:9", "k" * 32)

    async def deliveries() -> list[bool]:
        return [
            await one.first_delivery(42, store),
            await two.first_delivery(42, store),
            await two.first_delivery(43, store),
            await one.first_delivery(43),  # no Redis: this process's own memory
            await one.first_delivery(43),
        ]

    assert asyncio.run(deliveries()) == [True, False, True, True, False]


# --- The pseudonym key is its own secret ------------------------------------------------------


PRODUCTION = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-1234567"}


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({}, "PSEUDONYM_SECRET is not"),
        ({"PSEUDONYM_SECRET": "webhook-secret-1234567"}, "its own secret"),
        ({"PSEUDONYM_SECRET": "123:abc"}, "its own secret"),
        ({"PSEUDONYM_SECRET": "short"}, "shorter than 16"),
        ({"PSEUDONYM_SECRET": "a-long-random-pseudonym-key"}, None),
    ],
)
def test_production_needs_its_own_pseudonym_secret(extra: dict, problem: str | None) -> None:
    found = Settings.from_env({**PRODUCTION, **extra}).telegram.pseudonym_secret_problem()
    assert (found is None) if problem is None else (problem in found)


def test_without_telegram_or_under_tests_no_pseudonym_secret_is_needed() -> None:
    assert Settings.from_env({}).telegram.pseudonym_secret_problem() is None
    under_tests = Settings.from_env({**PRODUCTION, "PYTEST_CURRENT_TEST": "x"})
    assert under_tests.telegram.pseudonym_secret_problem() is None


def test_bot_run_and_the_channel_refuse_to_start_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit, match="PSEUDONYM_SECRET"):
        credentials_file(PRODUCTION, tmp_path)
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("PSEUDONYM_SECRET", raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="PSEUDONYM_SECRET"):
        TelegramInput.from_credentials(None)
    monkeypatch.setenv("PSEUDONYM_SECRET", "a-long-random-pseudonym-key")
    assert TelegramInput.from_credentials(None).pseudonym_key == "a-long-random-pseudonym-key"


@pytest.mark.e2e
def test_the_page_says_so_when_the_server_did_not_erase(browser, assistant: Assistant) -> None:
    """The web page checks the response: a 503 shows an error and keeps the conversation on
    screen; it never says "erased"."""
    from playwright.sync_api import expect

    from tests.test_browser import ask

    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{assistant.base_url}/webhooks/web/")
        ask(page, "What is a placebo?")
        with HeldWriteLock(assistant.tracker_store_url):
            page.get_by_role("button", name="Forget me").click()
            expect(page.locator(".msg--bot").last).to_contain_text("couldn't erase", timeout=30_000)
        last = page.locator(".msg--bot").last.inner_text()
        assert "still stored" in last and "database" in last and "has been erased" not in last
        expect(page.locator(".msg--user")).to_have_count(1)  # the conversation is still shown
        sender = page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")
        assert _texts(assistant.tracker_store_url, sender) == ["What is a placebo?"]
        page.get_by_role("button", name="Forget me").click()  # the database is back
        expect(page.locator(".msg--bot").last).to_contain_text("conversation has been erased")
        assert _texts(assistant.tracker_store_url, sender) == []  # and the server did erase it
    finally:
        context.close()
