"""The review app's model server (bot/review/model_server.py), on real registries (SQLite and
PostgreSQL) with small stand-in archives: the token, the ETag and 304, HEAD, and the plain
refusals, never a 500. And Rasa's own pulling code (rasa/core/agent.py) against the app served
by uvicorn, so what Rasa sends and expects is what is answered, not what we think it is.

The archives stand in for Rasa's (tests/model_archives.py): the model server never opens
them. tests/test_rollout_replicas.py runs the real thing, with replicas loading real models.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot import model_jobs
from bot.model_rollout import MODEL_SERVER_PATH
from bot.model_store import INITIAL_ID, set_live
from bot.review.app import create_app
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from tests.conftest import free_port
from tests.model_archives import stand_in_archive
from tests.review.conftest import ADMIN, REVIEWER, logged_in, seed, settings_for

TOKEN = "a-model-server-token-long-enough-0123456789"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def registry(tracker_url: str) -> Iterator[Engine]:
    upgrade(tracker_url)
    yield get_engine(tracker_url)


def deployed(engine: Engine, store: Path, text: str) -> str:
    """A model trained (here: a stand-in archive saying `text`) and put live; its id. The
    project's model is a stand-in too, adopted as "initial" by the first deployment."""
    job = model_jobs.claim_training(engine, store, "pytest")
    stand_in_archive(store / f"{job.id}.tar.gz", text)
    model_jobs.update_job(engine, job.id, file_name=f"{job.id}.tar.gz")
    model_jobs.finish_job(engine, job.id, "candidate")
    initial = stand_in_archive(store.parent / "ecrin.tar.gz", "the project's model")
    set_live(engine, job.id, "pytest", store_dir=store, initial=initial)
    return job.id


def client(url: str, store: Path, token: str | None = TOKEN) -> TestClient:
    settings = settings_for(url, model_store_dir=store, model_server_token=token)
    return TestClient(create_app(settings), base_url="http://testserver")


def pull(server: TestClient, token: str | None = TOKEN, method: str = "GET", **headers: str):
    params = {"token": token} if token is not None else {}
    return server.request(method, MODEL_SERVER_PATH, params=params, headers=headers)


def test_the_live_archive_comes_whole_with_its_id_as_etag(
    tracker_url: str, registry: Engine, store: Path
) -> None:
    live = deployed(registry, store, "model one")
    reply = pull(client(tracker_url, store))
    assert reply.status_code == 200
    assert reply.content == (store / f"{live}.tar.gz").read_bytes()
    assert reply.headers["etag"] == f'"{live}"'
    # Rasa saves the download under this name (`filename`), and loads it from there.
    assert reply.headers["filename"] == f"{live}.tar.gz"
    assert reply.headers["content-type"] == "application/gzip"
    assert reply.headers["content-length"] == str((store / f"{live}.tar.gz").stat().st_size)
    # The review app's headers, as on every answer: no copy in a cache.
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_the_model_a_server_has_is_not_sent_again(
    tracker_url: str, registry: Engine, store: Path
) -> None:
    live = deployed(registry, store, "model one")
    server = client(tracker_url, store)
    for has in (f'"{live}"', f'W/"{live}"', f'"other", "{live}"', "*"):
        reply = pull(server, **{"If-None-Match": has})
        assert (reply.status_code, reply.content) == (304, b""), has
        assert reply.headers["etag"] == f'"{live}"'
    # A server on the model before: it gets the live one. Then a rollback: the live one is
    # the earlier model again, and a server that had the later one gets it back.
    earlier = pull(server, **{"If-None-Match": f'"{INITIAL_ID}"'})
    assert earlier.status_code == 200 and earlier.headers["etag"] == f'"{live}"'
    set_live(registry, INITIAL_ID, "pytest", action="rollback", store_dir=store)
    back = pull(server, **{"If-None-Match": f'"{live}"'})
    assert back.status_code == 200 and back.headers["etag"] == f'"{INITIAL_ID}"'
    assert back.content == (store / f"{INITIAL_ID}.tar.gz").read_bytes()
    # Not an entity tag of ours (an unquoted id): the archive.
    assert pull(server, **{"If-None-Match": INITIAL_ID}).status_code == 200


def test_head_answers_the_headers_without_the_archive(
    tracker_url: str, registry: Engine, store: Path
) -> None:
    live = deployed(registry, store, "model one")
    reply = pull(client(tracker_url, store), method="HEAD")
    assert (reply.status_code, reply.content) == (200, b"")
    assert reply.headers["etag"] == f'"{live}"'
    assert reply.headers["content-length"] == str((store / f"{live}.tar.gz").stat().st_size)


