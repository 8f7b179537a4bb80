"""The live-corrections NLU component (bot.live_corrections), built as Rasa builds it
(`create()`) and run on Rasa messages, on real tracker databases (SQLite and PostgreSQL) that
the review app's NLU inbox writes to (seeded for each test, tests/review/conftest.py).

Rasa runs it after the FallbackClassifier and before SafetyGuard; these tests run the two in
that order where the guardrails matter. With a model retrained on config.yml, the end-to-end
test plays the same through the running assistant."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.actions.action import ActionRetrieveResponse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.evaluation import answer_label
from bot.live_corrections import LiveCorrections
from bot.review.config import NLU_DIR
from bot.review.nlu import LabelError, NluInbox, known_labels
from bot.safety import SafetyGuard
from bot.tracker_db.corrections import (
    add_correction,
    list_corrections,
    undo_correction,
    wording_key,
)
from bot.tracker_db.engine import get_engine
from bot.tracker_db.user_messages import read_prediction
from tests.review.seeding import BASE_TIME, Chat, Turn, save_chats

# Short, so that the tests wait for a refresh without sleeping for seconds.
REFRESH = 0.05
PLACEBO_QUESTION = "what is a placebo"


def _stored_chat(url: str, text: str, intent: str = "nlu_fallback") -> int:
    """Store a conversation with one message, as the assistant would have; its event id."""
    save_chats(url, [Chat(f"chat-{uuid.uuid4()}", [Turn(text, intent, 0.4)], start=BASE_TIME)])
    with get_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, data FROM events WHERE type_name = 'user' ORDER BY id DESC")
        ).all()
    return next(event_id for event_id, data in rows if f'"text": "{text}"' in data)


def _relabel(url: str, event_id: int, label: str, by: str = "ada") -> None:
    NluInbox(get_engine(url)).label(event_id, "relabel", by, known_labels(NLU_DIR), label)


@pytest.fixture
def replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], LiveCorrections]]:
    """Build the component as Rasa does, on the tracker database at a URL (TRACKER_STORE_URL,
    read through bot.settings); each call is another Rasa process's component."""
    made: list[LiveCorrections] = []

    def build(url: str) -> LiveCorrections:
        monkeypatch.setenv("TRACKER_STORE_URL", url)
        component = LiveCorrections.create(
            {**LiveCorrections.get_default_config(), "refresh_seconds": REFRESH},
            LocalModelStorage(tmp_path),
            Resource(f"live_corrections_{len(made)}"),
            ExecutionContext(GraphSchema({})),
        )
        made.append(component)
        return component

    yield build
    for component in made:
        component.index.close()


def _parsed(text: str, intent: str = "faq_trials", key: str = "faq_trials/is_it_safe") -> Message:
    """A message as the pipeline leaves it before the corrections: intent, ranking and the
    response selector's output in Rasa's own format (a single selector, under "default")."""
    message = Message.build(text=text)
    message.set("intent", {"name": intent, "confidence": 0.41}, add_to_output=True)
    ranking = [
        {"name": intent, "confidence": 0.41},
        {"name": "faq_ecrin", "confidence": 0.3},
        {"name": "greet", "confidence": 0.29},
    ]
    message.set("intent_ranking", ranking, add_to_output=True)
    message.set(
        "response_selector",
        {
            "all_retrieval_intents": ["faq_trials", "faq_ecrin"],
            "default": {
                "response": {
                    "responses": [{"text": "placeholder"}],
                    "confidence": 0.52,
                    "intent_response_key": key,
                    "utter_action": f"utter_{key}",
                },
                "ranking": [
                    {"id": 11, "confidence": 0.52, "intent_response_key": key},
                    {"id": 12, "confidence": 0.3, "intent_response_key": "faq_trials/placebo"},
                    {"id": 13, "confidence": 0.18, "intent_response_key": "faq_trials/costs"},
                ],
            },
        },
        add_to_output=True,
    )
    return message


