"""Rate limits (bot/ratelimit.py): per sender and per client address, on the real channel
apps, with concurrent requests; the client address rule; a limiter shared through Redis."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot import ratelimit
from bot.ratelimit import (
    Limit,
    MemoryBackend,
    RateLimiter,
    RedisBackend,
    client_address,
)
from bot.settings import parse_trusted_proxies
from tests.test_rest_channel import ScriptedAgent

PROXY = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1")
JSON = {"Content-Type": "application/json"}


# --- The client address ------------------------------------------------------------------------


def test_forwarded_headers_are_ignored_from_an_untrusted_peer() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], trusted=PROXY) == "203.0.113.9"
    assert client_address("203.0.113.9", [], ["for=1.2.3.4"], trusted=PROXY) == "203.0.113.9"
    assert client_address("127.0.0.1", ["1.2.3.4"], trusted=()) == "127.0.0.1"


def test_forwarded_headers_are_honoured_from_a_trusted_proxy() -> None:
    assert client_address("10.1.2.3", ["198.51.100.7"], trusted=PROXY) == "198.51.100.7"
    # A client's own X-Forwarded-For is on the left of what the proxy appended: ignored.
    spoofed = ["6.6.6.6, 198.51.100.7"]
    assert client_address("10.1.2.3", spoofed, trusted=PROXY) == "198.51.100.7"
    # Through two trusted proxies.
    assert client_address("127.0.0.1", ["198.51.100.7, 10.9.9.9"], trusted=PROXY) == (
        "198.51.100.7"
    )
    forwarded = ['for="[2001:db8::1]:4711";proto=https']
    assert client_address("10.1.2.3", [], forwarded, trusted=PROXY) == "2001:db8::1"
    # Garbage in the header stops at the proxy that passed it on.
    assert client_address("10.1.2.3", ["not-an-ip"], trusted=PROXY) == "10.1.2.3"


@pytest.mark.parametrize("raw", ["*", "0.0.0.0/0", "::/0", "nginx"])
def test_trusted_proxies_never_trust_everyone(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_trusted_proxies(raw)


# --- The limiter -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_a_burst_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter({"s": Limit(3, 30)}, MemoryBackend(clock))
    assert [limiter.check("s", "k").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.check("s", "k")
    assert not refused.allowed and refused.retry_after == pytest.approx(10)
    assert refused.retry_after_header == "10"
    assert limiter.check("s", "other").allowed  # keys are separate
    clock.now += 10
    assert limiter.check("s", "k").allowed and not limiter.check("s", "k").allowed


def test_a_limit_of_zero_is_off() -> None:
    limits = ratelimit.limits_from_env({"RATE_LIMIT_PER_SENDER": "0"})
    limiter = RateLimiter(limits)
    assert all(limiter.check(ratelimit.SENDER, "k").allowed for _ in range(100))


def test_the_defaults_leave_room_for_the_benchmarks() -> None:
    limits = ratelimit.limits_from_env({})
    assert limits[ratelimit.SENDER] == Limit(30, 60)
    # bench/compare.py sends 200 + 400 + 640 messages from 127.0.0.1 at ~20-25 msg/s, and
    # bench/load_test.py 50 users x 20 messages: a burst of 1200 refilled at 20/s covers both.
    assert limits[ratelimit.ADDRESS] == Limit(1200, 60)


def test_parallel_requests_cannot_take_more_than_the_limit() -> None:
    limiter = RateLimiter({"s": Limit(30, 3600)})
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: limiter.check("s", "k").allowed, range(200)))
    assert results.count(True) == 30


def test_a_redis_limiter_is_shared_by_two_instances(redis_server: str) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    first = RateLimiter(
        {"s": Limit(10, 60)}, RedisBackend.from_url(f"{redis_server}?key_prefix={prefix}")
    )
    second = RateLimiter(
        {"s": Limit(10, 60)}, RedisBackend.from_url(f"{redis_server}?key_prefix={prefix}")
    )

    def hit(index: int) -> bool:
        return (first if index % 2 else second).check("s", "shared").allowed

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(hit, range(40)))
    assert results.count(True) == 10
    refused = second.check("s", "shared")
    assert not refused.allowed and 0 < refused.retry_after <= 6
    assert first.check("s", "another key").allowed
    backend = first.backend
    assert isinstance(backend, RedisBackend)
    keys = backend.client.keys(f"{prefix}:rl:*")
    assert keys and all(backend.client.pttl(key) > 0 for key in keys)  # they expire
    backend.client.delete(*keys)


def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = RateLimiter({"s": Limit(1, 60)}, RedisBackend.from_url("redis://127.0.0.1:1/0"))
    assert limiter.check("s", "k").allowed and limiter.check("s", "k").allowed


# --- On the real channel apps ------------------------------------------------------------------


def channel_app(monkeypatch: pytest.MonkeyPatch, **env: str):
    """The real REST and web channels on a Sanic app, as Rasa mounts them, with `env`."""
    from rasa.core.channels.channel import register
    from sanic import Sanic

    from bot.channels.rest import RestInput
    from bot.channels.web import WebChatInput

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    monkeypatch.setattr(ratelimit, "_shared", {})
    Sanic.test_mode = True
    app = Sanic(f"rate_limit_test_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = ScriptedAgent([("Hello!", None)])
    register([RestInput(), WebChatInput()], app, route="/webhooks/")
    return app


def message(sender: str, text: str = "hello") -> bytes:
    return json.dumps({"sender": sender, "message": text}).encode()


def post_in_parallel(client, path: str, bodies: list[bytes], headers=None) -> list:
    headers = {"Content-Type": "application/json", **(headers or {})}
    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(lambda b: client.post(path, content=b, headers=headers), bodies))


@pytest.mark.parametrize("channel", ["rest", "web"])
def test_one_sender_is_limited_with_429_and_retry_after(monkeypatch, channel) -> None:
    from starlette.testclient import TestClient

    app = channel_app(monkeypatch, RATE_LIMIT_PER_SENDER="5", RATE_LIMIT_SENDER_WINDOW="60")
    with TestClient(app, client=("198.51.100.1", 40000), headers=JSON) as client:
        replies = post_in_parallel(client, f"/webhooks/{channel}/webhook", [message("one")] * 20)
        assert sorted(r.status_code for r in replies) == [200] * 5 + [429] * 15
        refused = next(r for r in replies if r.status_code == 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 12
        assert refused.json()["reason"] == "rate_limited"
        assert "please wait a few seconds" in refused.json()["error"]
        # Another sender from the same address is still answered.
        other = client.post(f"/webhooks/{channel}/webhook", content=message("two"))
        assert other.status_code == 200


def test_one_address_is_limited_across_senders_and_endpoints(monkeypatch) -> None:
    from starlette.testclient import TestClient

    app = channel_app(monkeypatch, RATE_LIMIT_PER_ADDRESS="8", RATE_LIMIT_ADDRESS_WINDOW="60")
    with TestClient(app, client=("198.51.100.2", 40000), headers=JSON) as client:
        bodies = [message(f"sender-{n}") for n in range(6)]
        replies = post_in_parallel(client, "/webhooks/web/webhook", bodies)
        assert all(r.status_code == 200 for r in replies)
        history = client.get("/webhooks/web/history?sender=sender-1")
        forget = client.post("/webhooks/web/forget", content=b'{"sender": "sender-1"}')
        assert history.status_code == 200 and forget.status_code != 429
        for path in ("/webhooks/web/history?sender=x", "/webhooks/web/plan?stage=design"):
            refused = client.get(path)
            assert refused.status_code == 429 and "retry-after" in refused.headers
        assert client.post("/webhooks/rest/webhook", content=message("new")).status_code == 429
    with TestClient(app, client=("198.51.100.3", 40000), headers=JSON) as client:
        assert client.post("/webhooks/rest/webhook", content=message("new")).status_code == 200


def test_spoofed_forwarded_headers_do_not_dodge_the_address_limit(monkeypatch) -> None:
    from starlette.testclient import TestClient

    app = channel_app(
        monkeypatch,
        RATE_LIMIT_PER_ADDRESS="5",
        TRUSTED_PROXIES="10.0.0.0/8",
    )
    with TestClient(app, client=("203.0.113.50", 40000), headers=JSON) as client:
        statuses = [
            client.post(
                "/webhooks/rest/webhook",
                content=message(f"s{n}"),
                headers={"X-Forwarded-For": f"192.0.2.{n}", "Forwarded": f"for=192.0.2.{n}"},
            ).status_code
            for n in range(10)
        ]
    assert statuses == [200] * 5 + [429] * 5


def test_a_trusted_proxy_gives_each_client_its_own_limit(monkeypatch) -> None:
    from starlette.testclient import TestClient

    app = channel_app(monkeypatch, RATE_LIMIT_PER_ADDRESS="3", TRUSTED_PROXIES="10.0.0.0/8")
    with TestClient(app, client=("10.0.0.2", 40000), headers=JSON) as nginx:

        def from_client(address: str) -> int:
            return nginx.post(
                "/webhooks/rest/webhook",
                content=message(f"u-{uuid.uuid4().hex}"),
                headers={"X-Forwarded-For": address},
            ).status_code

        assert [from_client("198.51.100.10") for _ in range(4)] == [200, 200, 200, 429]
        assert from_client("198.51.100.11") == 200  # another client behind the same proxy


# --- Telegram: per chat, answered politely in the chat -----------------------------------------


def test_a_telegram_flood_gets_one_polite_notice(fake_telegram) -> None:
    from telegram import Update

    from bot.channels.telegram import TelegramInput
    from tests.telegram_fake import TOKEN, message_update

    channel = TelegramInput(TOKEN, "secret", fake_telegram.url, "pseudonym-key")
    channel.limiter = RateLimiter(
        {ratelimit.TELEGRAM_CHAT: Limit(3, 60), ratelimit.TELEGRAM_NOTICE: Limit(1, 60)}
    )
    handled: list[str] = []
    lock = threading.Lock()

    async def on_new_message(message) -> None:
        with lock:
            handled.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "An answer.")

    async def flood() -> None:
        updates = [
            Update.de_json(message_update(f"question {n}", chat_id=5151), channel.bot)
            for n in range(10)
        ]
        await asyncio.gather(*(channel.handle(u, on_new_message) for u in updates))
        other = Update.de_json(message_update("hello", chat_id=6161), channel.bot)
        await channel.handle(other, on_new_message)

    fake_telegram.clear()
    asyncio.run(flood())
    assert len(handled) == 4  # 3 from the flooding chat, 1 from another chat
    texts = [m["text"] for m in fake_telegram.sent() if m["chat_id"] == "5151"]
    assert texts.count("An answer.") == 3
    assert sum("sending messages quickly" in t for t in texts) == 1
