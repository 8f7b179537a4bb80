"""The deployment's hardening, run for real where it can be without Docker or a cluster:

* the Redis that docker-compose.yml starts (its own `redis-server` arguments, with
  `--requirepass`) refuses the lock store, the rate limits and its healthcheck without the
  password, and accepts the URL Compose gives the Rasa servers;
* `?sslmode=` in the database URLs reaches libpq through every engine we build (migrations,
  the review tables, Rasa's tracker store);
* nginx (deploy/nginx/compose.conf and the scaled set-up's template) refuses bodies above the
  channels' 64 KB itself, with the channel's JSON reason, and passes smaller ones on;
* `bot review serve` leaves X-Forwarded-For to TRUSTED_PROXIES, and the scaled set-up trusts
  only its own nginx.

tests/test_deployment.py checks the files themselves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.serve import free_port
from tests.conftest import new_postgres_database, unreachable
from tests.nginx_helpers import compose_nginx_config, nginx_binary
from tests.test_deployment import COMPOSE_TEST_ENV, compose, our_services, role

REDIS_PASSWORD = COMPOSE_TEST_ENV["REDIS_PASSWORD"]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Redis with a password ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_redis() -> Iterator[int]:
    """A redis-server started with the arguments of docker-compose.yml's `redis` service (so
    with --requirepass and the password from `.env`), on a free loopback port."""
    server = shutil.which("redis-server")
    if server is None:
        unreachable("redis-server is not installed")
    command = compose()["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    port = free_port()
    process = subprocess.Popen(
        [server, *command[1:], "--port", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        stop(process)


def rasa_lock_store_url(port: int) -> str:
    """The LOCK_STORE_URL Compose gives the Rasa servers, pointed at `port` on loopback."""
    (url,) = {
        service["environment"]["LOCK_STORE_URL"]
        for service in our_services().values()
        if role(service["command"]) == "rasa"
    }
    parts = urlsplit(url)
    assert parts.hostname == "redis"
    netloc = parts.netloc.replace(f"@{parts.hostname}:{parts.port}", f"@127.0.0.1:{port}")
    return urlunsplit(parts._replace(netloc=netloc))


def test_the_rasa_servers_lock_conversations_with_the_password(
    compose_redis: int, tmp_path: Path
) -> None:
    """Compose's URL → bot run's endpoints.yml → Rasa's lock store, as `--only rasa` does."""
    import asyncio

    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import read_endpoint_config

    from bot.serve import check_lock_store, endpoints_file

    url = rasa_lock_store_url(compose_redis)
    assert urlsplit(url).password == REDIS_PASSWORD
    env = {"LOCK_STORE_URL": url}
    check_lock_store(env)  # what `bot run --only rasa` checks before starting Rasa
    endpoints = endpoints_file(tmp_path, env)
    store = LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))

    from bot.rasa_ext.lock_store import RedisLockStore

    assert isinstance(store, RedisLockStore)
    sender = f"hardening-{uuid.uuid4().hex[:8]}"

    async def held_in_redis() -> bool:
        async with store.lock(sender):
            # Read back from Redis, through the password-protected connection.
            held = store.get_lock(sender)
            return held is not None and bool(held.tickets)

    assert asyncio.run(held_in_redis())
    assert store.get_lock(sender) is None or not store.get_lock(sender).tickets


@pytest.mark.parametrize("password", [None, "not-the-password"])
def test_without_the_password_the_rasa_servers_refuse_to_start(
    compose_redis: int, password: str | None
) -> None:
    from bot.serve import check_lock_store

    auth = f":{password}@" if password else ""
    with pytest.raises(SystemExit) as stopped:
        check_lock_store({"LOCK_STORE_URL": f"redis://{auth}127.0.0.1:{compose_redis}/0"})
    assert "does not answer" in str(stopped.value)
    # Redis's reason: "Authentication required" or "invalid username-password pair".
    assert re.search(r"authentication|password", str(stopped.value), re.IGNORECASE)
    assert REDIS_PASSWORD not in str(stopped.value)


