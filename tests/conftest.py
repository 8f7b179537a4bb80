"""Shared fixtures: real databases and a real running assistant; and the test tiers.

Nothing here mocks our own code: the databases are real SQLite files (PostgreSQL where a test
asks for it) and the end-to-end fixture starts the real action server and Rasa server.

Tiers: a test is marked from the fixtures it uses (`pytest_collection_modifyitems` below), so
`make test-fast` (`-m "not e2e and not browser and not postgres and not redis and not model
and not slow"`) runs what needs no trained model, browser or service. A test that starts
servers or services without one of these fixtures carries the marker itself. `slow` marks
what takes a second or more per test for no such reason (processes started, sleeps, Rasa
loaded in a subprocess, the access matrix's sweep of every route, role and token); test-fast
leaves it out too.

What keeps test-fast fast without changing what a test sees: `seed_database` copies a SQLite
database seeded once per run, the garbage collector leaves the imported libraries alone
(`pytest_collection_finish`).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

from bot import db
from bot.answers import answer_files
from bot.seed import seed_crisis_lines, seed_events, seed_partners
from bot.settings import PROJECT_ROOT
from tests.telegram_fake import TOKEN as TELEGRAM_TOKEN
from tests.telegram_fake import FakeBotApi

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

T = TypeVar("T")

MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"

# The day the running assistant believes it is (ECRIN_TODAY, bot.dates.today): answers about
# dates ("the next trials day", "webinars in May") must not change with the calendar.
ASSISTANT_TODAY = dt.date(2026, 12, 1)

# --- Test tiers ----------------------------------------------------------------------------

# The markers a fixture brings to every test that uses it, directly or through other fixtures.
FIXTURE_MARKERS: dict[str, tuple[str, ...]] = {
    "assistant": ("e2e", "model"),
    "trained_model": ("model",),
    "browser": ("browser",),
    "postgres_server": ("postgres",),
    "redis_server": ("redis",),
}
# Fixtures parametrised by engine that fetch the PostgreSQL fixtures only for one parameter
# (request.getfixturevalue), which the fixture closure cannot see.
PARAMETER_MARKERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("empty_database", "postgresql"): ("postgres",),
    ("seeded", "postgresql"): ("postgres",),
}


def tier_markers(fixtures: set[str], parameters: dict[str, object]) -> set[str]:
    """The tier markers for a test using `fixtures` with these fixture parameters."""
    found = {marker for name in fixtures for marker in FIXTURE_MARKERS.get(name, ())}
    for (fixture, value), markers in PARAMETER_MARKERS.items():
        if fixture in fixtures and parameters.get(fixture) == value:
            found.update(markers)
    return found


def pytest_collection_finish(session: pytest.Session) -> None:
    """Python's garbage collector walks every live object at each full collection; with Rasa,
    TensorFlow and spaCy imported that is millions, a third of a second each time, and the
    collector ran that often enough to cost test-fast about 8 s. What the collection of the
    tests imported lives for the whole run: frozen, the collector no longer walks it, and a
    higher threshold lets it run less often (measured: 8 s of collector time down to 3.4 s).
    It changes when garbage is freed, never what a test sees."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        parameters = callspec.params if callspec else {}
        fixtures = set(getattr(item, "fixturenames", ()))
        markers = tier_markers(fixtures, parameters)
        for marker in sorted(markers):
            item.add_marker(marker)
        if "browser" in markers:
            # pytest-timeout's SIGALRM cannot interrupt a Playwright call that never returns
            # (its event loop swallows the exception); a watchdog thread can: it prints every
            # stack and ends the run.
            item.add_marker(pytest.mark.timeout(method="thread"))


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The trained model (`make train`); tests that load it are marked `model`."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    return MODEL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_database(url: str, *event_files: Path) -> str:
    """Migrate `url` and load the seed partners, and the seed events or `event_files`.

    A new SQLite file gets a copy of a database seeded before from the same files in this run
    (`_seeded_template`): migrating and seeding take a third of a second, and a hundred tests
    each start from a seeded database."""
    path = _new_sqlite_file(url)
    if path is None:
        _migrate_and_seed(url, *event_files)
    else:
        shutil.copyfile(_seeded_template(event_files), path)
    return url


def _migrate_and_seed(url: str, *event_files: Path) -> None:
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_partners(session)
        seed_events(session, *event_files)
        seed_crisis_lines(session)


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite `url` that does not exist yet; None for any other database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    return path if path.is_absolute() and not path.exists() else None


# Seeded SQLite databases of this run, by what they were seeded from, in a directory removed
# when the run ends.
_TEMPLATES: dict[tuple[object, ...], Path] = {}
_TEMPLATE_DIRECTORY = tempfile.TemporaryDirectory(prefix="ecrin-seeded-")


