"""The training lock and a job's progress, in the job's own `review_models` row.

One job at a time: `claim_training` inserts the row in status "training", which a partial
unique index allows once (bot/tracker_db/schema.py). The job (bot/training.py, its own
process) reports its stage, its process id and a heartbeat there, and ends it with
`finish_job`. A job whose process is gone, or that stopped reporting for STALE_AFTER seconds,
is marked failed when the next one claims the lock, and shown as stopped until then (reading
never writes). The review app takes the lock and starts the job; it never runs one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.model_store import ModelStoreError, ModelVersion, get_model, model_version, new_model_id
from bot.tracker_db.schema import models

# A job that has not reported for this long is taken for dead even if its process id is
# used again (training reports at least every minute; evaluation between its steps).
STALE_AFTER = 30 * 60
# A job the review app queued has this long to start its process before it counts as failed.
SPAWN_GRACE = 120


class JobRunning(ModelStoreError):
    """Another training job holds the lock."""

    def __init__(self, job: ModelVersion) -> None:
        super().__init__(
            f"Model {job.id} is being trained (started by {job.created_by}, stage "
            f"{job.stage or 'queued'}); wait for it to finish."
        )
        self.job = job


def running_job(engine: Engine, store_dir: Path) -> ModelVersion | None:
    """The job holding the training lock (alive or not: see `job_alive`)."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(models).where(models.c.status == "training")).first()
    return model_version(row, store_dir) if row else None


def job_alive(job: ModelVersion, now: float | None = None) -> bool:
    """Whether the job's process may still be working: it reported recently, and its process
    still exists when it runs on this machine (else its report age is all we can tell)."""
    now = time.time() if now is None else now
    if now - (job.heartbeat_at or job.created_at) > STALE_AFTER:
        return False
    if job.pid is None:
        return now - job.created_at < SPAWN_GRACE
    if job.host != socket.gethostname():
        return True
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process by that id: it exists
    return True


def claim_training(
    engine: Engine, store_dir: Path, by: str, now: float | None = None
) -> ModelVersion:
    """Take the training lock: a new row in status "training" (stage "queued"), after
    marking failed a job whose process is gone. JobRunning when another job is alive."""
    now = time.time() if now is None else now
    model_id = new_model_id(now)
    try:
        with engine.begin() as connection:
            held = connection.execute(
                sa.select(models).where(models.c.status == "training").with_for_update()
            ).first()
            if held is not None:
                job = model_version(held, store_dir)
                if job_alive(job, now):
                    raise JobRunning(job)
                connection.execute(
                    models.update()
                    .where(models.c.id == job.id)
                    .values(
                        status="failed",
                        finished_at=now,
                        reasons=json.dumps(
                            [*job.reasons, "The job's process ended before the job did."]
                        ),
                    )
                )
            connection.execute(
                models.insert().values(
                    id=model_id,
                    status="training",
                    stage="queued",
                    created_at=now,
                    created_by=by,
                    heartbeat_at=now,
                    log_path=str(store_dir / f"{model_id}.log"),
                )
            )
    except IntegrityError as error:
        # Another claim won the race between our check and our insert.
        job = running_job(engine, store_dir)
        if job is None:
            raise
        raise JobRunning(job) from error
    version = get_model(engine, store_dir, model_id)
    assert version is not None
    return version


def update_job(engine: Engine, model_id: str, **values: Any) -> None:
    """Record the job's progress (stage, pid, method, …) and that it is alive."""
    for name in ("evaluation", "reasons"):
        if name in values and not isinstance(values[name], str | None):
            values[name] = json.dumps(values[name])
    values.setdefault("heartbeat_at", time.time())
    with engine.begin() as connection:
        connection.execute(models.update().where(models.c.id == model_id).values(**values))


def save_evaluation(engine: Engine, model_id: str, evaluation: dict[str, Any]) -> None:
    """Keep a model's figures in its row (the live model's, measured for a comparison)."""
    with engine.begin() as connection:
        connection.execute(
            models.update().where(models.c.id == model_id).values(evaluation=json.dumps(evaluation))
        )


def mark_running_here(engine: Engine, model_id: str) -> None:
    """The job's process is this one (for `job_alive`)."""
    update_job(engine, model_id, pid=os.getpid(), host=socket.gethostname())


def finish_job(
    engine: Engine, model_id: str, status: str, reasons: Iterable[str] = (), **values: Any
) -> None:
    """Release the lock: the job ends as a candidate, rejected or failed."""
    if status not in ("candidate", "rejected", "failed"):
        raise ValueError(f"a job cannot end as {status!r}")
    update_job(
        engine,
        model_id,
        status=status,
        stage=None,
        reasons=list(reasons),
        finished_at=time.time(),
        **values,
    )
