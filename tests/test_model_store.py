"""The model registry (bot/model_store.py) on real SQLite and PostgreSQL databases: exactly one
live model, deployments and rollbacks recorded with who and when, the project's model adopted
as the first version, and the training lock.

The archives here are small files standing in for Rasa's (the registry never opens them);
tests/test_training.py trains real ones.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot import model_jobs, model_store
from bot.model_jobs import JobRunning, claim_training, finish_job, job_alive, update_job
from bot.model_store import (
    INITIAL_ID,
    ModelStoreError,
    adopt_initial,
    list_deployments,
    list_models,
    live_model,
    model_file,
    new_model_id,
    rollback,
    set_live,
)
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import deployments, models
from tests.model_archives import stand_in_archive


@pytest.fixture
def engine(empty_database: str) -> Iterator[Engine]:
    upgrade(empty_database)
    engine = get_engine(empty_database)
    yield engine
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def initial(tmp_path: Path) -> Path:
    """The project's model (models/ecrin.tar.gz) as the registry first finds it."""
    return stand_in_archive(tmp_path / "ecrin.tar.gz", "the model make train wrote")


def trained(engine: Engine, store: Path, status: str = "candidate", by: str = "ada") -> str:
    """A model whose training job ended as `status`, with its archive in the store."""
    job = claim_training(engine, store, by)
    (store / f"{job.id}.tar.gz").write_bytes(f"archive {job.id}".encode())
    update_job(engine, job.id, file_name=f"{job.id}.tar.gz")
    reasons = ["Intent accuracy on the held-out split fell."] if status == "rejected" else []
    finish_job(engine, job.id, status, reasons)
    return job.id


def rows(engine: Engine, table: sa.Table) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(table))]


def test_ids_sort_by_the_minute_they_were_made_and_differ_within_it() -> None:
    moment = dt.datetime(2026, 12, 7, 8, 15, 30, tzinfo=dt.timezone.utc).timestamp()
    early, late = new_model_id(moment), new_model_id(moment + 60)
    assert early < late
    assert re.fullmatch(r"20261207-0815-[0-9a-f]{4}", early), early
    assert len({new_model_id(moment) for _ in range(20)}) > 1


def test_the_project_model_is_live_before_anything_is_written(
    engine: Engine, store: Path, initial: Path
) -> None:
    live = live_model(engine, store, initial)
    assert live is not None and (live.id, live.path, live.adopted) == (INITIAL_ID, initial, False)
    assert model_file(engine, store, INITIAL_ID, initial) == initial
    assert [version.id for version in list_models(engine, store, initial)] == [INITIAL_ID]
    assert rows(engine, models) == []  # reading never writes
    assert live_model(engine, store, store / "missing.tar.gz") is None


def test_adoption_copies_the_project_model_so_a_later_make_train_cannot_change_it(
    engine: Engine, store: Path, initial: Path
) -> None:
    adopted = adopt_initial(engine, store, initial, data_digest="abc")
    assert adopted is not None and adopted.adopted and adopted.status == "live"
    assert adopted.path == store / "initial.tar.gz" and adopted.data_digest == "abc"
    stand_in_archive(initial, "retrained by make train")
    copy = model_file(engine, store, INITIAL_ID, initial)
    assert copy != initial and copy.read_bytes() != initial.read_bytes()
    assert model_store.whole_archive(copy)
    assert adopt_initial(engine, store, initial) == adopted  # once only
    assert len(rows(engine, models)) == 1


def test_a_truncated_archive_is_not_whole(tmp_path: Path, initial: Path) -> None:
    """`make train` writes models/ecrin.tar.gz in place: a copy taken meanwhile is cut short."""
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(initial.read_bytes()[:-20])
    assert model_store.whole_archive(initial) and not model_store.whole_archive(cut)
    assert not model_store.whole_archive(tmp_path / "missing.tar.gz")


def test_deploying_swaps_the_live_model_in_one_step_and_records_who(
    engine: Engine, store: Path, initial: Path
) -> None:
    first = trained(engine, store)
    done = set_live(engine, first, "ada", store_dir=store, initial=initial)
    assert (done.model_id, done.action, done.deployed_by) == (first, "deploy", "ada")
    assert done.previous_model_id == INITIAL_ID  # adopted on the way, so it can come back
    assert live_model(engine, store, initial).id == first
    second = trained(engine, store, by="eddie")
    set_live(engine, second, "cli:root", store_dir=store, initial=initial)
    statuses = {version.id: version.status for version in list_models(engine, store, initial)}
    assert statuses == {INITIAL_ID: "retired", first: "retired", second: "live"}
    assert [(d.model_id, d.previous_model_id, d.deployed_by) for d in list_deployments(engine)] == [
        (first, INITIAL_ID, "ada"),
        (second, first, "cli:root"),
    ]


