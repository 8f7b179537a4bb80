"""The registry of trained models: which archives exist, how each was made and judged, which
one is live, and who put it live when.

The archives live in the store directory (MODEL_STORE_DIR, default models/store): for each
model `<id>.tar.gz`, the corrections it was trained with (`<id>.corrections.yml`, a Rasa NLU
file) and its training log (`<id>.log`). Their rows are in the tracker database
(`review_models`, `review_deployments`, bot/tracker_db/schema.py), next to the staff and their
corrections, so the review app, `bot models` and the model server all read one truth.

Rules kept here, in transactions:

* at most one model is live and at most one is training (partial unique indexes), and a
  deployment swaps the live one in one transaction, so there is exactly one live model once
  the registry has any;
* the project's own model (models/ecrin.tar.gz, made by `make train`) is the first live
  version, "initial": until a training or a deployment needs a row for it, the reads present
  it as it is on disk (a page view never writes); then `adopt_initial` copies it into the store,
  so that a later `make train` can neither change nor remove the model staff can roll back to;
* a training job's row, in status "training", is the training lock (bot/model_jobs.py).

This module runs Rasa nowhere: the job that trains and judges a model is bot/training.py.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import secrets
import shutil
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.settings import PROJECT_ROOT, current
from bot.tracker_db.schema import deployments, models

# The model `make train` writes, adopted as the first live version.
PROJECT_MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"
INITIAL_ID = "initial"
INITIAL_CREATOR = "models/ecrin.tar.gz"
# Who may be put live: a model that was live before (rollback) or a trained candidate.
DEPLOYABLE = ("candidate", "retired")


class ModelStoreError(ValueError):
    """A registry operation cannot be done; the message says why, for staff."""


@dataclass(frozen=True)
class ModelVersion:
    """One trained model (or training job) as the registry knows it."""

    id: str
    # The archive; None while training, or for a model whose training failed.
    path: Path | None
    status: str
    created_at: float
    created_by: str
    stage: str | None = None
    method: str | None = None  # "finetune" or "full"
    base_model_id: str | None = None
    data_digest: str | None = None
    config_digest: str | None = None
    corrections_count: int | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    log_path: Path | None = None
    pid: int | None = None
    host: str | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None
    # True for the project's model before any row was written for it (see adopt_initial).
    adopted: bool = True

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.created_at, tz=dt.timezone.utc)

    @property
    def corrections_path(self) -> Path | None:
        """The corrections file it was trained with (a Rasa NLU file beside the archive)."""
        if self.log_path is None:
            return None
        return self.log_path.with_name(f"{self.id}.corrections.yml")


@dataclass(frozen=True)
class Deployment:
    """Who put which model live, when, and which one it replaced."""

    id: int
    model_id: str
    action: str  # "deploy" or "rollback"
    deployed_by: str
    deployed_at: float
    previous_model_id: str | None

    @property
    def deployed(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.deployed_at, tz=dt.timezone.utc)

    @property
    def day(self) -> dt.date:
        """The UTC day, as the dashboard counts days."""
        return self.deployed.date()


def store_directory(store_dir: Path | str | None = None) -> Path:
    """`store_dir`, or MODEL_STORE_DIR; created when missing."""
    path = Path(store_dir or current().stores.model_store_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_model_id(now: float | None = None) -> str:
    """ "20261207-0815-3f2a": the UTC minute it was started, then random hex, so ids sort by
    time and two jobs started in the same minute still differ."""
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.timezone.utc)
    return f"{moment:%Y%m%d-%H%M}-{secrets.token_hex(2)}"


# --- Reading -----------------------------------------------------------------------------


def model_version(row: Any, store_dir: Path) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        path=store_dir / row.file_name if row.file_name else None,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        stage=row.stage,
        method=row.method,
        base_model_id=row.base_model_id,
        data_digest=row.data_digest,
        config_digest=row.config_digest,
        corrections_count=row.corrections_count,
        evaluation=json.loads(row.evaluation or "{}"),
        reasons=json.loads(row.reasons or "[]"),
        log_path=Path(row.log_path) if row.log_path else None,
        pid=row.pid,
        host=row.host,
        heartbeat_at=row.heartbeat_at,
        finished_at=row.finished_at,
    )


def _project_version(initial: Path) -> ModelVersion | None:
    """The project's model as it is on disk, before it has a row."""
    if not initial.exists():
        return None
    return ModelVersion(
        id=INITIAL_ID,
        path=initial,
        status="live",
        created_at=initial.stat().st_mtime,
        created_by=INITIAL_CREATOR,
        adopted=False,
    )


