"""The trained models (editors and admins): the live one and its figures, the corrections it
has not learnt yet, "Train and deploy", the running job's stage and log, every earlier model
with its figures or the gate's reasons, and "Roll back to this".

The training job (bot/training.py) loads Rasa, which the review app never does: the app only
takes the job's lock (its row, bot.model_jobs.claim_training) and starts `bot models train
--job ID` in the background (ReviewSettings.training_command), then reads the job's row and
log file. While a job runs the page reloads itself every REFRESH_SECONDS (a <meta> refresh:
the Content-Security-Policy allows no script).
"""

from __future__ import annotations

import difflib
import os
import socket
import subprocess
import threading
from pathlib import Path

from starlette.responses import Response

from bot.corrections_file import not_yet_trained, read_corrections_file
from bot.model_jobs import JobRunning, claim_training, finish_job, job_alive, update_job
from bot.model_store import ModelStoreError, ModelVersion, list_deployments, list_models, rollback
from bot.review.config import ReviewSettings
from bot.review.context import Context
from bot.review.nlu import training_examples
from bot.settings import PROJECT_ROOT
from bot.tracker_db.corrections import list_corrections

REFRESH_SECONDS = 10
LOG_TAIL_LINES = 40
RECENT_DEPLOYMENTS = 20


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The end of a job's log (its last `lines` lines; Rasa's are long, so read the last
    64 KiB only)."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as log:
        log.seek(max(0, path.stat().st_size - 65_536))
        text = log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def corrections_diff(version: ModelVersion, base: ModelVersion | None) -> str:
    """What `version`'s corrections file changes from its base model's (the live one when it
    was trained): the reviewable change of its training data, as a unified diff."""
    mine = version.corrections_path
    if mine is None or not mine.exists():
        return ""
    theirs = base.corrections_path if base else None
    before = theirs.read_text(encoding="utf-8") if theirs and theirs.exists() else ""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            mine.read_text(encoding="utf-8").splitlines(keepends=True),
            fromfile=f"{base.id if base else 'none'}.corrections.yml",
            tofile=f"{version.id}.corrections.yml",
        )
    )


def models_page(context: Context) -> Response:
    settings: ReviewSettings = context.state.settings
    versions = list_models(context.engine, settings.model_store_dir)
    by_id = {version.id: version for version in versions}
    live = next((version for version in versions if version.status == "live"), None)
    job = next((version for version in versions if version.status == "training"), None)
    running = job is not None and job_alive(job)
    trained = read_corrections_file(live.corrections_path) if live else []
    pending = not_yet_trained(
        list_corrections(context.engine), training_examples(settings.nlu_dir), trained
    )
    diffs = {
        version.id: corrections_diff(version, by_id.get(version.base_model_id or ""))
        for version in versions
        if version.status != "training"
    }
    deployments = list_deployments(context.engine)[-RECENT_DEPLOYMENTS:][::-1]
    return context.render(
        "models.html",
        section="models",
        live=live,
        job=job,
        running=running,
        log=log_tail(job.log_path) if job else "",
        earlier=[version for version in versions if version.status not in ("live", "training")],
        pending=pending,
        diffs=diffs,
        deployments=deployments,
        refresh=REFRESH_SECONDS if running else None,
    )


def start_job(settings: ReviewSettings, job: ModelVersion) -> int:
    """Start the training command for `job` in the background, its output in the job's log;
    its process id. The job's process outlives a restart of the app (its own session); a
    thread reaps it when it ends, so its id stops counting as alive."""
    assert job.log_path is not None
    env = {**os.environ, "TRACKER_STORE_URL": settings.database_url}
    env["MODEL_STORE_DIR"] = str(settings.model_store_dir)
    if settings.lookup_database_url:
        env["DATABASE_URL"] = settings.lookup_database_url
    with job.log_path.open("ab") as log:
        process = subprocess.Popen(
            [*settings.training_command, job.id],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    threading.Thread(target=process.wait, name=f"training {job.id}", daemon=True).start()
    return process.pid


def models_train(context: Context) -> Response:
    settings: ReviewSettings = context.state.settings
    store = settings.model_store_dir
    store.mkdir(parents=True, exist_ok=True)
    try:
        job = claim_training(context.engine, store, context.who)
    except JobRunning as running:
        context.flash(str(running), "error")
        return context.redirect("/models")
    try:
        pid = start_job(settings, job)
    except OSError as error:
        finish_job(context.engine, job.id, "failed", [f"The job could not start: {error}"])
        context.flash(f"The training job could not start: {error}", "error")
        return context.redirect("/models")
    update_job(context.engine, job.id, pid=pid, host=socket.gethostname())
    context.flash(
        f"Training of model {job.id} started. It goes live only if the gate lets it through; "
        "this page follows it."
    )
    return context.redirect("/models")


def models_rollback(context: Context) -> Response:
    settings: ReviewSettings = context.state.settings
    model_id = context.field("id")
    if not model_id:
        context.flash("Choose the model to roll back to.", "error")
        return context.redirect("/models")
    try:
        done = rollback(context.engine, model_id, context.who, settings.model_store_dir)
    except ModelStoreError as error:
        context.flash(str(error), "error")
    else:
        context.flash(
            f"Model {done.model_id} is live again in place of {done.previous_model_id}; "
            "the replicas pick it up at their next check."
        )
    return context.redirect("/models")