def test_the_database_refuses_a_second_live_model_and_a_second_job(
    engine: Engine, store: Path, initial: Path
) -> None:
    adopt_initial(engine, store, initial)
    claim_training(engine, store, "ada")
    for status in ("live", "training"):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                models.insert().values(
                    id=f"x-{status}", status=status, created_at=1.0, created_by="mallory"
                )
            )


def test_rollback_restores_the_model_the_last_deployment_replaced(
    engine: Engine, store: Path, initial: Path
) -> None:
    first, second = trained(engine, store), trained(engine, store)
    set_live(engine, first, "ada", store_dir=store, initial=initial)
    set_live(engine, second, "ada", store_dir=store, initial=initial)

    back = rollback(engine, None, "rob", store, initial)

    assert (back.model_id, back.action, back.previous_model_id) == (first, "rollback", second)
    assert live_model(engine, store, initial).id == first
    assert rollback(engine, INITIAL_ID, "rob", store, initial).model_id == INITIAL_ID
    assert [d.action for d in list_deployments(engine)] == [
        "deploy",
        "deploy",
        "rollback",
        "rollback",
    ]


@pytest.mark.parametrize("status", ["rejected", "candidate"])
def test_rollback_goes_only_to_a_model_that_was_live(
    engine: Engine, store: Path, initial: Path, status: str
) -> None:
    never_live = trained(engine, store, status)
    with pytest.raises(ModelStoreError, match="nothing to roll back to"):
        rollback(engine, None, "ada", store, initial)
    with pytest.raises(ModelStoreError, match="was never live"):
        rollback(engine, never_live, "ada", store, initial)
    assert list_deployments(engine) == []


def test_what_cannot_go_live_is_refused_with_the_reason(
    engine: Engine, store: Path, initial: Path
) -> None:
    refused = trained(engine, store, "rejected")
    with pytest.raises(ModelStoreError, match="rejected .Intent accuracy"):
        set_live(engine, refused, "ada", store_dir=store, initial=initial)
    with pytest.raises(ModelStoreError, match="no model nope"):
        set_live(engine, "nope", "ada", store_dir=store, initial=initial)
    with pytest.raises(ModelStoreError, match="already live"):
        set_live(engine, INITIAL_ID, "ada", store_dir=store, initial=initial)
    lost = trained(engine, store)
    (store / f"{lost}.tar.gz").unlink()
    with pytest.raises(ModelStoreError, match="missing"):
        set_live(engine, lost, "ada", store_dir=store, initial=initial)
    assert model_file(engine, store, lost, initial) is None
    job = claim_training(engine, store, "ada")
    with pytest.raises(ModelStoreError, match="it is training"):
        set_live(engine, job.id, "ada", store_dir=store, initial=initial)
    assert live_model(engine, store, initial).id == INITIAL_ID
    assert list_deployments(engine) == []


def test_one_training_at_a_time_and_a_dead_job_gives_the_lock_back(
    engine: Engine, store: Path
) -> None:
    job = claim_training(engine, store, "ada")
    assert job.status == "training" and job.stage == "queued"
    assert job.log_path == store / f"{job.id}.log"
    model_jobs.mark_running_here(engine, job.id)  # this test's process: alive
    with pytest.raises(JobRunning, match=f"Model {job.id} is being trained .started by ada"):
        claim_training(engine, store, "eddie")

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    update_job(engine, job.id, pid=int(ended.stdout))  # the job's process is gone
    assert not job_alive(model_store.get_model(engine, store, job.id))
    second = claim_training(engine, store, "eddie")

    dead = model_store.get_model(engine, store, job.id)
    assert dead.status == "failed" and "ended before the job did" in dead.reasons[0]
    assert model_jobs.running_job(engine, store).id == second.id


def test_a_job_that_stopped_reporting_or_never_started_is_not_alive(
    engine: Engine, store: Path
) -> None:
    job = claim_training(engine, store, "ada")
    now = time.time()
    assert job_alive(job, now)  # queued a moment ago: its process is starting
    assert not job_alive(job, now + model_jobs.SPAWN_GRACE + 1)
    model_jobs.mark_running_here(engine, job.id)
    running = model_store.get_model(engine, store, job.id)
    assert job_alive(running, now + 60)
    assert not job_alive(running, now + model_jobs.STALE_AFTER + 1)


def test_deployments_are_listed_for_a_period(engine: Engine, store: Path, initial: Path) -> None:
    first = trained(engine, store)
    set_live(engine, first, "ada", store_dir=store, initial=initial)
    with engine.begin() as connection:
        connection.execute(deployments.update().values(deployed_at=1_000.0))
    rollback(engine, None, "rob", store, initial)
    assert [d.model_id for d in list_deployments(engine, since=2_000.0)] == [INITIAL_ID]
    assert [d.model_id for d in list_deployments(engine, until=2_000.0)] == [first]
