"""FAQ answers go live without training: checked on the way in, read while the server runs,
and never part of what Rasa trains on."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest
import yaml

from bot.answers import (
    AnswerError,
    LiveAnswers,
    answer_files,
    answer_problems,
    read_answers,
    trained_topics,
)
from bot.cli import main as bot
from bot.settings import PROJECT_ROOT
from tests.conftest import Assistant

PLACEBO = "utter_faq_trials/placebo"
BLINDING = "utter_faq_trials/blinding"
GOOD = "A placebo has no active ingredient. Learn more: https://example.org/placebo"
EDITED = "A placebo is a dummy treatment that looks real. Learn more: https://example.org/placebo"


def write_answers(directory: Path, answers: dict[str, str], name: str = "faq_trials.yml") -> Path:
    path = directory / name
    document = {"responses": {key: [{"text": text}] for key, text in answers.items()}}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def said(live: LiveAnswers, key: str = PLACEBO) -> str:
    return live.current()[key][0]["text"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("A placebo has no active ingredient.", "must end with 'Learn more: <URL>'"),
        ("One. " * 6 + "Learn more: https://ecrin.org", "6 sentences"),
        ("Learn more: https://ecrin.org", "0 sentences"),
        ("Write to info@ecrin.org. Learn more: https://ecrin.org", "e-mail"),
        ("Call +33 1 23 45 67 89 today. Learn more: https://ecrin.org", "+33 1 23 45 67 89"),
    ],
)
def test_an_answer_that_breaks_a_rule_is_refused_with_the_reason(text: str, problem: str) -> None:
    assert any(problem in reason for reason in answer_problems(text))


def test_short_sourced_answers_and_the_vetted_crisis_line_pass() -> None:
    assert answer_problems(GOOD) == []
    crisis = "In the UK and Ireland, call Samaritans on 116 123. Learn more: https://samaritans.org"
    assert answer_problems(crisis) == []
    # Years, counts and numbers inside links are not phone numbers.
    assert answer_problems("Since 2013, 20 ERIC members. Learn more: https://x.org/123456789") == []


def test_every_answer_in_the_project_is_live_ready() -> None:
    answers = read_answers(answer_files())
    assert len(answers) >= 80 and all(name.startswith("utter_faq_") for name in answers)
    assert set(answers) == trained_topics()
    assert bot(["answers", "check"]) == 0


def test_the_check_names_a_trained_topic_left_without_an_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in answer_files():
        shutil.copy(path, tmp_path)
    trials = tmp_path / "faq_trials.yml"
    document = yaml.safe_load(trials.read_text(encoding="utf-8"))
    del document["responses"][PLACEBO]
    trials.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert bot(["answers", "check", "--dir", str(tmp_path)]) == 1
    assert f"no answer for {PLACEBO}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "files, reason",
    [
        ({"faq_a.yml": "responses: [unclosed"}, "faq_a.yml: cannot be read"),
        ({"faq_a.yml": "nlu: []\n"}, "faq_a.yml: no `responses:` mapping"),
        ({"faq_a.yml": 'responses:\n  utter_greet:\n  - text: "Hi"\n'}, "only FAQ answers"),
        (
            {
                "faq_a.yml": f'responses:\n  {PLACEBO}:\n  - text: "{GOOD}"\n',
                "faq_b.yml": f'responses:\n  {PLACEBO}:\n  - text: "{GOOD}"\n',
            },
            f"faq_b.yml: {PLACEBO}: answered twice",
        ),
        ({"faq_a.yml": f"responses:\n  {PLACEBO}:\n  - image: x.png\n"}, "needs a `text`"),
    ],
)
def test_answer_files_that_cannot_go_live_name_the_file_and_the_reason(
    tmp_path: Path, files: dict[str, str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(AnswerError) as error:
        read_answers(answer_files(tmp_path))
    assert reason in str(error.value)
    assert bot(["answers", "check", "--dir", str(tmp_path)]) == 1
    assert reason in capsys.readouterr().err


def test_an_edited_answer_is_said_on_the_next_read(tmp_path: Path) -> None:
    write_answers(tmp_path, {PLACEBO: GOOD})
    live = LiveAnswers(tmp_path)
    assert said(live) == GOOD
    write_answers(tmp_path, {PLACEBO: EDITED})
    assert said(live) == EDITED


def test_a_broken_edit_keeps_the_answers_already_live_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_answers(tmp_path, {PLACEBO: GOOD})
    live = LiveAnswers(tmp_path)
    with caplog.at_level(logging.ERROR, logger="bot.answers"):
        path.write_text(path.read_text(encoding="utf-8") + "  - [half saved\n", encoding="utf-8")
        assert said(live) == GOOD
        write_answers(tmp_path, {PLACEBO: "A placebo has no active ingredient."})
        assert said(live) == GOOD
    assert [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert [r.getMessage() for r in caplog.records if "must end with" in r.getMessage()]
    write_answers(tmp_path, {PLACEBO: EDITED})
    assert said(live) == EDITED


def test_dropping_an_answer_the_model_can_still_pick_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_answers(tmp_path, {PLACEBO: GOOD, BLINDING: GOOD})
    live = LiveAnswers(tmp_path, required={PLACEBO, BLINDING})
    with caplog.at_level(logging.ERROR, logger="bot.answers"):
        write_answers(tmp_path, {PLACEBO: EDITED})
        assert said(live) == GOOD and said(live, BLINDING) == GOOD
    assert f"no answer for {BLINDING}" in caplog.text


def copy_project(destination: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, destination)
    shutil.copytree(PROJECT_ROOT / "data", destination / "data")
    return destination


def fingerprints(project: Path) -> tuple[str, str]:
    """What Rasa's training cache compares: the NLU training data and the domain."""
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(project / "config.yml"), str(project / "domain.yml"), [str(project / "data")]
    )
    return importer.get_nlu_data().fingerprint(), importer.get_domain().fingerprint()