def list_models(
    engine: Engine, store_dir: Path, initial: Path = PROJECT_MODEL
) -> list[ModelVersion]:
    """Every model and job, newest first; the project's model when nothing was adopted yet."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(models).order_by(models.c.created_at.desc()))
        found = [model_version(row, store_dir) for row in rows]
    if not any(version.status == "live" or version.id == INITIAL_ID for version in found):
        project = _project_version(initial)
        found += [project] if project else []
    return found


def get_model(engine: Engine, store_dir: Path, model_id: str) -> ModelVersion | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(models).where(models.c.id == model_id)).first()
    return model_version(row, store_dir) if row else None


def live_model(
    engine: Engine, store_dir: Path, initial: Path = PROJECT_MODEL
) -> ModelVersion | None:
    """The model the assistant should run: the live row's, else (nothing adopted yet) the
    project's models/ecrin.tar.gz; None when there is neither."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(models).where(models.c.status == "live")).first()
        if row is not None:
            return model_version(row, store_dir)
        adopted = connection.execute(
            sa.select(models.c.id).where(models.c.id == INITIAL_ID)
        ).first()
    return None if adopted else _project_version(initial)


def model_file(
    engine: Engine, store_dir: Path, model_id: str, initial: Path = PROJECT_MODEL
) -> Path | None:
    """The archive of `model_id` when it exists on disk (the project's model for "initial"
    before its adoption)."""
    version = get_model(engine, store_dir, model_id)
    if version is None and model_id == INITIAL_ID:
        version = _project_version(initial)
    if version is None or version.path is None or not version.path.exists():
        return None
    return version.path


def list_deployments(
    engine: Engine, since: float | None = None, until: float | None = None
) -> list[Deployment]:
    """Deployments and rollbacks, oldest first, between `since` and `until` (epoch seconds)."""
    query = sa.select(deployments).order_by(deployments.c.deployed_at, deployments.c.id)
    if since is not None:
        query = query.where(deployments.c.deployed_at >= since)
    if until is not None:
        query = query.where(deployments.c.deployed_at < until)
    with engine.connect() as connection:
        return [Deployment(**row._mapping) for row in connection.execute(query)]


# --- Going live ----------------------------------------------------------------------------


def adopt_initial(
    engine: Engine,
    store_dir: Path,
    initial: Path = PROJECT_MODEL,
    data_digest: str | None = None,
    config_digest: str | None = None,
) -> ModelVersion | None:
    """Give the project's model its row, live, with a copy of its archive in the store, when
    no model is live and it has none yet; the live model either way (None: there is none).

    Copied rather than referenced: `make train` rewrites models/ecrin.tar.gz in place, and
    the version staff roll back to must be the one that was live."""
    live = live_model(engine, store_dir, initial)
    if live is None or live.adopted:
        return live
    file_name = f"{INITIAL_ID}.tar.gz"
    modified = _copy_whole(initial, store_dir / file_name)
    now = time.time()
    try:
        with engine.begin() as connection:
            connection.execute(
                models.insert().values(
                    id=INITIAL_ID,
                    file_name=file_name,
                    status="live",
                    created_at=modified,
                    created_by=INITIAL_CREATOR,
                    data_digest=data_digest,
                    config_digest=config_digest,
                    log_path=str(store_dir / f"{INITIAL_ID}.log"),
                    finished_at=now,
                )
            )
    except IntegrityError:
        pass  # adopted at the same moment by another process
    return live_model(engine, store_dir, initial)


def whole_archive(path: Path) -> bool:
    """Whether `path` is a complete gzipped tar: its members, then the compressed stream read
    to its end (a file cut short ends before gzip's trailer)."""
    try:
        with gzip.open(path) as stream:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for _ in archive:
                    pass
            while stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error):
        return False
    return True