def test_the_rate_limits_share_counts_with_the_password_only(compose_redis: int) -> None:
    import redis

    from bot.ratelimit import Limit, RedisBackend

    key = f"hardening:{uuid.uuid4().hex[:8]}"
    limit = Limit(count=2, seconds=60)
    backend = RedisBackend.from_url(rasa_lock_store_url(compose_redis))
    assert [backend.take(key, limit) for _ in range(3)][-1] > 0  # the third waits
    stranger = RedisBackend.from_url(f"redis://127.0.0.1:{compose_redis}/0")
    with pytest.raises(redis.AuthenticationError):
        stranger.take(key, limit)


def test_the_redis_healthcheck_needs_the_password(compose_redis: int) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        unreachable("redis-cli is not installed")
    redis = compose()["services"]["redis"]
    kind, check = redis["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    check = check.replace("redis-cli", f"{cli} -p {compose_redis}")

    def healthy(auth: str | None) -> bool:
        env = {key: value for key, value in os.environ.items() if key != "REDISCLI_AUTH"}
        if auth is not None:
            env["REDISCLI_AUTH"] = auth
        return subprocess.run(["sh", "-c", check], env=env, timeout=10).returncode == 0

    assert healthy(redis["environment"]["REDISCLI_AUTH"])
    assert not healthy(None) and not healthy("wrong")
    # Why the check looks for PONG: redis-cli itself exits 0 on a NOAUTH error.
    bare = subprocess.run([cli, "-p", str(compose_redis), "ping"], capture_output=True, text=True)
    assert bare.returncode == 0 and "NOAUTH" in bare.stdout


# --- PostgreSQL sslmode ------------------------------------------------------------------------


def with_query(url: str, query: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=query))


@pytest.mark.postgres
def test_sslmode_in_the_url_reaches_libpq(postgres_server: str) -> None:
    import sqlalchemy as sa

    def connection_ssl(mode: str) -> bool:
        engine = sa.create_engine(with_query(postgres_server, f"sslmode={mode}"), future=True)
        try:
            with engine.connect() as connection:
                query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                return connection.execute(sa.text(query)).scalar()
        finally:
            engine.dispose()

    assert connection_ssl("disable") is False
    try:
        encrypted = connection_ssl("require")
    except sa.exc.OperationalError as error:
        # The local server has no TLS: libpq refuses, rather than falling back to plain text.
        assert "SSL" in str(error.orig), error.orig
    else:
        assert encrypted is True
    with pytest.raises(sa.exc.OperationalError, match="sslmode"):
        connection_ssl("sometimes")


@pytest.fixture
def second_postgres_database(postgres_server: str) -> Iterator[str]:
    """Another new PostgreSQL database (the partners one: the tracker store is a different
    database, as both have an `events` table), dropped afterwards."""
    with new_postgres_database(postgres_server) as url:
        yield url


@pytest.mark.postgres
def test_every_engine_takes_the_sslmode_of_the_compose_urls(
    postgres_database: str, second_postgres_database: str
) -> None:
    """The migration job (both databases), and Rasa's tracker store, on URLs ending in
    compose's `?sslmode=prefer`."""
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import db
    from bot.partners import list_partners
    from bot.rasa_ext.tracker_store import SQLTrackerStore
    from bot.seed import seed_partners
    from bot.serve import upgrade_tracker_store

    (mode,) = {
        urlsplit(service["environment"][variable]).query
        for service in our_services().values()
        for variable in ("DATABASE_URL", "TRACKER_STORE_URL")
        if variable in service.get("environment", {})
    }
    assert mode == "sslmode=prefer"
    partners_url = with_query(second_postgres_database, mode)
    tracker_url = with_query(postgres_database, mode)
    # `bot db upgrade && bot db seed && bot review upgrade`
    db.upgrade(partners_url)
    with db.session_scope(partners_url) as session:
        seed_partners(session)
    with db.session_scope(partners_url) as session:
        assert list_partners(session)
    assert db.get_engine(partners_url).url.query == {"sslmode": "prefer"}
    upgrade_tracker_store({"TRACKER_STORE_URL": tracker_url})
    # What the Rasa server keeps conversations in.
    store = SQLTrackerStore(Domain.empty(), host=tracker_url)
    try:
        assert store.engine.url.query == {"sslmode": "prefer"}
        tracker = DialogueStateTracker("ssl-sender", slots=[])
        tracker.update(UserUttered("hello", input_channel="web"))
        asyncio.run(store.save(tracker))
        stored = asyncio.run(store.retrieve("ssl-sender"))
        assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["hello"]
    finally:
        store.engine.dispose()


