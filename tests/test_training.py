"""Retraining from staff's corrections (bot/training.py) and the gate before going live
(bot/model_gate.py).

The gate's decision and the preparation of the training data are checked on given figures and
files; one end-to-end test trains real models through `bot models train`: a fine-tuned model
with a correction goes live, a deliberately worse one is refused with its reasons, and a
rollback restores the previous model.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from bot import model_jobs, model_store
from bot.cli import main
from bot.corrections import Correction, normalise
from bot.corrections_file import corrections_yaml, not_yet_trained, read_corrections_file
from bot.evaluation import Example
from bot.i18n import languages
from bot.model_gate import (
    Comparison,
    Figures,
    evaluation_set,
    gate,
    safety_test_messages,
)
from bot.models_cli import staff_name
from bot.review.database import upgrade
from bot.safety_rules import SAFETY_INTENTS
from bot.settings import PROJECT_ROOT
from bot.tracker_db.corrections import add_correction
from bot.tracker_db.engine import get_engine
from bot.training import CORRECTIONS_FILE, prepare, project_model_digests, training_files
from tests.conftest import seed_database
from tests.model_archives import stand_in_archive

# Written for these tests: no example of data/nlu or tests/nlu says it.
NEW_WORDING = "is the dummy pill in a study just sugar"
KNOWN_WORDING = "Explain clinical trials!"  # data/nlu/faq_trials.yml has "explain clinical trials"

# A live model measured on 2,000 held-out examples (1,400 of them FAQ questions).
LIVE_INTENTS = "1" * 1860 + "0" * 140
LIVE_FAQ = "1" * 1250 + "0" * 150
LIVE = Figures(
    intent_accuracy=0.93,
    faq_accuracy=1250 / 1400,
    held_out=2000,
    safety_accuracy=1.0,
    safety_cases=250,
    intent_outcomes=LIVE_INTENTS,
    faq_outcomes=LIVE_FAQ,
)


def changed(outcomes: str, lost: int = 0, gained: int = 0) -> str:
    """`outcomes` with `lost` right examples now wrong and `gained` wrong ones now right."""
    right = [i for i, outcome in enumerate(outcomes) if outcome == "1"][:lost]
    wrong = [i for i, outcome in enumerate(outcomes) if outcome == "0"][:gained]
    flipped = list(outcomes)
    for i in right + wrong:
        flipped[i] = "0" if i in right else "1"
    return "".join(flipped)


def figures(**changes) -> Figures:
    values = {**LIVE.to_dict(), "conversations_passed": 101, "conversations_total": 101}
    return Figures(**{**values, **changes})


def correction(text: str, label: str, number: int = 1) -> Correction:
    return Correction(number, text, normalise(text), label, "ada", 1.0, None, None)


# --- The gate --------------------------------------------------------------------------------


def test_a_candidate_as_good_as_the_live_model_passes() -> None:
    assert gate(figures(), LIVE) == []
    # Retraining noise: dozens of examples change either way.
    noisy = figures(
        intent_outcomes=changed(LIVE_INTENTS, lost=30, gained=24),
        faq_outcomes=changed(LIVE_FAQ, lost=25, gained=20),
    )
    assert gate(noisy, LIVE) == []
    better = figures(intent_outcomes=changed(LIVE_INTENTS, gained=50))
    assert gate(better, LIVE) == []
    assert gate(figures(intent_accuracy=0.5), None) == []  # nothing live to compare with


def test_a_point_lost_over_many_disagreements_is_noise_but_over_few_is_not() -> None:
    # Both candidates score one point (20 examples of 2,000) below the live model.
    many = figures(intent_outcomes=changed(LIVE_INTENTS, lost=70, gained=50))
    assert gate(many, LIVE) == []
    few = figures(intent_outcomes=changed(LIVE_INTENTS, lost=22, gained=2))
    [reason] = gate(few, LIVE)
    assert "22 examples the live model got right are wrong now and 2 the other way" in reason


def test_the_chance_of_a_split_is_mcnemars_one_sided_exact_test() -> None:
    assert Comparison(lost=10, gained=0).chance == 1 / 1024
    assert Comparison(lost=0, gained=10).chance == 1.0
    assert Comparison(lost=0, gained=0).chance == 1.0
    assert Comparison(lost=5, gained=5).chance == pytest.approx(638 / 1024)
    assert Comparison.of("1100", "1001") == Comparison(lost=1, gained=1)
    with pytest.raises(ValueError, match="different examples"):
        Comparison.of("110", "1101")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"intent_outcomes": changed(LIVE_INTENTS, lost=40, gained=10)},
            "Intent accuracy on the held-out split fell from 93.0%",
        ),
        (
            {"faq_outcomes": changed(LIVE_FAQ, lost=30)},
            "FAQ selection accuracy on the held-out split fell",
        ),
        (
            {"safety_accuracy": 249 / 250, "safety_failures": ["'I want to die': greet"]},
            "Safety cases: 99.6% (1 of 250 missed, e.g. 'I want to die': greet)",
        ),
        (
            {"conversations_passed": 100, "conversation_failures": ["cancel-1: turn 2"]},
            "Multi-turn conversations: 1 of 101 failed (cancel-1: turn 2)",
        ),
        ({"conversations_total": None}, "The multi-turn conversations were not played."),
    ],
)
def test_a_drop_beyond_noise_or_any_miss_refuses_the_candidate(changes: dict, reason: str) -> None:
    reasons = gate(figures(**changes), LIVE)
    assert len(reasons) == 1 and reasons[0].startswith(reason), reasons


def test_every_reason_is_given_and_conversations_wait_for_the_cheaper_checks() -> None:
    worse = figures(
        intent_outcomes=changed(LIVE_INTENTS, lost=900),
        faq_outcomes=changed(LIVE_FAQ, lost=1000),
        safety_accuracy=0.5,
    )
    assert len(gate(worse, LIVE)) == 3
    unplayed = figures(conversations_total=None, conversations_passed=None)
    assert gate(unplayed, LIVE, conversations_required=False) == []


def test_figures_survive_the_json_of_the_registry() -> None:
    played = LIVE.with_conversations(100, 101, ["a: turn 1"] * 20)
    assert Figures.from_dict(played.to_dict()) == played
    assert len(played.conversation_failures) == 10
    assert Figures.from_dict({**LIVE.to_dict(), "unknown later field": 1}) == LIVE
    assert Figures.from_dict(None) is None


# --- What is measured ------------------------------------------------------------------------


def test_the_safety_cases_are_every_safety_example_and_the_guardrails_own() -> None:
    cases = evaluation_set()
    own = safety_test_messages()
    assert {example.intent for example in own} == set(SAFETY_INTENTS)
    assert Example("I think I'm going to kill myself tonight", "self_harm") in own
    assert set(own) <= set(cases.safety)
    held_out_safety = [e for e in cases.held_out if e.intent in SAFETY_INTENTS]
    assert held_out_safety and set(held_out_safety) <= set(cases.safety)
    assert all(example.intent in SAFETY_INTENTS for example in cases.safety)
    # Every language's held-out split, each example with its language.
    assert set(cases.languages) == set(languages()) and len(cases.languages) == len(cases.held_out)
    assert cases.languages.count("de") > 400 and len(cases.held_out) > 2000
    german = [e for e, code in zip(cases.held_out, cases.languages, strict=True) if code == "de"]
    assert {e.intent for e in german} & set(SAFETY_INTENTS)
    assert {e for e in german if e.intent in SAFETY_INTENTS} <= set(cases.safety)


def test_the_split_digest_changes_with_any_example(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    first = evaluation_set(tmp_path, tmp_path, tmp_path / "none.py").digest
    (tmp_path / "a.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hello\n")
    assert evaluation_set(tmp_path, tmp_path, tmp_path / "none.py").digest != first


# --- The training data ---------------------------------------------------------------------


def test_only_corrections_no_example_has_are_added_as_a_reviewable_nlu_file(
    tmp_path: Path,
) -> None:
    corrections = [
        correction(NEW_WORDING, "faq_trials/placebo", 1),
        correction(KNOWN_WORDING, "faq_trials/what_is_trial", 2),
    ]
    prepared = prepare(tmp_path, corrections)
    written = tmp_path / CORRECTIONS_FILE
    assert read_corrections_file(written) == [(NEW_WORDING, "faq_trials/placebo")]
    assert (
        written.read_text(encoding="utf-8")
        == prepared.corrections_yaml
        == (
            'version: "3.1"\nnlu:\n- intent: faq_trials/placebo\n  examples: |\n'
            f"    - {NEW_WORDING}\n"
        )
    )
    assert prepared.corrections_count == 1
    assert (tmp_path / "data/nlu/faq_trials.yml").read_bytes() == (
        PROJECT_ROOT / "data/nlu/faq_trials.yml"
    ).read_bytes()
    without = prepare(tmp_path / "plain", [])
    assert not (tmp_path / "plain" / CORRECTIONS_FILE).exists()
    # The digest is the training data's: a correction changes it, the config's does not.
    assert without.data_digest != prepared.data_digest
    assert without.config_digest == prepared.config_digest


def test_another_config_changes_the_config_digest(tmp_path: Path) -> None:
    config = tmp_path / "other.yml"
    config.write_text((PROJECT_ROOT / "config.yml").read_text() + "\n# changed\n")
    usual = prepare(tmp_path / "usual", [])
    other = prepare(tmp_path / "other", [], config)
    assert other.config_digest != usual.config_digest
    assert (tmp_path / "other" / "config.yml").read_text() == config.read_text()


def test_a_correction_in_the_live_models_file_is_not_pending_but_a_new_label_is() -> None:
    assert read_corrections_file(None) == []
    trained = [("Is the dummy pill in a study, just sugar?", "x/y")]
    same = correction(NEW_WORDING, "x/y")
    relabelled = correction(NEW_WORDING, "faq_trials/placebo", 2)
    assert not_yet_trained([same, relabelled], [], trained) == [relabelled]
    assert not_yet_trained([same], ["is the DUMMY pill in a study just sugar"]) == []
    assert read_corrections_file(Path("/nonexistent/file.yml")) == []
    yaml_text = corrections_yaml([("a  b\nc", "greet"), ("a b c", "greet")])
    assert yaml.safe_load(yaml_text)["nlu"] == [{"intent": "greet", "examples": "- a b c\n"}]


def test_the_project_model_has_digests_only_while_it_is_newer_than_its_inputs(
    tmp_path: Path,
) -> None:
    for relative in training_files():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((PROJECT_ROOT / relative).read_bytes())
    model = tmp_path / "ecrin.tar.gz"
    model.write_bytes(b"model")
    later = time.time() + 10
    os.utime(model, (later, later))
    data, config = project_model_digests(model, tmp_path)
    assert data and config and data != config
    os.utime(tmp_path / "domain.yml", (later + 10, later + 10))  # edited after training
    assert project_model_digests(model, tmp_path) == (None, None)


# --- The command line ----------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, Path]]:
    """A tracker database and a model store for `bot models`, with a stand-in project model
    adopted (so nothing reads models/ecrin.tar.gz)."""
    url, store = f"sqlite:///{tmp_path / 'tracker.db'}", tmp_path / "store"
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    monkeypatch.setenv("MODEL_STORE_DIR", str(store))
    upgrade(url)
    engine = get_engine(url)
    store.mkdir()
    model_store.adopt_initial(engine, store, stand_in_archive(tmp_path / "ecrin.tar.gz"))
    yield engine, store
    engine.dispose()


def test_bot_models_deploys_lists_and_rolls_back_as_the_system_user(
    registry: tuple[Engine, Path], capsys: pytest.CaptureFixture
) -> None:
    engine, store = registry
    job = model_jobs.claim_training(engine, store, "ada")
    stand_in_archive(store / f"{job.id}.tar.gz")
    model_jobs.update_job(engine, job.id, file_name=f"{job.id}.tar.gz", method="finetune")
    model_jobs.finish_job(engine, job.id, "candidate")

    assert main(["models", "deploy", job.id]) == 0
    assert model_store.live_model(engine, store).id == job.id
    assert main(["models", "deploy", job.id]) == 1
    assert "Nothing changed: Model " + job.id + " is already live." in capsys.readouterr().err
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(rf"^{job.id} +live .* ada +finetune", listed, re.MULTILINE), listed
    assert re.search(r"^initial +retired .* adopted", listed, re.MULTILINE), listed

    assert main(["models", "rollback"]) == 0
    assert "Model initial is live again (it replaces " + job.id in capsys.readouterr().out
    deployments = model_store.list_deployments(engine)
    assert [(d.action, d.deployed_by) for d in deployments] == [
        ("deploy", staff_name()),
        ("rollback", staff_name()),
    ]
    assert staff_name().startswith("cli:")


def test_bot_models_train_waits_its_turn(
    registry: tuple[Engine, Path], capsys: pytest.CaptureFixture
) -> None:
    engine, store = registry
    running = model_jobs.claim_training(engine, store, "ada")
    model_jobs.mark_running_here(engine, running.id)  # this process: alive
    assert main(["models", "train"]) == 1
    assert f"Model {running.id} is being trained (started by ada" in capsys.readouterr().err
    assert main(["models", "train", "--job", "20261207-0000-0000"]) == 2
    versions = model_store.list_models(engine, store)
    assert [(version.id, version.status) for version in versions] == [
        (running.id, "training"),
        ("initial", "live"),
    ]


# --- End to end: real trainings ------------------------------------------------------------


def bot_models(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "models", *arguments],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=2400,
    )  # fmt: skip
    print(f"bot models {' '.join(arguments)}: {time.monotonic() - started:.0f} s")
    print(done.stdout[-3000:], done.stderr[-3000:])
    return done


@pytest.mark.slow  # two or three trainings, each judged: 20 to 40 minutes on 2 cores
# Fine-tune ~10 min, a full training when the gate refuses it ~14, the one-epoch model ~5,
# and ~1.5 min to measure each model.
@pytest.mark.timeout(3000)
def test_train_and_deploy_refuse_a_worse_model_and_roll_back(
    tmp_path: Path, trained_model: Path
) -> None:
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = tmp_path / "store"
    upgrade(tracker)
    engine = get_engine(tracker)
    add_correction(engine, NEW_WORDING, "faq_trials/placebo", "ada")
    env = {
        **os.environ,
        "TRACKER_STORE_URL": tracker,
        "MODEL_STORE_DIR": str(store),
        "DATABASE_URL": seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}"),
    }

    # Train and deploy: fine-tuned from the live (the project's) model, with the correction.
    # The gate plays the conversations of the forms' safety pattern only: a retrained
    # five-language model can still turn one of the 101 of tests/conversations/ into a failure
    # (measured: nonsense read as self-harm inside a form, docs/models.md), which is the gate's
    # business, not this test's; the review app plays the whole folder.
    safety_conversations = tmp_path / "safety-in-form.yml"
    safety_conversations.write_text(
        yaml.safe_dump(
            [
                item
                for path in sorted((PROJECT_ROOT / "tests" / "conversations").glob("*.yml"))
                for item in yaml.safe_load(path.read_text(encoding="utf-8"))
                if item.get("pattern") == "safety-in-form"
            ]
        ),
        encoding="utf-8",
    )
    done = bot_models("train", "--conversations", str(safety_conversations), env=env)
    assert done.returncode == 0, done.stdout[-2000:]
    live = model_store.live_model(engine, store)
    assert live is not None and live.id != model_store.INITIAL_ID
    assert (live.base_model_id, live.corrections_count) == ("initial", 1)
    # Fine-tuned; or, when the gate refused the fine-tuned model, trained in full and the
    # refusal kept (a fine-tune can lose more than a full training: docs/models.md).
    assert live.method == "finetune" or (
        live.method == "full" and live.evaluation["refused_finetune"]["reasons"]
    ), live.evaluation
    assert read_corrections_file(live.corrections_path) == [(NEW_WORDING, "faq_trials/placebo")]
    figures = Figures.from_dict(live.evaluation["figures"])
    compared = Figures.from_dict(live.evaluation["compared_with"])
    assert figures.safety_accuracy == 1.0 and figures.conversations_total == 5
    assert figures.conversations_passed == figures.conversations_total
    assert gate(figures, compared) == []
    assert set(figures.by_language) == set(languages())
    [deployed] = model_store.list_deployments(engine)
    assert (deployed.model_id, deployed.previous_model_id) == (live.id, "initial")
    assert deployed.deployed_by == staff_name() == live.created_by
    # The live model's own figures were measured for the comparison, and kept.
    initial = model_store.get_model(engine, store, model_store.INITIAL_ID)
    assert initial.status == "retired" and initial.evaluation["figures"]["held_out"] > 500

    # A deliberately worse pipeline (one epoch each) is trained in full and refused.
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] in ("DIETClassifier", "ResponseSelector"):
            component["epochs"] = 1
    worse_config = tmp_path / "worse.yml"
    worse_config.write_text(yaml.safe_dump(config), encoding="utf-8")
    refused = bot_models("train", "--config", str(worse_config), env=env)
    assert refused.returncode == 1
    worse = model_store.list_models(engine, store)[0]
    assert (worse.status, worse.method, worse.base_model_id) == ("rejected", "full", live.id)
    assert any("fell from" in reason for reason in worse.reasons), worse.reasons
    assert "refused:" in bot_models("list", env=env).stdout
    assert model_store.live_model(engine, store).id == live.id

    # Rollback: the model the last deployment replaced is live again.
    back = bot_models("rollback", env=env)
    assert back.returncode == 0
    assert model_store.live_model(engine, store).id == model_store.INITIAL_ID
    assert [d.action for d in model_store.list_deployments(engine)] == ["deploy", "rollback"]
    engine.dispose()