def _copy_whole(source: Path, target: Path, attempts: int = 3) -> float:
    """Copy an archive another process may be writing (`make train` writes it in place);
    the source's modification time. A copy counts when the source did not change while it was
    read and the copy is whole; ModelStoreError after `attempts` tries."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    for attempt in range(attempts):
        before = source.stat()
        shutil.copyfile(source, partial)
        after = source.stat()
        unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        if unchanged and whole_archive(partial):
            os.replace(partial, target)  # whole or not at all
            return before.st_mtime
        if attempt + 1 < attempts:
            time.sleep(2 * (attempt + 1))
    partial.unlink(missing_ok=True)
    raise ModelStoreError(f"{source} is being written (make train?): try again when it is done.")


def set_live(
    engine: Engine,
    model_id: str,
    by: str,
    action: str = "deploy",
    store_dir: Path | None = None,
    initial: Path = PROJECT_MODEL,
) -> Deployment:
    """Put `model_id` live in place of the live model (which becomes "retired"), and record
    who did it; ModelStoreError says why not (unknown, still training, refused by the gate,
    already live, archive missing)."""
    if action not in ("deploy", "rollback"):
        raise ValueError(f"unknown action {action!r}")
    store_dir = store_directory(store_dir)
    # The project's model needs its row first, or it could never be rolled back to.
    adopt_initial(engine, store_dir, initial)
    try:
        with engine.begin() as connection:
            return _swap(connection, store_dir, model_id, by, action)
    except IntegrityError as error:
        # Two deployments at once: the partial unique index let only one through.
        raise ModelStoreError(
            "Another deployment happened at the same moment; reload and try again."
        ) from error


def _swap(
    connection: Connection, store_dir: Path, model_id: str, by: str, action: str
) -> Deployment:
    row = connection.execute(
        sa.select(models).where(models.c.id == model_id).with_for_update()
    ).first()
    if row is None:
        raise ModelStoreError(f"There is no model {model_id}.")
    if row.status == "live":
        raise ModelStoreError(f"Model {model_id} is already live.")
    if row.status not in DEPLOYABLE:
        why = "; ".join(json.loads(row.reasons or "[]")) or "no archive"
        raise ModelStoreError(f"Model {model_id} cannot go live: it is {row.status} ({why}).")
    if not row.file_name or not (store_dir / row.file_name).exists():
        raise ModelStoreError(f"The archive of model {model_id} is missing from {store_dir}.")
    previous = connection.execute(
        sa.select(models.c.id).where(models.c.status == "live").with_for_update()
    ).scalar()
    now = time.time()
    connection.execute(models.update().where(models.c.status == "live").values(status="retired"))
    connection.execute(models.update().where(models.c.id == model_id).values(status="live"))
    values = {
        "model_id": model_id,
        "action": action,
        "deployed_by": by,
        "deployed_at": now,
        "previous_model_id": previous,
    }
    new_id = connection.execute(deployments.insert().values(**values)).inserted_primary_key[0]
    return Deployment(id=new_id, **values)


def rollback(
    engine: Engine,
    to_id: str | None,
    by: str,
    store_dir: Path | None = None,
    initial: Path = PROJECT_MODEL,
) -> Deployment:
    """Put an earlier live model back (default: the one the last deployment replaced)."""
    if to_id is None:
        with engine.connect() as connection:
            to_id = connection.execute(
                sa.select(deployments.c.previous_model_id)
                .order_by(deployments.c.deployed_at.desc(), deployments.c.id.desc())
                .limit(1)
            ).scalar()
        if to_id is None:
            raise ModelStoreError("No deployment replaced a model yet: nothing to roll back to.")
    version = get_model(engine, store_directory(store_dir), to_id)
    if version is not None and version.status != "retired":
        raise ModelStoreError(
            f"Model {to_id} was never live ({version.status}): roll back only to an earlier "
            "live model; deploy a candidate with `bot models deploy`."
        )
    return set_live(engine, to_id, by, "rollback", store_dir, initial)