def test_only_the_token_opens_it_never_a_staff_session(seeded_sqlite: str, store: Path) -> None:
    deployed(get_engine(seeded_sqlite), store, "model one")
    server = client(seeded_sqlite, store)
    missing = pull(server, token=None)
    assert missing.status_code == 401
    assert "MODEL_SERVER_TOKEN" in missing.text and "www-authenticate" in missing.headers
    wrong = pull(server, token=TOKEN[:-1] + "X")
    assert (wrong.status_code, wrong.text) == (403, "Wrong token for the model server.")
    assert pull(server, token="").status_code == 401
    # A token in a header is not what Rasa sends: refused as none.
    assert server.get(MODEL_SERVER_PATH, headers={"token": TOKEN}).status_code == 401
    for account in (ADMIN, REVIEWER):
        staff = logged_in(seeded_sqlite, account, model_store_dir=store, model_server_token=TOKEN)
        assert staff.client.get(MODEL_SERVER_PATH).status_code == 401
    # Without a token of its own the app serves no model to anyone.
    off = client(seeded_sqlite, store, token=None)
    refused = pull(off)
    assert refused.status_code == 403 and "MODEL_SERVER_TOKEN is not set" in refused.text


def test_a_missing_archive_is_a_503_with_the_reason_not_a_500(
    tracker_url: str, registry: Engine, store: Path
) -> None:
    live = deployed(registry, store, "model one")
    (store / f"{live}.tar.gz").unlink()
    server = client(tracker_url, store)
    reply = pull(server)
    assert reply.status_code == 503
    assert reply.text == f"The archive of the live model {live} is missing from the model store."
    assert reply.headers["retry-after"] == "30"
    assert reply.headers["content-type"].startswith("text/plain")
    # A server that already has it loses nothing: 304, the file is not needed.
    assert pull(server, **{"If-None-Match": f'"{live}"'}).status_code == 304


def test_an_unreadable_registry_is_a_503_not_a_500(tmp_path: Path, store: Path) -> None:
    # A database without the registry's tables (never migrated).
    reply = pull(client(f"sqlite:///{tmp_path / 'not-migrated.db'}", store))
    assert reply.status_code == 503
    assert reply.text == "The model registry cannot be read right now; ask again later."


@pytest.mark.slow  # uvicorn in a thread, Rasa's agent module imported
def test_rasas_own_pulling_gets_the_live_model_then_nothing_until_it_changes(
    tmp_path: Path, store: Path
) -> None:
    """rasa.core.agent._pull_model_and_fingerprint, as the Rasa server calls it every
    `wait_time_between_pulls`, against the app served by uvicorn: it sends the token the way
    Rasa's EndpointConfig sends `token:` and the fingerprint it holds, keeps the ETag as its
    new fingerprint, saves the archive under the `filename` header, and takes 304 as nothing
    new; with a wrong token it gets nothing."""
    from rasa.core.agent import _pull_model_and_fingerprint
    from rasa.utils.endpoints import EndpointConfig

    url = seed(f"sqlite:///{tmp_path / 'tracker.db'}")
    live = deployed(get_engine(url), store, "model one")
    port = free_port()
    settings = settings_for(url, model_store_dir=store, model_server_token=TOKEN)
    # As `bot review serve` runs it (bot/cli.py): no WebSockets, Rasa pins too old a library.
    config = uvicorn.Config(
        create_app(settings), port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        endpoint = EndpointConfig.from_dict(
            {
                "url": f"http://127.0.0.1:{port}{MODEL_SERVER_PATH}",
                "token": TOKEN,
                "wait_time_between_pulls": 10,
            }
        )

        def rasa_pulls(fingerprint: str, endpoint: EndpointConfig = endpoint) -> str | None:
            directory = tmp_path / f"pulled-{time.monotonic_ns()}"
            directory.mkdir()
            found = asyncio.run(_pull_model_and_fingerprint(endpoint, fingerprint, str(directory)))
            if found:
                saved = directory / f"{live}.tar.gz"
                assert saved.read_bytes() == (store / f"{live}.tar.gz").read_bytes()
            return found

        assert rasa_pulls('"initial"') == f'"{live}"'  # the fingerprint Rasa keeps
        assert rasa_pulls(f'"{live}"') is None  # 304: nothing new
        wrong = EndpointConfig.from_dict({"url": endpoint.url, "token": "not-the-token"})
        assert rasa_pulls('"initial"', wrong) is None  # 403: Rasa keeps its model
    finally:
        server.should_exit = True
        thread.join(10)