def _seeded_template(event_files: tuple[Path, ...]) -> Path:
    """A SQLite file migrated and seeded from `event_files` (none: the seed events), made
    once per run for the same seed files and contents. Seeding reads nothing else (no clock,
    no file name but in its errors): a copy is what seeding the copy would have written."""
    import bot.seed

    key = (
        bot.seed.SEED_DIR,
        bot.seed.PARTNER_FILES,
        bot.seed.EVENT_FILES,
        bot.seed.CRISIS_LINE_FILES,
        # Their contents, in order (bot.seed names a file only in its errors).
        tuple(path.read_bytes() if path.exists() else None for path in map(Path, event_files)),
    )
    if key not in _TEMPLATES:
        path = Path(_TEMPLATE_DIRECTORY.name) / f"seeded-{len(_TEMPLATES)}.db"
        url = f"sqlite:///{path}"
        _migrate_and_seed(url, *event_files)
        db.get_engine(url).dispose()
        # Closing the last connection moves SQLite's write-ahead log into the file.
        assert not path.with_name(path.name + "-wal").exists(), f"{path} is not complete"
        _TEMPLATES[key] = path
    return _TEMPLATES[key]


POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The PostgreSQL server's admin URL; tests needing it skip when it is unreachable,
    except in CI (CI=true), where they must run."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_ADMIN_URL, future=True, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        unreachable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}")
    finally:
        engine.dispose()
    yield POSTGRES_ADMIN_URL


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The local Redis; tests needing it skip when it is unreachable, except in CI."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        unreachable(f"Redis is not reachable at {REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


def unreachable(message: str) -> NoReturn:
    """A service a test needs is down: skip on a laptop, fail in CI (CI=true), where every
    test must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with new_postgres_database(postgres_server) as url:
        yield url


@contextmanager
def new_postgres_database(server: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL `server`, dropped on exit (for a test that
    needs more than one)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"ecrin_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        db.get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine we support (the PostgreSQL one is new per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ecrin.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def database_url(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with the seed data, also set as DATABASE_URL for the code under
    test; every test using it runs on SQLite and on PostgreSQL."""
    seed_database(empty_database)
    monkeypatch.setenv("DATABASE_URL", empty_database)
    return empty_database


@dataclass
class Assistant:
    """The running assistant, as a client sees it."""

    base_url: str
    tracker_store_url: str
    # The server's FAQ answers (FAQ_ANSWERS_DIR): a copy of data/nlu's, for tests that edit.
    answers_dir: Path
    # Its events and partners (DATABASE_URL), for tests that change them as staff do.
    database_url: str = ""

    def post(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ):
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()

    def ask(self, message: str, sender: str = "pytest", channel: str = "rest") -> list[dict]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        status, replies = self.post(f"/webhooks/{channel}/webhook", body)
        assert status == 200, replies
        return replies

    def reply_text(self, message: str, sender: str = "pytest") -> str:
        """Every text and button title of the replies, as one string."""
        parts = []
        for reply in self.ask(message, sender):
            parts.append(reply.get("text", ""))
            parts += [button["title"] for button in reply.get("buttons", [])]
        return "\n".join(parts)


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeBotApi]:
    """A local fake of Telegram's Bot API, which the assistant's Telegram channel talks to."""
    server = FakeBotApi().start()
    yield server
    server.stop()


TELEGRAM_SECRET = "test-webhook-secret"


@pytest.fixture(scope="session")
def assistant(
    tmp_path_factory: pytest.TempPathFactory, fake_telegram: FakeBotApi, trained_model: Path
) -> Iterator[Assistant]:
    """The real action server and Rasa server, on free ports, with the trained model, its
    Telegram channel pointed at the fake Bot API, and its clock fixed at ASSISTANT_TODAY."""
    from bot.serve import Ports, running

    directory = tmp_path_factory.mktemp("assistant")
    answers = directory / "answers"
    answers.mkdir()
    for path in answer_files():
        shutil.copy(path, answers)
    env = {
        "FAQ_ANSWERS_DIR": str(answers),
        "DATABASE_URL": seed_database(f"sqlite:///{directory / 'ecrin.db'}"),
        "TRACKER_STORE_URL": f"sqlite:///{directory / 'tracker.db'}",
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": fake_telegram.url,
        "ECRIN_TODAY": ASSISTANT_TODAY.isoformat(),
    }
    logs = directory / "logs"
    logs.mkdir()
    ports = Ports(rasa=free_port(), actions=free_port())
    try:
        with running(ports, model=trained_model, env=env, log_dir=logs) as stack:
            yield Assistant(stack.rasa_url, env["TRACKER_STORE_URL"], answers, env["DATABASE_URL"])
    finally:
        for log in logs.glob("*.log"):
            tail = log.read_text(errors="replace")[-3000:]
            print(f"\n--- {log.name} (last 3000 characters) ---\n{tail}")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network and a root user: no background connections, no sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's headless Chromium driven by Playwright (its own browser download is
    unreachable here); `make test` installs the package. Module-scoped: Playwright's sync API
    holds an event loop, which must not outlive the module that needs it."""
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