def _process(component: LiveCorrections, text: str, **parsed: str) -> dict:
    """The parse data Rasa would store for `text` after the component."""
    [message] = component.process([_parsed(text, **parsed)])
    return message.as_dict(only_output_properties=True)


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether `check` holds within `timeout` seconds (a replica refreshes in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(REFRESH / 2)
    return check()


def test_a_relabelled_message_is_answered_with_its_new_topic_on_the_same_words(
    seeded: str, replica: Callable[[str], LiveCorrections]
) -> None:
    component = replica(seeded)
    assert answer_label(_process(component, "What is a PLACEBO?!")) == "faq_trials/is_it_safe"
    event_id = _stored_chat(seeded, PLACEBO_QUESTION)

    _relabel(seeded, event_id, "faq_trials/placebo")

    assert _eventually(
        lambda: answer_label(_process(component, "What is a PLACEBO?!")) == "faq_trials/placebo"
    )
    parse = _process(component, "  What is a plácebo ?")
    assert parse["intent"] == {"name": "faq_trials", "confidence": 1.0}
    assert parse["intent_ranking"][0] == {"name": "faq_trials", "confidence": 1.0}
    assert [r["name"] for r in parse["intent_ranking"]] == ["faq_trials", "faq_ecrin", "greet"]
    [correction] = list_corrections(get_engine(seeded))
    assert parse["correction"] == {"id": correction.id, "label": "faq_trials/placebo"}
    # Other words, and a button payload, are the model's.
    for other in ("what is a placebo trial", "/faq_pick"):
        assert answer_label(_process(component, other)) == "faq_trials/is_it_safe"
        assert "correction" not in _process(component, other)


def test_the_selector_output_is_what_rasa_and_the_review_app_read(
    seeded_sqlite: str, replica: Callable[[str], LiveCorrections]
) -> None:
    add_correction(get_engine(seeded_sqlite), PLACEBO_QUESTION, "faq_trials/placebo", "ada")
    component = replica(seeded_sqlite)  # loaded when the model is: no wait for a refresh

    parse = _process(component, "What is a placebo?")

    selector = parse["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq_trials", "faq_ecrin"]
    assert selector["default"]["response"] == {
        "responses": [{"text": "faq_trials/placebo"}],  # Rasa's own stand-in
        "confidence": 1.0,
        "intent_response_key": "faq_trials/placebo",
        "utter_action": "utter_faq_trials/placebo",
    }
    # The corrected topic first (keeping Rasa's label id); the others after it at 0, so a
    # follow-up read in context cannot move the corrected words elsewhere.
    assert selector["default"]["ranking"] == [
        {"id": 12, "confidence": 1.0, "intent_response_key": "faq_trials/placebo"},
        {"id": 11, "confidence": 0.0, "intent_response_key": "faq_trials/is_it_safe"},
        {"id": 13, "confidence": 0.0, "intent_response_key": "faq_trials/costs"},
    ]
    # Rasa's retrieval action says the corrected topic...
    tracker = DialogueStateTracker.from_events(
        "pytest", [UserUttered("What is a placebo?", parse["intent"], parse_data=parse)]
    )
    retrieval = ActionRetrieveResponse("utter_faq_trials")
    assert retrieval.get_full_retrieval_name(tracker) == "utter_faq_trials/placebo"
    # ...and the review app reads it back from the stored event.
    prediction = read_prediction({"parse_data": parse})
    assert (prediction.label, prediction.confidence) == ("faq_trials/placebo", 1.0)


def test_a_corrected_intent_overrides_the_fallback(
    seeded_sqlite: str, replica: Callable[[str], LiveCorrections]
) -> None:
    add_correction(get_engine(seeded_sqlite), "any webinars soon", "ask_events", "ada")
    component = replica(seeded_sqlite)

    parse = _process(component, "Any webinars soon??", intent="nlu_fallback")

    assert parse["intent"] == {"name": "ask_events", "confidence": 1.0}
    assert answer_label(parse) == "ask_events"
    assert [r["name"] for r in parse["intent_ranking"]][:2] == ["ask_events", "nlu_fallback"]
    assert parse["correction"]["label"] == "ask_events"


def test_every_replica_follows_a_correction_and_its_undo(
    seeded: str, replica: Callable[[str], LiveCorrections]
) -> None:
    replicas = [replica(seeded), replica(seeded)]
    event_id = _stored_chat(seeded, PLACEBO_QUESTION)

    _relabel(seeded, event_id, "faq_trials/placebo")

    def everywhere(label: str) -> bool:
        return all(
            answer_label(_process(component, "WHAT IS A PLACEBO")) == label
            for component in replicas
        )

    assert _eventually(lambda: everywhere("faq_trials/placebo"))
    [correction] = list_corrections(get_engine(seeded))

    undo_correction(get_engine(seeded), correction.id, "rob")

    assert _eventually(lambda: everywhere("faq_trials/is_it_safe"))
    for component in replicas:
        assert "correction" not in _process(component, "WHAT IS A PLACEBO")


def test_a_correction_on_a_safety_message_is_refused(seeded_sqlite: str) -> None:
    event_id = _stored_chat(seeded_sqlite, "I want to kill myself", intent="faq_trials")
    with pytest.raises(LabelError, match="self_harm"):
        _relabel(seeded_sqlite, event_id, "faq_trials/placebo")
    assert list_corrections(get_engine(seeded_sqlite), include_undone=True) == []


def test_the_guardrails_win_over_a_stored_correction(
    seeded_sqlite: str, replica: Callable[[str], LiveCorrections]
) -> None:
    """A correction that reached the table anyway (written before a guardrail was added, or
    by hand) cannot route a safety message elsewhere: SafetyGuard runs after it."""
    text = "I want to kill myself"
    with get_engine(seeded_sqlite).begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO review_corrections (normalised, normalised_key, text, label, "
                "created_at) VALUES (:n, :k, :t, 'faq_trials/placebo', 0)"
            ),
            {"n": "i want to kill myself", "k": wording_key("i want to kill myself"), "t": text},
        )
    corrections = replica(seeded_sqlite)
    guard = SafetyGuard.create(
        {}, LocalModelStorage(Path()), Resource("guard"), ExecutionContext(GraphSchema({}))
    )

    [message] = corrections.process([_parsed(text)])
    assert message.get("intent")["name"] == "faq_trials"  # the correction applied...
    [message] = guard.process([message])

    parse = message.as_dict(only_output_properties=True)
    assert parse["intent"] == {"name": "self_harm", "confidence": 1.0}  # ...and lost
    assert answer_label(parse) == "self_harm"


