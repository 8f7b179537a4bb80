"""Fixtures for the review app: real tracker-store databases (SQLite, and PostgreSQL where a
test asks for `tracker_url`), filled through the real Rasa tracker store, and a logged-in
HTTP client on the real app."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from bot.review import accounts
from bot.review.accounts import add_staff
from bot.review.app import create_app
from bot.review.config import ReviewSettings
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from tests.review.seeding import (
    BASE_TIME,
    HANDOFF,
    HELLO,
    LOW,
    PARTNER,
    PLACEBO,
    UNSURE,
    Chat,
    Turn,
    save_chats,
)

ADMIN = ("ada", "admin password 1")
REVIEWER = ("rob", "reviewer password 1")
# Created by the tests that need an editor (the data pages, the access matrix), not by seed().
EDITOR = ("eddie", "editor password 1")
SECRET = "a-test-secret-key-that-is-long-enough-0123456789"

XSS = "<script>alert(1)</script>"

# Ids as the channels store them: a web UUID, a Telegram pseudonym, a REST client's id.
WEB_ID = "3f2a9c1e-7b4d-4e21-9a8f-1c2d3e4f5a6b"
TELEGRAM_ID = "tg-0123456789abcdef0123456789abcdef"
REST_ID = "rest-client-7"

CHATS = [
    Chat(WEB_ID, [HELLO, PLACEBO], channel="web", start=BASE_TIME),
    Chat(TELEGRAM_ID, [UNSURE, HANDOFF], channel="telegram", start=BASE_TIME + 86_400),
    Chat(
        REST_ID,
        [LOW, PARTNER, Turn(f"{XSS} what is 50%_off", "greet", 0.31)],
        channel="rest",
        start=BASE_TIME + 2 * 86_400,
    ),
]


# The hasher bot.review.accounts hashes with in production, taken before any fixture swaps it:
# `production_password_hashing` puts it back for the tests about the real parameters.
PRODUCTION_HASHER = accounts._hasher
# Argon2 with small parameters: the production ones (64 MiB, 3 passes) are meant to be slow,
# and the tests create and check many passwords.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@contextmanager
def password_hasher(hasher: PasswordHasher) -> Iterator[None]:
    """bot.review.accounts hashes and verifies with `hasher` inside the block (its cached
    hash for unknown usernames is made again with it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", hasher)
        accounts._dummy_hash.cache_clear()
        try:
            yield
        finally:
            accounts._dummy_hash.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[None]:
    """The quick hasher for every review test; test_accounts runs the production one
    (`production_password_hashing`)."""
    with password_hasher(QUICK_HASHER):
        yield


@pytest.fixture
def production_password_hashing() -> Iterator[PasswordHasher]:
    """The hasher bot.review.accounts really uses, for one test."""
    with password_hasher(PRODUCTION_HASHER):
        yield PRODUCTION_HASHER


def seed(url: str, chats: list[Chat] | None = None) -> str:
    """Migrate `url`, store the chats and create one admin and one reviewer."""
    upgrade(url)
    save_chats(url, CHATS if chats is None else chats)
    engine = get_engine(url)
    add_staff(engine, *ADMIN, role="admin")
    add_staff(engine, *REVIEWER, role="reviewer")
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def tracker_url(empty_database: str) -> Iterator[str]:
    """An empty tracker-store database, on SQLite and on PostgreSQL."""
    yield empty_database
    get_engine(empty_database).dispose()


# Seeding through Rasa and Alembic takes a second; each test gets a copy of a database
# seeded once per session instead (a file copy on SQLite, CREATE DATABASE … TEMPLATE on
# PostgreSQL), so every test still starts from the same state.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tracker.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    name = f"review_template_{uuid.uuid4().hex[:12]}"
    with _admin(postgres_server) as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    seed(url)
    get_engine(url).dispose()
    yield name
    with _admin(postgres_server) as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _admin(server: str) -> Iterator[sa.engine.Connection]:
    engine = sa.create_engine(server, future=True, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture
def seeded_sqlite(sqlite_template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "tracker.db"
    shutil.copyfile(sqlite_template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A seeded tracker-store database of its own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("seeded_sqlite")
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = f"review_test_{uuid.uuid4().hex[:12]}"
    with _admin(server) as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with _admin(server) as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# "Train and deploy" in the review tests: a model store of the run's own, and a job command
# that only prints the job's id into its log, so no form post ever trains a model
# (tests/test_training.py runs the real job).
MODEL_STORE = tempfile.TemporaryDirectory(prefix="ecrin-review-models-")
NO_TRAINING = (sys.executable, "-c", "import sys; print('training job', sys.argv[1])")


# The events and partners the data pages and the dashboard's data health read: a seeded
# SQLite copy per app, never the project's own database.
LOOKUP_DATABASES = tempfile.TemporaryDirectory(prefix="ecrin-review-lookup-")


def seeded_lookup_url() -> str:
    from tests.conftest import seed_database

    return seed_database(f"sqlite:///{Path(LOOKUP_DATABASES.name) / f'{uuid.uuid4().hex}.db'}")


def settings_for(url: str, **overrides) -> ReviewSettings:
    defaults = {"model_store_dir": Path(MODEL_STORE.name), "training_command": NO_TRAINING}
    if "lookup_database_url" not in overrides:
        defaults["lookup_database_url"] = seeded_lookup_url()
    return ReviewSettings(database_url=url, secret_key=SECRET, **{**defaults, **overrides})


class Staff:
    """A browser-like client of the real app: cookies, CSRF tokens from the pages."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def token(self, path: str = "/") -> str:
        page = self.client.get(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return match.group(1)

    def login(self, username: str, password: str, next_path: str = "/"):
        return self.client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "next": next_path,
                "csrf_token": self.token("/login"),
            },
            follow_redirects=False,
        )

    def post(self, path: str, data: dict[str, str], token: bool = True):
        body = {**data, "csrf_token": self.token()} if token else data
        return self.client.post(path, data=body, follow_redirects=False)


def client_for(url: str, **overrides) -> TestClient:
    return TestClient(create_app(settings_for(url, **overrides)), base_url="http://testserver")


def logged_in(url: str, account: tuple[str, str] = ADMIN, **overrides) -> Staff:
    staff = Staff(client_for(url, **overrides))
    reply = staff.login(*account)
    assert reply.status_code == 303, reply.text[:500]
    return staff


@pytest.fixture
def admin(seeded_sqlite: str) -> Staff:
    return logged_in(seeded_sqlite, ADMIN)


@pytest.fixture
def reviewer(seeded_sqlite: str) -> Staff:
    return logged_in(seeded_sqlite, REVIEWER)
