"""The NLU inbox and the export back to training data, checked by `rasa data validate`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.cli import main
from bot.review.config import NLU_DIR
from bot.review.nlu import LabelError, NluInbox, export_nlu, known_labels
from bot.settings import PROJECT_ROOT
from bot.tracker_db.engine import get_engine
from tests.review.conftest import Staff
from tests.review.seeding import BASE_TIME, Chat, Turn, save_chats


def _event_id(url: str, text: str) -> int:
    with get_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, data FROM events WHERE type_name = 'user' ORDER BY id")
        ).all()
    return next(event_id for event_id, data in rows if f'"text": "{text}"' in data)


def test_known_labels_come_from_the_training_data() -> None:
    labels = known_labels(NLU_DIR)
    assert {"greet", "handoff", "faq_trials/placebo", "faq_ecrin/what_is_ecrin"} <= set(labels)
    assert "nlu_fallback" not in labels and "faq_trials" not in labels
    assert labels == sorted(labels)


def test_the_inbox_lists_unsure_messages_newest_first(seeded: str) -> None:
    inbox = NluInbox(get_engine(seeded), low_confidence=0.7)
    page = inbox.items("open")
    texts = [item.message.text for item in page.items]
    assert texts == [
        "<script>alert(1)</script> what is 50%_off",
        "do trials pay for my bus ticket",
        "zzqx blorf wibble",
    ]
    assert page.items[2].message.prediction.best_guess == "faq_trials"
    assert inbox.items("labelled").total == 0


def test_correct_relabel_dismiss_and_reopen(seeded: str) -> None:
    engine = get_engine(seeded)
    inbox, labels = NluInbox(engine, 0.7), known_labels(NLU_DIR)
    unsure = _event_id(seeded, "zzqx blorf wibble")
    low = _event_id(seeded, "do trials pay for my bus ticket")
    with pytest.raises(LabelError, match="nlu_fallback is not a label"):
        inbox.label(unsure, "correct", "ada", labels)
    with pytest.raises(LabelError, match="not an intent or retrieval key"):
        inbox.label(unsure, "relabel", "ada", labels, "faq_trials/made_up")
    inbox.label(unsure, "relabel", "ada", labels, "faq_trials/placebo")
    inbox.label(low, "correct", "rob", labels)
    assert inbox.items("open").total == 1
    labelled = {i.message.text: i.label for i in inbox.items("labelled").items}
    assert labelled["zzqx blorf wibble"].label == "faq_trials/placebo"
    assert labelled["do trials pay for my bus ticket"].label == "faq_trials/costs"
    assert labelled["do trials pay for my bus ticket"].labelled_by == "rob"
    inbox.label(low, "dismiss", "ada", labels)
    assert [i.message.event_id for i in inbox.items("dismissed").items] == [low]
    inbox.label(low, "reopen", "ada", labels)
    assert inbox.items("open").total == 2
    with pytest.raises(LabelError, match="does not exist"):
        inbox.label(10**9, "dismiss", "ada", labels)


def test_the_nlu_page_labels_messages(admin: Staff, seeded_sqlite: str) -> None:
    page = admin.client.get("/nlu").text
    assert "3 messages." in page and 'value="faq_trials/placebo"' in page
    # "Correct" only where the prediction is a training label (not for the fallback).
    assert page.count('value="correct"') == 2
    unsure = _event_id(seeded_sqlite, "zzqx blorf wibble")
    reply = admin.post(
        "/nlu/label",
        {"event_id": str(unsure), "action": "relabel", "label": "faq_trials/placebo"},
    )
    assert reply.headers["location"] == "/nlu?view=open&page=1"
    after = admin.client.get(reply.headers["location"]).text
    assert "Relabelled as faq_trials/placebo." in after and "2 messages." in after
    assert "zzqx blorf wibble" in admin.client.get("/nlu?view=labelled").text
    conversation = admin.client.get("/conversation?id=tg-0123456789abcdef0123456789abcdef").text
    assert "relabelled: faq_trials/placebo (ada)" in conversation
    wrong = admin.post("/nlu/label", {"event_id": str(unsure), "action": "correct"})
    assert "relabel the message" in admin.client.get(wrong.headers["location"]).text
    download = admin.client.get("/nlu/export.yml")
    assert "attachment" in download.headers["content-disposition"]
    assert "- intent: faq_trials/placebo" in download.text


def _label_examples(url: str) -> None:
    """Relabel a few messages, one of them already in the training data."""
    known_example = _first_training_example("faq_trials/what_is_trial")
    save_chats(
        url,
        [
            Chat(
                "export-chat",
                [
                    Turn(known_example, "faq_trials", 0.5, "faq_trials/what_is_trial"),
                    Turn("[email][phone] can you call me", "nlu_fallback", 0.45),
                    Turn("hiya there pal", "chitchat", 0.4),
                    Turn("do trials pay for my bus ticket", "faq_trials", 0.6, "faq_trials/costs"),
                ],
                start=BASE_TIME + 20 * 86_400,
            )
        ],
    )
    inbox, labels = NluInbox(get_engine(url), 0.7), known_labels(NLU_DIR)
    inbox.label(_event_id(url, "zzqx blorf wibble"), "relabel", "ada", labels, "faq_trials/placebo")
    inbox.label(_event_id(url, known_example), "correct", "ada", labels)
    inbox.label(
        _event_id(url, "[email][phone] can you call me"), "relabel", "ada", labels, "handoff"
    )
    inbox.label(_event_id(url, "hiya there pal"), "relabel", "ada", labels, "greet")
    inbox.label(
        _event_id(url, "<script>alert(1)</script> what is 50%_off"), "dismiss", "ada", labels
    )
    for event_id, _ in _all_user_events(url, "do trials pay for my bus ticket"):
        inbox.label(event_id, "correct", "ada", labels)  # the same text twice: exported once


def _all_user_events(url: str, text: str) -> list[tuple[int, str]]:
    with get_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, data FROM events WHERE type_name = 'user' ORDER BY id")
        ).all()
    return [(event_id, data) for event_id, data in rows if f'"text": "{text}"' in data]


def _first_training_example(intent: str) -> str:
    for path in sorted(NLU_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if item.get("intent") == intent:
                return item["examples"].splitlines()[0].removeprefix("- ").strip()
    raise AssertionError(intent)


def test_export_groups_corrected_examples_by_intent(seeded: str) -> None:
    _label_examples(seeded)
    exported = export_nlu(get_engine(seeded), NLU_DIR)
    document = yaml.safe_load(exported.yaml)
    assert document["version"] == "3.1"
    examples = {item["intent"]: item["examples"].splitlines() for item in document["nlu"]}
    assert examples == {
        "faq_trials/costs": ["- do trials pay for my bus ticket"],
        "faq_trials/placebo": ["- zzqx blorf wibble"],
        "greet": ["- hiya there pal"],
        "handoff": ["- (email)(phone) can you call me"],
    }
    assert (exported.examples, exported.skipped_known) == (4, 1)


def test_an_empty_export_is_still_valid_yaml(seeded: str) -> None:
    document = yaml.safe_load(export_nlu(get_engine(seeded), NLU_DIR).yaml)
    assert document == {"version": "3.1", "nlu": []}


@pytest.mark.slow  # `rasa data validate` in a subprocess
def test_export_nlu_command_output_passes_rasa_data_validate(
    seeded_sqlite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop that improves the model: the exported file, merged into a copy of data/,
    is accepted by Rasa's own validator."""
    _label_examples(seeded_sqlite)
    monkeypatch.setenv("TRACKER_STORE_URL", seeded_sqlite)
    out = tmp_path / "review-export.yml"
    assert main(["review", "export-nlu", "--out", str(out)]) == 0

    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    training = RasaYAMLReader().reads(out.read_text(encoding="utf-8"))
    by_text = {example.get("text"): example for example in training.intent_examples}
    assert by_text["zzqx blorf wibble"].get("intent") == "faq_trials"
    assert by_text["zzqx blorf wibble"].get("intent_response_key") == "faq_trials/placebo"
    assert by_text["(email)(phone) can you call me"].get("entities") in (None, [])

    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    shutil.copy(out, data / "nlu" / "review-export.yml")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "data",
            "validate",
            "--data",
            str(data),
            "--domain",
            str(PROJECT_ROOT / "domain.yml"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    # Rasa only warns (exit code 0) about an intent missing from the domain or an example
    # labelled with two intents; no warning may name what we exported.
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))["nlu"]
    for item in exported:
        assert f"'{item['intent']}'" not in log, log[-3000:]
        for line in item["examples"].splitlines():
            assert f"'{line.removeprefix('- ')}'" not in log, log[-3000:]


def test_export_nlu_command_writes_to_stdout(
    seeded_sqlite: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", seeded_sqlite)
    assert main(["review", "export-nlu"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Corrected in the staff review app")
    assert "0 corrected example(s)" in captured.err
