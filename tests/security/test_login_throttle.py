"""Staff login throttling (bot/review/accounts.py, bot/ratelimit.py) under parallel attempts:
it cannot be raced, cannot be dodged with forwarded headers, backs off instead of locking staff
out for good, and hashes passwords a bounded number at a time."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot import ratelimit
from bot.ratelimit import LoginBackoff, MemoryBackend
from bot.review import accounts
from bot.review.app import create_app
from bot.review.config import ReviewSettings
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from tests.review.conftest import QUICK_HASHER, password_hasher

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def quick_hashing():
    with password_hasher(QUICK_HASHER):
        yield


@pytest.fixture
def review_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    engine = get_engine(url)
    accounts.add_staff(engine, "jane", PASSWORD, role="admin")
    engine.dispose()
    return url


def client(url: str, peer: str, monkeypatch: pytest.MonkeyPatch, proxies: str = "") -> TestClient:
    monkeypatch.setenv("TRUSTED_PROXIES", proxies)
    settings = ReviewSettings(database_url=url, secret_key="s" * 40)
    return TestClient(create_app(settings), client=(peer, 50000), base_url="http://testserver")


def token(browser: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
    assert match
    return match.group(1)


def login(browser: TestClient, csrf: str, password: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return browser.post(
        "/login",
        data={"username": "jane", "password": password, "next": "/", "csrf_token": csrf},
        headers=headers,
        follow_redirects=False,
    )


def parallel_wrong_logins(browser: TestClient, csrf: str, count: int = 30) -> list[int]:
    def attempt(n: int) -> int:
        return login(browser, csrf, f"wrong password {n}", f"192.0.2.{n + 1}").status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(attempt, range(count)))


def test_rotating_forwarded_headers_from_an_untrusted_peer_are_throttled(
    review_url, monkeypatch
) -> None:
    browser = client(review_url, "203.0.113.7", monkeypatch)
    csrf = token(browser)
    statuses = parallel_wrong_logins(browser, csrf)
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5, statuses  # never more than max_failures checked
    assert statuses.count(429) >= 25
    refused = login(browser, csrf, PASSWORD, "192.0.2.200")  # even the right password
    assert refused.status_code == 429 and "retry-after" in refused.headers


@pytest.mark.slow  # sleeps through the back-off it measures
def test_a_distributed_guess_through_a_trusted_proxy_backs_off_but_never_locks_out(
    review_url, monkeypatch
) -> None:
    browser = client(review_url, "10.0.0.2", monkeypatch, proxies="10.0.0.0/8")
    csrf = token(browser)
    statuses = parallel_wrong_logins(browser, csrf)
    # Each guess comes from its own address, so only the per-account back-off slows them:
    # at most `free` (10) are checked before it starts.
    assert statuses.count(401) <= LoginBackoff(MemoryBackend()).free, statuses
    assert statuses.count(429) >= 20
    # The back-off is seconds, not a lock-out, and the refusal says how many.
    refused = login(browser, csrf, PASSWORD, "198.51.100.19")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= LoginBackoff(MemoryBackend()).cap
    assert "Try again in" in refused.text and "second" in refused.text
    time.sleep(int(refused.headers["retry-after"]) + 0.2)
    assert login(browser, csrf, PASSWORD, "198.51.100.20").status_code == 303


def test_the_proxy_address_is_used_for_the_pair_throttle(review_url, monkeypatch) -> None:
    browser = client(review_url, "10.0.0.2", monkeypatch, proxies="10.0.0.0/8")
    csrf = token(browser)
    for _ in range(5):
        assert login(browser, csrf, "wrong password", "198.51.100.30").status_code == 401
    assert login(browser, csrf, PASSWORD, "198.51.100.30").status_code == 429
    assert login(browser, csrf, PASSWORD, "198.51.100.31").status_code == 303


def test_backoff_doubles_up_to_a_cap_and_is_atomic() -> None:
    clock = [0.0]
    backoff = LoginBackoff(MemoryBackend(lambda: clock[0]), free=3, base=1, cap=8, forget=60)
    waits = []
    for _ in range(8):
        wait = backoff.attempt(["account:jane"])
        waits.append(wait)
        if wait:
            clock[0] += wait
    # Two free failures, then blocks of 1, 2, 4, 8, 8 seconds, each refusing one attempt.
    assert [w > 0 for w in waits] == [False, False, False, True, False, True, False, True]
    backoff.succeeded(["account:jane"])
    assert backoff.attempt(["account:jane"]) == 0

    parallel = LoginBackoff(MemoryBackend(), free=5, base=60, cap=60)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: parallel.attempt(["address:x"]), range(50)))
    assert sum(1 for wait in results if wait == 0) == 5


def test_redis_backoff_is_shared(redis_server: str) -> None:
    import uuid

    url = f"{redis_server}?key_prefix=t{uuid.uuid4().hex[:8]}"
    first = LoginBackoff(ratelimit.RedisBackend.from_url(url), free=3, base=30, cap=60)
    second = LoginBackoff(ratelimit.RedisBackend.from_url(url), free=3, base=30, cap=60)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda n: (first if n % 2 else second).attempt(["account:x"]), range(20))
        )
    assert sum(1 for wait in results if wait == 0) == 3
    assert 0 < second.attempt(["account:x"]) <= 30
    first.succeeded(["account:x"])
    assert second.attempt(["account:x"]) == 0
    second.succeeded(["account:x"])


def test_password_hashing_runs_a_bounded_number_at_a_time(review_url, monkeypatch) -> None:
    real = accounts._hasher
    running = 0
    peak = 0
    lock = threading.Lock()

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, *args):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return real.verify(*args)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    engine = get_engine(review_url)
    free = LoginBackoff(MemoryBackend(), free=1000)
    with ThreadPoolExecutor(20) as pool:
        list(
            pool.map(
                lambda n: accounts.authenticate(
                    engine, "jane", "wrong password", f"198.51.100.{n}", backoff=free
                ),
                range(20),
            )
        )
    assert 1 <= peak <= 2