# --- nginx body limits, live -------------------------------------------------------------------


def post(url: str, size: int) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=b"x" * size, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def nginx_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: nginx's workers (www-data, when the tests run as root) must be
    # able to reach their temp directories, and pytest's base directory is private.
    with tempfile.TemporaryDirectory(prefix="ecrin-nginx-test-") as directory:
        yield Path(directory)


@contextmanager
def running_nginx(config: Path, prefix: Path, port: int) -> Iterator[None]:
    """nginx in the foreground on `config`, until the block ends."""
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield
    finally:
        stop(process)


def assert_refused_with_the_channels_reason(status: int, body: bytes) -> None:
    assert status == 413
    # The channel's own answer (bot.channels.rest.error_response), so clients see one shape.
    assert json.loads(body) == {"error": "body is larger than 64 KB"}


def test_the_scaled_nginx_refuses_bodies_above_the_channels_limit(nginx_dir: Path) -> None:
    from bot.channels.rest import MAX_BODY_BYTES
    from bot.scaled import ScaledPorts, render_nginx_config

    nginx_binary()
    ports = ScaledPorts.free(review=False)  # no replica listens on its ports
    config = render_nginx_config(ports, nginx_dir)
    webhook = f"http://127.0.0.1:{ports.nginx}/webhooks/rest/webhook"
    with running_nginx(config, nginx_dir, ports.nginx):
        assert_refused_with_the_channels_reason(*post(webhook, MAX_BODY_BYTES + 1))
        # Up to the limit, the body goes on to the replicas (down here: 502).
        assert post(webhook, MAX_BODY_BYTES)[0] == 502


def test_the_compose_nginx_refuses_large_bodies_per_server(nginx_dir: Path) -> None:
    from bot.channels.rest import MAX_BODY_BYTES

    nginx_binary()
    public, staff, closed = free_port(), free_port(), free_port()
    config = compose_nginx_config(nginx_dir, upstream_port=closed, listen={80: public, 8080: staff})
    webhook = f"http://127.0.0.1:{public}/webhooks/web/webhook"
    with running_nginx(config, nginx_dir, public):
        assert_refused_with_the_channels_reason(*post(webhook, MAX_BODY_BYTES + 1))
        assert post(webhook, 1024)[0] == 502  # passed on; no Rasa server here
        # The review app's forms may be larger, up to its own 1 MB.
        login = f"http://127.0.0.1:{staff}/login"
        assert post(login, MAX_BODY_BYTES + 1)[0] == 502
        assert post(login, 1024 * 1024 + 1)[0] == 413


# --- Forwarded headers: one rule (TRUSTED_PROXIES) ----------------------------------------------


def test_review_serve_leaves_forwarded_headers_to_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    from bot.cli import main

    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    started: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    assert main(["review", "serve", "--no-upgrade", "--port", str(free_port())]) == 0
    # uvicorn would otherwise rewrite the client address from X-Forwarded-For whenever the
    # peer is 127.0.0.1 (its FORWARDED_ALLOW_IPS default), around bot.ratelimit's rule.
    assert started["proxy_headers"] is False


def test_the_scaled_replicas_trust_only_their_nginx() -> None:
    from bot.scaled import scaled_env

    assert scaled_env({})["TRUSTED_PROXIES"] == "127.0.0.1"
    assert scaled_env({"TRUSTED_PROXIES": "10.1.2.3"})["TRUSTED_PROXIES"] == "10.1.2.3"
