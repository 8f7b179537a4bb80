"""Scale-out: Rasa replicas sharing a PostgreSQL tracker store and a Redis lock store.

The configuration tests need nothing running; the rest use the real PostgreSQL and Redis and,
for the scaled set-up, start exactly what `make run-scaled` starts (bot.scaled.running_scaled:
2 Rasa servers, 2 action servers, nginx), with the load test's own checks (bench/load_test.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bench.load import Reply, run_load, send
from bench.load_test import (
    check_replicas,
    check_requests,
    check_tracker_store,
    conversations,
    temporary_stores,
)
from bot.processes import QUIET_ENV
from bot.scaled import ScaledPorts, ScaledStack, running_scaled
from bot.serve import check_lock_store, endpoints_file, free_port
from bot.settings import PROJECT_ROOT, redis_lock_store
from tests.conftest import REDIS_URL

# --- The endpoints file Rasa gets -----------------------------------------------------------


def _endpoints(directory: Path, env: dict[str, str], actions_port: int = 5055) -> dict:
    return yaml.safe_load(endpoints_file(directory, env, actions_port).read_text())


def test_lock_store_url_becomes_rasas_redis_lock_store_section(tmp_path: Path) -> None:
    env = {"LOCK_STORE_URL": "rediss://:s3cr%40t@redis.internal:6380/2?key_prefix=ecrin2"}
    config = _endpoints(tmp_path, env)
    assert config["lock_store"] == {
        "type": "bot.rasa_ext.lock_store.RedisLockStore",
        "url": "redis.internal",
        "port": 6380,
        "db": 2,
        "password": "s3cr@t",
        "use_ssl": True,
        "key_prefix": "ecrin2",
    }
    # The file may hold the Redis password.
    assert stat.S_IMODE((tmp_path / "endpoints.yml").stat().st_mode) == 0o600


def test_a_plain_redis_url_gets_the_defaults(tmp_path: Path) -> None:
    config = _endpoints(tmp_path, {"LOCK_STORE_URL": "redis://127.0.0.1"})
    assert config["lock_store"] == {
        "type": "bot.rasa_ext.lock_store.RedisLockStore",
        "url": "127.0.0.1",
        "port": 6379,
        "db": 0,
        "key_prefix": "ecrin",
        "use_ssl": False,
    }


def test_without_lock_store_url_rasa_keeps_its_in_memory_lock_store(tmp_path: Path) -> None:
    assert "lock_store" not in _endpoints(tmp_path, {"LOCK_STORE_URL": ""})
    assert "lock_store" not in _endpoints(tmp_path, {})


def test_action_endpoint_url_is_honoured_and_defaults_to_the_local_action_server(
    tmp_path: Path,
) -> None:
    config = _endpoints(tmp_path, {}, actions_port=5077)
    assert config["action_endpoint"]["url"] == "http://127.0.0.1:5077/webhook"
    config = _endpoints(tmp_path, {"ACTION_ENDPOINT_URL": "http://actions:5055/webhook"})
    assert config["action_endpoint"]["url"] == "http://actions:5055/webhook"
    # The tracker store stays ours, configured by TRACKER_STORE_URL.
    assert config["tracker_store"] == {"type": "bot.rasa_ext.tracker_store.SQLTrackerStore"}


@pytest.fixture
def lock_prefix(redis_server: str) -> Iterator[str]:
    """A Redis key prefix for one test; its keys are deleted afterwards."""
    import redis

    prefix = f"test{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _lock_store(tmp_path: Path, prefix: str):
    """A lock store built by Rasa itself from the endpoints file `bot run` writes."""
    from rasa.core.lock_store import LockStore
    from rasa.core.utils import AvailableEndpoints

    env = {"LOCK_STORE_URL": f"{REDIS_URL}?key_prefix={prefix}"}
    path = endpoints_file(tmp_path, env)
    return LockStore.create(AvailableEndpoints.read_endpoints(str(path)).lock_store)


def test_rasa_builds_our_redis_lock_store_from_the_section(
    tmp_path: Path, lock_prefix: str
) -> None:
    """Not just the keys we think Rasa wants: Rasa reads the file and locks in real Redis."""
    import redis

    from bot.rasa_ext.lock_store import RedisLockStore

    store = _lock_store(tmp_path, lock_prefix)
    assert isinstance(store, RedisLockStore)
    assert store.issue_ticket("conversation-1") == 0
    client = redis.Redis.from_url(REDIS_URL)
    assert client.exists(f"{lock_prefix}:lock:conversation-1")
    client.close()


def test_tickets_taken_at_the_same_moment_by_many_replicas_all_differ(
    tmp_path: Path, lock_prefix: str
) -> None:
    """Eight stores with their own connections, as eight replicas have, take 25 tickets each
    for one conversation at once. Rasa's own RedisLockStore (read, modify, write) hands out
    the same number twice here; ours must not."""
    stores = [_lock_store(tmp_path, lock_prefix) for _ in range(8)]
    start = threading.Barrier(len(stores))

    def take(store) -> list[int]:
        start.wait()
        return [store.issue_ticket("busy-conversation") for _ in range(25)]

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        tickets = [t for taken in pool.map(take, stores) for t in taken]
    assert sorted(tickets) == list(range(200))


def test_the_lock_lets_one_holder_in_at_a_time_and_is_gone_afterwards(
    tmp_path: Path, lock_prefix: str
) -> None:
    import asyncio

    import redis

    stores = [_lock_store(tmp_path, lock_prefix) for _ in range(6)]
    start = threading.Barrier(len(stores))
    guard = threading.Lock()
    inside: list[int] = []
    most = [0]

    async def hold(store) -> None:
        async with store.lock("one-conversation", wait_time_in_seconds=0.01):
            with guard:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            await asyncio.sleep(0.05)
            with guard:
                inside.pop()

    def in_turn(store) -> None:
        start.wait()
        asyncio.run(hold(store))

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        list(pool.map(in_turn, stores))
    assert most[0] == 1
    client = redis.Redis.from_url(REDIS_URL)
    assert not client.exists(f"{lock_prefix}:lock:one-conversation")
    client.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://x", "must be redis://"),
        ("127.0.0.1:6379", "must be redis://"),
        ("redis://", "has no host"),
        ("redis://:hunter2@host:port/0", "not a valid URL"),
        ("redis://:hunter2@host/zero", "must be a number"),
        ("redis://host/0?key_prefix=my-app", "letters and digits"),
        ("redis://host/0?prefix=x", "unknown option"),
    ],
)
def test_a_bad_lock_store_url_is_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(SystemExit, match="LOCK_STORE_URL") as refused:
        redis_lock_store(url)
    assert reason in str(refused.value) and "hunter2" not in str(refused.value)


def test_a_bad_lock_store_url_stops_bot_run_with_one_line_not_a_traceback() -> None:
    env = {**os.environ, **QUIET_ENV, "LOCK_STORE_URL": "http://x"}
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--only", "rasa"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "LOCK_STORE_URL must be redis://" in run.stderr and "Traceback" not in run.stderr


def test_an_unreachable_redis_is_reported_before_anything_starts() -> None:
    with pytest.raises(SystemExit, match="does not answer"):
        check_lock_store({"LOCK_STORE_URL": f"redis://127.0.0.1:{free_port()}/0"})


def test_bot_run_takes_only_or_scaled_but_not_both(capsys: pytest.CaptureFixture) -> None:
    from bot.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["run", "--only", "rasa"]).only == "rasa"
    assert parser.parse_args(["run", "--scaled"]).scaled
    for wrong in (["run", "--only", "nginx"], ["run", "--only", "rasa", "--scaled"]):
        with pytest.raises(SystemExit):
            parser.parse_args(wrong)
    assert "not allowed with argument" in capsys.readouterr().err


def test_scaled_ports_come_from_the_environment_and_must_not_clash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RASA_PORT", "ACTIONS_PORT", "REVIEW_PORT", "NGINX_PORT", "NGINX_ACTIONS_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert ScaledPorts.from_env() == ScaledPorts(8000, 8055, (5005, 5006), (5055, 5056), 8080)
    monkeypatch.setenv("RASA_PORT", "6000")
    assert ScaledPorts.from_env().rasa == (6000, 6001)
    monkeypatch.setenv("ACTIONS_PORT", "6001")  # the second Rasa replica's port
    with pytest.raises(SystemExit, match="6001 would be used twice"):
        ScaledPorts.from_env()


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"TRACKER_STORE_URL": "sqlite:///tracker.db"}, "not SQLite"),
        (
            {"DATABASE_URL": "postgresql://h/x", "TRACKER_STORE_URL": "postgresql://h/x"},
            "name the same database",
        ),
        ({"LOCK_STORE_URL": "http://x"}, "LOCK_STORE_URL must be redis://"),
    ],
)
def test_the_scaled_set_up_refuses_stores_replicas_cannot_share(
    env: dict[str, str], reason: str
) -> None:
    from bot.scaled import scaled_env

    with pytest.raises(SystemExit, match=reason):
        scaled_env(env)


def test_the_scaled_set_up_defaults_to_the_local_postgresql_and_redis() -> None:
    from bot.scaled import scaled_env

    env = scaled_env({})
    assert env["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/ecrin"
    assert env["TRACKER_STORE_URL"] == "postgresql://postgres@127.0.0.1:5432/ecrin_tracker"
    assert env["LOCK_STORE_URL"] == "redis://127.0.0.1:6379/0"


# --- Processes that start together ---------------------------------------------------------


@pytest.mark.postgres
def test_replicas_migrating_a_new_database_at_once_take_turns(postgres_database: str) -> None:
    """Without the advisory lock, all but one of these fail with "relation … already
    exists": Alembic takes no lock of its own."""
    env = {**os.environ, **QUIET_ENV, "DATABASE_URL": postgres_database}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], "\n".join(outputs)


