"""Real Rasa servers following the live model through the review app's model server: a
deployment and a rollback reach both replicas of `bot run --scaled` without a restart, and a
Rasa server whose model server is down starts on its own model, answers, and follows once the
model server is back.

Real processes, real models: the "new" model is a copy of the trained models/ecrin.tar.gz
registered under a new id (nothing is trained here), which the replicas download and load as
they would a retrained one. Each waits for /webhooks/web/version to name the live id and
prints how long it took: the pull interval plus the download and the load.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bench.load_test import temporary_stores
from bot import model_jobs
from bot.model_store import INITIAL_ID, rollback, set_live
from bot.scaled import ScaledPorts, running_scaled
from bot.serve import Ports, running, running_one
from bot.tracker_db.engine import get_engine
from tests.conftest import free_port, seed_database

TOKEN = "a-model-server-token-long-enough-0123456789"
# What a replica may take after a deployment: the pull interval (MODEL_PULL_SECONDS, 10 by
# default), the download, and loading the model (two replicas at once on two cores).
FOLLOW_DEADLINE = 10 + 180


def version(rasa_url: str) -> str | None:
    """The model id a Rasa server says it runs (None while it has none). A server loading a
    model answers once it is loaded: the wait is part of the time measured."""
    try:
        with urllib.request.urlopen(f"{rasa_url}/webhooks/web/version", timeout=180) as reply:
            return json.loads(reply.read())["model"]
    except urllib.error.HTTPError as error:
        if error.code == 503:
            return None
        raise


def until_all_run(rasa_urls: list[str], model_id: str, since: float) -> dict[str, float]:
    """Seconds from `since` until each server named `model_id`; fails after FOLLOW_DEADLINE.
    Prints the longest a single /version took: how long a replica held requests while it
    loaded the model (Rasa loads on its event loop)."""
    took: dict[str, float] = {}
    longest = 0.0
    while len(took) < len(rasa_urls):
        for url in rasa_urls:
            if url in took:
                continue
            asked = time.monotonic()
            running = version(url)
            longest = max(longest, time.monotonic() - asked)
            if running == model_id:
                took[url] = time.monotonic() - since
        waited = time.monotonic() - since
        assert waited < FOLLOW_DEADLINE, f"after {waited:.0f} s only {took} run {model_id}"
        time.sleep(0.25)
    print(f"\nlongest answer to /version meanwhile: {longest:.1f} s")
    return took


def answers(base_url: str, message: str = "What is ECRIN?") -> str:
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": f"rollout-{time.monotonic_ns()}", "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return " ".join(r.get("text", "") for r in json.loads(reply.read()))


def registered_copy(engine: Engine, store: Path, archive: Path) -> str:
    """`archive` registered as a newly trained model that passed the gate; its id."""
    job = model_jobs.claim_training(engine, store, "pytest")
    shutil.copyfile(archive, store / f"{job.id}.tar.gz")
    model_jobs.update_job(engine, job.id, file_name=f"{job.id}.tar.gz")
    model_jobs.finish_job(engine, job.id, "candidate")
    return job.id


def report(what: str, took: dict[str, float]) -> None:
    shown = ", ".join(f"{url.rsplit(':', 1)[-1]}: {seconds:.1f} s" for url, seconds in took.items())
    print(f"\n{what}: {shown}")


@pytest.mark.slow
@pytest.mark.e2e
def test_both_replicas_follow_a_deployment_and_a_rollback(
    postgres_server: str, redis_server: str, trained_model: Path, tmp_path: Path
) -> None:
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        message = "nginx is not installed (`make nginx` installs it; `make test` does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    store, logs = tmp_path / "store", tmp_path / "logs"
    store.mkdir()
    logs.mkdir()
    try:
        with (
            temporary_stores(postgres_server, redis_server) as stores,
            # No model named: the replicas run the live one and follow it, every 10 s.
            running_scaled(
                ScaledPorts.free(), env={**stores, "MODEL_STORE_DIR": str(store)}, log_dir=logs
            ) as stack,
        ):
            replicas = stack.rasa_urls
            assert [version(url) for url in replicas] == [INITIAL_ID, INITIAL_ID]
            engine = get_engine(stores["TRACKER_STORE_URL"])
            try:
                new = registered_copy(engine, store, trained_model)
                deployed = time.monotonic()
                set_live(engine, new, "pytest", store_dir=store, initial=trained_model)
                report(f"deployment of {new} reached", until_all_run(replicas, new, deployed))
                assert answers(stack.url)  # through nginx, on the new model

                rolled = time.monotonic()
                back = rollback(engine, None, "pytest", store_dir=store, initial=trained_model)
                assert back.model_id == INITIAL_ID
                report("rollback reached", until_all_run(replicas, INITIAL_ID, rolled))
                assert answers(stack.url)
            finally:
                engine.dispose()
    finally:
        for log in sorted(logs.glob("rasa-*.log")):
            print(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-2000:]}")


@pytest.mark.slow
@pytest.mark.e2e
def test_a_replica_starts_on_its_model_while_the_model_server_is_down_then_follows_it(
    trained_model: Path, tmp_path: Path
) -> None:
    """The review app down at start (a restart of both, a pod rescheduled): the Rasa server
    starts on its model and answers; once the model server answers, it takes the live
    model. Rasa 3.6 alone would start with no model at all (bot/rasa_ext/model_pulling.py)."""
    store, logs = tmp_path / "store", tmp_path / "logs"
    store.mkdir()
    logs.mkdir()
    review_port = free_port()
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    env = {
        "DATABASE_URL": seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}"),
        "TRACKER_STORE_URL": tracker,
        "MODEL_STORE_DIR": str(store),
        "MODEL_SERVER_URL": f"http://127.0.0.1:{review_port}/model/live.tar.gz",
        "MODEL_SERVER_TOKEN": TOKEN,
        "MODEL_PULL_SECONDS": "2",
    }
    # The Rasa and action servers, without the review app: nothing answers on review_port.
    with running(Ports(free_port(), free_port(), review=0), env=env, log_dir=logs) as stack:
        assert version(stack.rasa_url) == INITIAL_ID
        assert "ECRIN" in answers(stack.rasa_url)
        engine = get_engine(tracker)
        try:
            new = registered_copy(engine, store, trained_model)
            set_live(engine, new, "pytest", store_dir=store, initial=trained_model)
            time.sleep(5)  # two pulls, both unanswered: it keeps its model
            assert version(stack.rasa_url) == INITIAL_ID
            with running_one("review", Ports(review=review_port), env=env):
                took = until_all_run([stack.rasa_url], new, time.monotonic())
                report("the model server back, the live model reached", took)
            assert "ECRIN" in answers(stack.rasa_url)
        finally:
            engine.dispose()
