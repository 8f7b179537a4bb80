"""Rolling a model out, without a trained model: the `models:` section `bot run` gives each Rasa
server (read back by Rasa itself), the token made per run, the entity tags both sides agree
on, the registry id of an archive on disk, and the web channel's /version.

tests/review/test_model_server.py tests the model server; tests/test_rollout_replicas.py
starts real replicas and deploys and rolls back under them.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from bot.model_rollout import client_has, entity_tag, model_id_of
from bot.processes import SetUp, servers
from bot.serve import (
    endpoints_file,
    model_server_section,
    prepared_for,
    with_model_server_token,
)
from bot.settings import PROJECT_ROOT
from tests.test_rest_channel import PLAN_REPLIES, ScriptedAgent, web_chat_app

TOKEN = "a-model-server-token-long-enough-0123456789"

# --- The `models:` section ------------------------------------------------------------------


def rasa_reads(path: Path):
    """The model server endpoint as Rasa builds it from the file (rasa.core.utils)."""
    from rasa.core.utils import AvailableEndpoints

    return AvailableEndpoints.read_endpoints(str(path)).model


def test_the_rasa_server_pulls_from_the_review_app_with_the_token_every_interval(
    tmp_path: Path,
) -> None:
    section = model_server_section({"MODEL_SERVER_TOKEN": TOKEN}, review_port=8123)
    path = endpoints_file(tmp_path, {}, 5055, section)
    written = yaml.safe_load(path.read_text())["models"]
    assert written == {
        "url": "http://127.0.0.1:8123/model/live.tar.gz",
        "token": TOKEN,
        "token_name": "token",
        "wait_time_between_pulls": 10,
    }
    # The file holds the token: this user's only.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # What Rasa makes of it: the URL, the interval, and the token as the `token` parameter
    # of every pull (EndpointConfig.combine_parameters, which _pull_model_and_fingerprint
    # sends).
    endpoint = rasa_reads(path)
    assert endpoint.url == "http://127.0.0.1:8123/model/live.tar.gz"
    assert endpoint.kwargs == {"wait_time_between_pulls": 10}
    assert endpoint.combine_parameters() == {"token": TOKEN}


def test_the_settings_move_the_model_server_and_the_interval(tmp_path: Path) -> None:
    env = {
        "MODEL_SERVER_TOKEN": TOKEN,
        "MODEL_SERVER_URL": "http://review:8080/model/live.tar.gz",
        "MODEL_PULL_SECONDS": "3",
        "REVIEW_PORT": "9090",
    }
    assert model_server_section(env) == {
        "url": "http://review:8080/model/live.tar.gz",
        "token": TOKEN,
        "token_name": "token",
        "wait_time_between_pulls": 3,
    }
    # Without MODEL_SERVER_URL: the review app on this host, on REVIEW_PORT.
    del env["MODEL_SERVER_URL"]
    assert model_server_section(env)["url"] == "http://127.0.0.1:9090/model/live.tar.gz"


def test_without_a_token_the_rasa_server_follows_nothing(tmp_path: Path) -> None:
    assert model_server_section({}) is None
    assert "models" not in yaml.safe_load(endpoints_file(tmp_path, {}).read_text())
    assert rasa_reads(endpoints_file(tmp_path, {})) is None


def test_bot_run_makes_one_token_per_run_and_keeps_a_given_one() -> None:
    made = with_model_server_token({})["MODEL_SERVER_TOKEN"]
    assert len(made) >= 32 and made != with_model_server_token({})["MODEL_SERVER_TOKEN"]
    given = {"MODEL_SERVER_TOKEN": TOKEN, "OTHER": "x"}
    assert with_model_server_token(given) == given


def test_a_pinned_model_is_never_replaced_by_the_model_server(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A caller that names a model (the tests, `bot eval`'s throwaway assistant judging a
    candidate) must get that model: its Rasa server has no `models:` section."""
    rasa = [kind for kind in servers(SetUp.BOT_RUN) if kind.name == "rasa"]
    env = {"MODEL_SERVER_TOKEN": TOKEN}
    pinned = prepared_for(rasa, tmp_path, env, 5055, PROJECT_ROOT / "models", 8080)
    assert pinned.endpoints and "models" not in yaml.safe_load(pinned.endpoints.read_text())
    following = prepared_for(rasa, tmp_path, env, 5055, None, 8080)
    assert following.endpoints and following.model is None
    assert yaml.safe_load(following.endpoints.read_text())["models"]["token"] == TOKEN
    # Following, but nothing to show the model server: said at start.
    prepared_for(rasa, tmp_path, {}, 5055, None, 8080)
    assert "MODEL_SERVER_TOKEN is not set" in capsys.readouterr().err