@pytest.mark.e2e  # starts the real action server
def test_only_runs_one_process_in_the_foreground_and_sigterm_stops_it() -> None:
    actions_port = free_port()
    env = {**os.environ, **QUIET_ENV, "ACTIONS_PORT": str(actions_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--only", "actions"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = ""
        while "Ctrl-C stops it" not in banner:
            line = process.stdout.readline()
            assert line, f"bot run --only actions ended: {banner}"
            banner += line
        assert f"http://localhost:{actions_port}/webhook" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{actions_port}/health", timeout=5) as up:
            assert up.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with pytest.raises(OSError):  # the action server went with it
        urllib.request.urlopen(f"http://127.0.0.1:{actions_port}/health", timeout=5)


# --- The scaled set-up, running ------------------------------------------------------------


@dataclass
class Scaled:
    stack: ScaledStack
    tracker_store_url: str


@pytest.fixture(scope="module")
def scaled(
    postgres_server: str,
    redis_server: str,
    trained_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scaled]:
    """`make run-scaled`'s processes on temporary databases and a Redis prefix of their own."""
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        message = "nginx is not installed (`make nginx` installs it; `make test` does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    logs = tmp_path_factory.mktemp("scaled-logs")
    try:
        with (
            temporary_stores(postgres_server, redis_server) as stores,
            running_scaled(
                ScaledPorts.free(review=False), env=stores, model=trained_model, log_dir=logs
            ) as stack,
        ):
            yield Scaled(stack, stores["TRACKER_STORE_URL"])
    finally:
        for log in sorted(logs.glob("*.log")):
            print(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-2000:]}")


@pytest.mark.e2e
@pytest.mark.postgres
def test_a_small_load_through_nginx_is_stored_exactly_once_and_in_order(scaled: Scaled) -> None:
    plans = conversations(users=6, messages=4, seed=1, run_id=uuid.uuid4().hex[:6])
    result = run_load(f"{scaled.stack.url}/webhooks/rest/webhook", plans, concurrency=6)
    checks = [check_requests(result.replies), check_replicas(scaled.stack)]
    checks += check_tracker_store(scaled.tracker_store_url, result.replies)
    assert all(check.ok for check in checks), "\n".join(map(str, checks))


@pytest.mark.e2e
@pytest.mark.postgres
def test_one_conversation_hitting_both_replicas_at_once_is_serialised_by_redis(
    scaled: Scaled,
) -> None:
    """Six messages of ONE conversation sent at the same moment, alternately to each Rasa
    replica directly. Each replica loads the tracker, handles the message and saves the new
    events; only the Redis lock store makes them take turns. Without it (LOCK_STORE_URL
    unset, each replica locking in its own memory) they overwrite each other's turns and
    messages go missing (docs/scale-out.md)."""
    sender = f"lock-{uuid.uuid4().hex[:8]}"
    messages = [
        "What is ECRIN?",
        "What is a placebo?",
        "What is EUPATI?",
        "What is informed consent?",
        "Who is the ECRIN partner in France?",
        "What are the phases of a clinical trial?",
    ]
    webhooks = [f"{url}/webhooks/rest/webhook" for url in scaled.stack.rasa_urls]
    all_at_once = threading.Barrier(len(messages))

    def at_once(index: int) -> Reply:
        all_at_once.wait()
        return send(webhooks[index % len(webhooks)], sender, index, messages[index], 120.0)

    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        replies = list(pool.map(at_once, range(len(messages))))
    checks = [check_requests(replies)]
    checks += check_tracker_store(scaled.tracker_store_url, replies, ordered=False)
    assert all(check.ok for check in checks), "\n".join(map(str, checks))


@pytest.mark.e2e
@pytest.mark.postgres
def test_the_scaled_set_up_ran_the_plans_whole_migration_step(scaled: Scaled) -> None:
    """`bot run --scaled` prepares the databases with the process plan's migration step, as
    Compose's `migrate` service and the Kubernetes Job do: partners, events and crisis lines
    seeded (it once seeded only the first two), and the tracker store's review tables."""
    import sqlalchemy as sa

    def counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
        engine = sa.create_engine(url, future=True)
        try:
            with engine.connect() as connection:
                return {
                    table: connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
                    for table in tables
                }
        finally:
            engine.dispose()

    seeded = counts(scaled.stack.env["DATABASE_URL"], ("partners", "events", "crisis_lines"))
    assert all(seeded.values()), seeded
    assert counts(scaled.tracker_store_url, ("review_alembic_version",)) == {
        "review_alembic_version": 1
    }