@pytest.mark.slow  # Rasa reads the whole training data, three times
def test_editing_an_answer_leaves_what_rasa_trains_on_unchanged(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    before = fingerprints(project)
    trials = project / "data" / "nlu" / "faq_trials.yml"
    text = trials.read_text(encoding="utf-8")
    old = read_answers([trials])[PLACEBO][0]["text"]
    trials.write_text(text.replace(old, EDITED), encoding="utf-8")
    assert read_answers([trials])[PLACEBO][0]["text"] == EDITED
    assert fingerprints(project) == before

    # A new training example does change it: the comparison above can fail.
    trials.write_text(
        text.replace("    - explain clinical trials\n", "    - explain clinical trials\n    - x\n"),
        encoding="utf-8",
    )
    assert fingerprints(project)[0] != before[0]


@pytest.mark.parametrize("model_given", ["when created", "after, as rasa's Agent does"])
def test_the_generator_says_live_answers_and_the_models_own_responses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, model_given: str
) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.nlg import PLACEHOLDER, LiveAnswerGenerator

    domain = Domain.from_dict(
        {
            "responses": {
                PLACEBO: [{"text": PLACEHOLDER}],
                BLINDING: [{"text": PLACEHOLDER}],
                "utter_goodbye": [{"text": "Bye!"}],
            }
        }
    )
    write_answers(tmp_path, {PLACEBO: GOOD})  # the blinding answer is missing
    with caplog.at_level(logging.ERROR):
        if model_given == "when created":
            generator = LiveAnswerGenerator(EndpointConfig(answers=str(tmp_path)), domain)
        else:  # Rasa creates it before loading a model, then sets the model's responses.
            generator = LiveAnswerGenerator(EndpointConfig(answers=str(tmp_path)), None)
            generator.responses = domain.responses
        tracker = DialogueStateTracker("nlg-test", domain.slots)

        def say(action: str) -> str:
            return asyncio.run(generator.generate(action, tracker, "rest"))["text"]

        # What is there is said; what is missing is the placeholder, and the log says why.
        assert (say(PLACEBO), say(BLINDING)) == (GOOD, PLACEHOLDER)
        assert f"no answer for {BLINDING}" in caplog.text
        assert f"No live answer for {BLINDING}" in caplog.text
        write_answers(tmp_path, {PLACEBO: GOOD, BLINDING: EDITED})
        assert (say(PLACEBO), say(BLINDING), say("utter_goodbye")) == (GOOD, EDITED, "Bye!")


@pytest.mark.e2e
def test_the_running_assistant_says_an_edited_answer_without_training(
    assistant: Assistant,
) -> None:
    trials = assistant.answers_dir / "faq_trials.yml"
    original = trials.read_text(encoding="utf-8")
    live_text = read_answers([trials])[BLINDING][0]["text"]
    pick = '/faq_pick{"faq_key":"faq_trials/blinding"}'
    edited = "Blinding hides which group you are in. Learn more: https://example.org/blinding"
    try:
        assert assistant.reply_text(pick, sender="e2e-live-answer") == live_text
        trials.write_text(original.replace(live_text, edited), encoding="utf-8")
        assert assistant.reply_text(pick, sender="e2e-live-answer") == edited
        # A half-saved file does not take the answers down.
        trials.write_text(original.replace(live_text, edited) + "  - [", encoding="utf-8")
        assert assistant.reply_text(pick, sender="e2e-live-answer") == edited
    finally:
        trials.write_text(original, encoding="utf-8")
    assert assistant.reply_text(pick, sender="e2e-live-answer") == live_text