# --- Entity tags and archive ids ------------------------------------------------------------


def test_a_model_id_travels_as_a_quoted_entity_tag_and_comes_back() -> None:
    tag = entity_tag("20261207-0815-3f2a")
    assert tag == '"20261207-0815-3f2a"'
    assert model_id_of(tag) == model_id_of(f"W/{tag}") == "20261207-0815-3f2a"
    # Rasa's own random fingerprint, or nothing: no id.
    for other in ("5f0c6a4e9b1d4f0e8a7c3b2a1d0e9f8c", "", None, '""', '"', "W/"):
        assert model_id_of(other) is None, other


@pytest.mark.parametrize(
    ("header", "has"),
    [
        ('"initial"', True),
        ('W/"initial"', True),
        ('"20261207-0815-3f2a", "initial"', True),
        ("*", True),
        ('"initial-2"', False),
        ("initial", False),
        ('"initia"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_is_compared_weakly_as_http_says(header: str | None, has: bool) -> None:
    assert client_has(header, "initial") is has


def test_an_archive_on_disk_is_known_by_its_registry_id(tmp_path: Path) -> None:
    from bot.rasa_ext.model_pulling import archive_model_id, archive_on_disk

    project = PROJECT_ROOT / "models" / "ecrin.tar.gz"
    assert archive_model_id(project) == "initial"
    assert archive_model_id(tmp_path / "store" / "20261207-0815-3f2a.tar.gz") == (
        "20261207-0815-3f2a"
    )
    # As Rasa finds it: a file, or the newest archive of a folder; none in an empty one.
    (tmp_path / "older.tar.gz").write_bytes(b"x")
    newer = tmp_path / "20261207-0900-beef.tar.gz"
    newer.write_bytes(b"y")
    assert archive_on_disk(tmp_path) == newer
    assert archive_on_disk(newer) == newer
    assert archive_on_disk(tmp_path / "nothing-here") is None
    assert archive_on_disk(None) is None


# --- GET /webhooks/web/version ----------------------------------------------------------------


class ModelAgent(ScriptedAgent):
    """The scripted agent, with what the web channel reads of Rasa's Agent for /version: its
    fingerprint and whether it has a model (`processor`)."""

    def __init__(self, fingerprint: str | None, loaded: bool = True) -> None:
        super().__init__(PLAN_REPLIES)
        self.fingerprint = fingerprint
        self.processor = object() if loaded else None


def version_of(agent: ModelAgent):
    from starlette.testclient import TestClient

    with TestClient(web_chat_app(agent)) as client:
        return client.get("/webhooks/web/version")


def test_version_answers_the_model_id_and_nothing_else() -> None:
    reply = version_of(ModelAgent('"20261207-0815-3f2a"'))
    assert reply.status_code == 200
    assert reply.json() == {"model": "20261207-0815-3f2a"}
    # Asked again after each deployment: never from a cache; and the channel's headers.
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"


def test_version_without_a_model_is_a_503_and_an_unknown_model_is_null() -> None:
    starting = version_of(ModelAgent(None, loaded=False))
    assert (starting.status_code, starting.json()) == (503, {"model": None})
    unknown = version_of(ModelAgent("5f0c6a4e9b1d4f0e8a7c3b2a1d0e9f8c"))
    assert (unknown.status_code, unknown.json()) == (200, {"model": None})
