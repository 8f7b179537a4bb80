"""The /models page on the real app and a real database: who may see and use it, the live model
and the corrections it has not learnt, "Train and deploy" (which starts the job command in the
background, one at a time), earlier models with the gate's reasons and their corrections diff,
"Roll back to this", and the dashboard's marks of each deployment.

The job command here only prints its id (tests/review/conftest.py, NO_TRAINING) or sleeps:
tests/test_training.py trains real models.
"""

from __future__ import annotations

import html
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot import model_store
from bot.model_jobs import claim_training, finish_job, job_alive, running_job, update_job
from bot.model_store import INITIAL_ID, set_live
from bot.review.accounts import add_staff
from bot.tracker_db.corrections import add_correction
from bot.tracker_db.engine import get_engine
from tests.model_archives import stand_in_archive
from tests.review.conftest import ADMIN, EDITOR, REVIEWER, Staff, logged_in

NEW_WORDING = "is the dummy pill in a study just sugar"
KNOWN_WORDING = "explain clinical trials"  # an example of data/nlu/faq_trials.yml


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def engine(seeded_sqlite: str) -> Engine:
    engine = get_engine(seeded_sqlite)
    add_staff(engine, *EDITOR, role="editor")
    return engine


def staff(url: str, store: Path, account: tuple[str, str] = EDITOR, **overrides) -> Staff:
    return logged_in(url, account, model_store_dir=store, **overrides)


def adopted(engine: Engine, store: Path, tmp_path: Path) -> None:
    """The project's model adopted from a stand-in archive (the registry never opens it)."""
    initial = stand_in_archive(tmp_path / "ecrin.tar.gz")
    model_store.adopt_initial(engine, store, initial, data_digest="0123456789abcdef")


def trained(
    engine: Engine, store: Path, corrections: str = "", status: str = "candidate", by: str = "ada"
) -> str:
    """A model whose job ended as `status`, trained on the live model with `corrections`."""
    job = claim_training(engine, store, by)
    (store / f"{job.id}.tar.gz").write_bytes(b"archive")
    job.corrections_path.write_text(corrections, encoding="utf-8")
    update_job(engine, job.id, file_name=f"{job.id}.tar.gz", method="finetune")
    update_job(engine, job.id, base_model_id=INITIAL_ID, corrections_count=1)
    reasons = ["FAQ selection accuracy on the held-out split fell from 89.2% (live) to 80.1%."]
    finish_job(
        engine,
        job.id,
        status,
        reasons if status == "rejected" else [],
        evaluation={
            "figures": {
                "intent_accuracy": 0.9396,
                "faq_accuracy": 0.801 if status == "rejected" else 0.9038,
                "held_out": 563,
                "safety_accuracy": 1.0,
                "safety_cases": 250,
                "by_language": {
                    "en": {"answer_accuracy": 0.9172, "examples": 563},
                    "de": {"answer_accuracy": 0.8941, "examples": 439},
                },
            }
        },
    )
    return job.id