def test_without_its_database_the_component_answers_as_the_model_and_says_so_once(
    replica: Callable[[str], LiveCorrections], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.tracker_db.corrections")
    component = replica("postgresql://postgres@127.0.0.1:1/nothing_listens_here")
    time.sleep(REFRESH * 6)  # several refreshes, all failing

    parse = _process(component, "What is a placebo?")

    assert answer_label(parse) == "faq_trials/is_it_safe" and "correction" not in parse
    warnings = [r for r in caplog.records if "cannot read them" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "127.0.0.1:1" in warnings[0].getMessage()


def test_when_its_database_goes_the_corrections_loaded_stay_in_effect(
    seeded_sqlite: str,
    replica: Callable[[str], LiveCorrections],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.tracker_db.corrections")
    add_correction(get_engine(seeded_sqlite), PLACEBO_QUESTION, "faq_trials/placebo", "ada")
    component = replica(seeded_sqlite)
    assert answer_label(_process(component, "What is a placebo?")) == "faq_trials/placebo"

    get_engine(seeded_sqlite).dispose()
    Path(seeded_sqlite.removeprefix("sqlite:///")).unlink()

    assert _eventually(lambda: any("cannot read them" in r.getMessage() for r in caplog.records))
    assert answer_label(_process(component, "What is a placebo?")) == "faq_trials/placebo"
    assert not Path(seeded_sqlite.removeprefix("sqlite:///")).exists()  # not created empty
    warnings = [r.getMessage() for r in caplog.records if "cannot read them" in r.getMessage()]
    assert len(warnings) == 1 and "1 loaded before stay in effect" in warnings[0]
