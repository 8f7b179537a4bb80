"""Shared fixtures: real databases and a real running assistant.

Nothing here mocks our own code: the databases are real SQLite files (PostgreSQL where a test
asks for it) and the end-to-end fixture starts the real action server and Rasa server.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import db
from bot.seed import seed_partners
from bot.settings import PROJECT_ROOT

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_database(directory: Path) -> str:
    """A migrated, seeded SQLite database; returns its URL."""
    url = f"sqlite:///{directory / 'ecrin.db'}"
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_partners(session)
    return url


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh seeded SQLite database, also set as DATABASE_URL for the code under test."""
    url = make_database(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@dataclass
class Assistant:
    """The running assistant, as a client sees it."""

    base_url: str
    tracker_store_url: str

    def post(self, path: str, body: bytes, content_type: str = "application/json"):
        request = urllib.request.Request(
            self.base_url + path, data=body, headers={"Content-Type": content_type}
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
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The real action server and Rasa server, on free ports, with the trained model."""
    from bot.serve import Ports, running

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    directory = tmp_path_factory.mktemp("assistant")
    env = {
        "DATABASE_URL": make_database(directory),
        "TRACKER_STORE_URL": f"sqlite:///{directory / 'tracker.db'}",
    }
    logs = directory / "logs"
    logs.mkdir()
    ports = Ports(rasa=free_port(), actions=free_port())
    try:
        with running(ports, model=MODEL, env=env, log_dir=logs) as stack:
            yield Assistant(stack.rasa_url, env["TRACKER_STORE_URL"])
    finally:
        for log in logs.glob("*.log"):
            tail = log.read_text(errors="replace")[-3000:]
            print(f"\n--- {log.name} (last 3000 characters) ---\n{tail}")