def model_store_log(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_only_editors_and_admins_see_the_page_and_its_link(
    seeded_sqlite: str, engine: Engine, store: Path
) -> None:
    reviewer = staff(seeded_sqlite, store, REVIEWER)
    assert reviewer.client.get("/models").status_code == 403
    assert 'href="/models"' not in reviewer.client.get("/").text
    for account in (EDITOR, ADMIN):
        page = staff(seeded_sqlite, store, account).client.get("/models")
        assert page.status_code == 200 and 'href="/models"' in page.text
        assert "Train and deploy" in page.text
        assert 'http-equiv="refresh"' not in page.text  # nothing runs


def test_the_page_shows_the_live_model_and_the_corrections_it_has_not_learnt(
    seeded_sqlite: str, engine: Engine, store: Path, tmp_path: Path
) -> None:
    adopted(engine, store, tmp_path)
    add_correction(engine, NEW_WORDING, "faq_trials/placebo", "ada")
    add_correction(engine, KNOWN_WORDING, "faq_trials/what_is_trial", "ada")
    page = html.unescape(staff(seeded_sqlite, store).client.get("/models").text)
    live = page[page.index('id="live-model"') : page.index('id="pending"')]
    assert "initial" in live and "0123456789abcdef" in live and "models/ecrin.tar.gz" in live
    pending = page[page.index('id="pending"') : page.index('id="earlier"')]
    assert NEW_WORDING in pending and "faq_trials/placebo" in pending
    assert KNOWN_WORDING not in pending  # already a training example

    # Once a live model was trained with it, it is no longer pending.
    first = trained(
        engine,
        store,
        f'version: "3.1"\nnlu:\n- intent: faq_trials/placebo\n  examples: |\n    - {NEW_WORDING}\n',
    )
    set_live(engine, first, "ada", store_dir=store)
    page = html.unescape(staff(seeded_sqlite, store).client.get("/models").text)
    assert NEW_WORDING not in page[page.index('id="pending"') : page.index('id="earlier"')]
    assert f"+    - {NEW_WORDING}" in page  # the diff of its corrections file
    assert "intent 94.0%, FAQ 90.4%, safety 100%" not in page  # the live one is at the top
    assert "94.0%" in page[page.index('id="live-model"') : page.index('id="pending"')]
    assert "en 91.7%, de 89.4%" in page[page.index('id="live-model"') : page.index('id="pending"')]


def test_train_and_deploy_starts_one_job_in_the_background(
    seeded_sqlite: str, engine: Engine, store: Path
) -> None:
    editor = staff(seeded_sqlite, store)
    reply = editor.post("/models/train", {})
    assert reply.status_code == 303 and reply.headers["location"] == "/models"
    job = running_job(engine, store)
    assert job is not None and job.created_by == EDITOR[0] and job.pid
    # The job command got the job's id, its output goes to the job's log.
    deadline = time.monotonic() + 30
    while f"training job {job.id}" not in (
        job.log_path.read_text() if job.log_path.exists() else ""
    ):
        assert time.monotonic() < deadline, "the job command never ran"
        time.sleep(0.1)
    page = editor.client.get("/models").text
    assert f"Training {job.id}" in page and f"training job {job.id}" in page
    assert "Training of model" in page  # the flash


def test_a_second_training_is_refused_while_one_runs(
    seeded_sqlite: str, engine: Engine, store: Path
) -> None:
    sleeping = (sys.executable, "-c", "import time; time.sleep(60)")
    editor = staff(seeded_sqlite, store, training_command=sleeping)
    admin = staff(seeded_sqlite, store, ADMIN, training_command=sleeping)
    editor.post("/models/train", {})
    job = running_job(engine, store)
    try:
        page = admin.client.get("/models").text
        assert 'http-equiv="refresh" content="10"' in page  # follows the job
        assert "Train and deploy</button>" not in page and "stage: <strong>queued" in page
        reply = admin.post("/models/train", {})
        assert reply.status_code == 303
        refused = html.unescape(admin.client.get("/models").text)
        assert f"Model {job.id} is being trained (started by {EDITOR[0]}" in refused
        assert running_job(engine, store).id == job.id
    finally:
        os.kill(job.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while job_alive(model_store.get_model(engine, store, job.id)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page = admin.client.get("/models").text
    assert "<strong>stopped</strong>" in page and "Train and deploy</button>" in page
    assert 'http-equiv="refresh"' not in page


def test_earlier_models_show_their_reasons_and_roll_back_in_one_click(
    seeded_sqlite: str, engine: Engine, store: Path, tmp_path: Path
) -> None:
    adopted(engine, store, tmp_path)
    refused = trained(engine, store, status="rejected")
    first = trained(engine, store)
    set_live(engine, first, "ada", store_dir=store)
    editor = staff(seeded_sqlite, store)
    page = html.unescape(editor.client.get("/models").text)
    earlier = page[page.index('id="earlier"') : page.index('id="deployments"')]
    assert "fell from 89.2% (live) to 80.1%" in earlier and refused in earlier
    assert earlier.count("Roll back to this") == 1  # the initial model, once live

    reply = editor.post("/models/rollback", {"id": INITIAL_ID})

    assert reply.status_code == 303
    assert model_store.live_model(engine, store).id == INITIAL_ID
    audit = html.unescape(editor.client.get("/models").text)
    assert f"Model {INITIAL_ID} is live again in place of {first}" in audit
    deployments = audit[audit.index('id="deployments"') :]
    assert f"<td>rollback</td><td>{INITIAL_ID}</td><td>{first}</td><td>{EDITOR[0]}</td>" in (
        deployments
    )
    editor.post("/models/rollback", {"id": refused})
    assert "was never live (rejected)" in html.unescape(editor.client.get("/models").text)
    assert model_store.live_model(engine, store).id == INITIAL_ID


def test_the_dashboard_marks_each_deployment_on_its_charts(
    seeded_sqlite: str, engine: Engine, store: Path, tmp_path: Path
) -> None:
    adopted(engine, store, tmp_path)
    first = trained(engine, store)
    set_live(engine, first, "ada", store_dir=store)
    page = staff(seeded_sqlite, store, REVIEWER).client.get("/dashboard?days=7").text
    label = f"UTC: deploy of model {first} by ada"
    # One dashed line on each daily chart, and the list above them.
    assert page.count('<line class="marker"') == 5
    assert page.count(label) == 6
    assert staff(seeded_sqlite, store, REVIEWER).client.get("/dashboard").text.count(label) == 6
