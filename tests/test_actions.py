"""The custom actions, run with rasa-sdk's own Tracker and CollectingDispatcher against a
real seeded SQLite database (and an unreachable one, for the failure path)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.events import ActionFindEvents
from actions.faq import ActionAnswerFaq, ActionDidYouMean
from actions.partners import ActionFindPartner, ValidatePartnerForm
from bot import i18n
from bot.suggestions import faq_payload


def tracker(
    text: str = "",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    parse_data: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": "ask_partner", "confidence": 0.9},
        "entities": entities or [],
    }
    latest.update(parse_data or {})
    return Tracker(
        sender_id="test",
        slots=slots or {},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    return dispatcher.messages, events


def test_find_partner_answers_from_the_database(database_url: str) -> None:
    messages, _ = run(ActionFindPartner(), tracker(slots={"country": "Germany"}))
    assert len(messages) == 1
    assert "KKS-Netzwerk" in messages[0]["text"]
    assert messages[0]["text"].endswith("http://www.kks-netzwerk.de")


def test_find_partner_accepts_a_city_in_the_slot(database_url: str) -> None:
    messages, _ = run(ActionFindPartner(), tracker(slots={"country": "Dublin"}))
    assert "NCTO" in messages[0]["text"]


def test_find_partner_without_a_country_points_to_the_ecrin_office(database_url: str) -> None:
    # The user skipped the country question ("no idea"): still a useful answer.
    messages, _ = run(ActionFindPartner(), tracker(slots={"country": None}))
    assert "coordination office" in messages[0]["text"]
    assert messages[0]["text"].endswith("Learn more: https://ecrin.org")


def test_database_down_gives_a_polite_message_and_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: the connection is refused, as when the server is down.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    messages, events = run(ActionFindPartner(), tracker(slots={"country": "France"}))
    assert [m["response"] for m in messages] == ["utter_lookup_unavailable"]
    assert events == []
    assert "Partner look-up failed for FR" in caplog.text

    messages, _ = run(ActionFindEvents(), tracker())
    assert messages[0]["response"] == "utter_lookup_unavailable"


def test_form_validation_normalises_the_country() -> None:
    dispatcher = CollectingDispatcher()
    result = ValidatePartnerForm().validate_country(
        "deutschland", dispatcher, tracker("deutschland"), {}
    )
    assert result == {"country": "Germany"}
    assert dispatcher.messages == []


def test_form_validation_takes_the_country_a_correction_means() -> None:
    text = "no, not Greece: Cyprus"
    result = ValidatePartnerForm().validate_country(
        "Greece", CollectingDispatcher(), tracker(text), {}
    )
    assert result == {"country": "Cyprus"}


def test_form_validation_never_echoes_an_unknown_place() -> None:
    dispatcher = CollectingDispatcher()
    result = ValidatePartnerForm().validate_country("Narnia", dispatcher, tracker("Narnia"), {})
    assert result == {"country": None}
    # The form asks its question again (action_ask_country); the message is never repeated.
    assert dispatcher.messages == []


def test_events_answer_gives_the_next_clinical_trials_day(database_url: str) -> None:
    question = "when is the next clinical trials day?"
    messages, events = run(ActionFindEvents(), tracker(question))
    text = messages[0]["text"]
    assert "held every year on or around 20 May" in text and "Learn more: https://" in text
    assert [(e["name"], e["value"]) for e in events] == [("events_query", question)]


def test_picked_faq_is_answered_with_that_topic() -> None:
    picked = tracker(entities=[{"entity": "faq_key", "value": "faq_trials/placebo"}])
    messages, _ = run(ActionAnswerFaq(), picked)
    assert messages[0]["response"] == "utter_faq_trials/placebo"


def test_unknown_faq_key_falls_back_instead_of_uttering_nothing() -> None:
    picked = tracker(entities=[{"entity": "faq_key", "value": "faq_trials/no_such_topic"}])
    messages, _ = run(ActionAnswerFaq(), picked)
    assert messages[0]["response"] == "utter_default"


# An unclear message: two FAQ topics and an intent are plausible readings.
UNCLEAR = {
    "intent": {"name": "nlu_fallback", "confidence": 0.4},
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "faq_trials", "confidence": 0.35},
        {"name": "ask_partner", "confidence": 0.2},
    ],
    "response_selector": {
        "default": {
            "ranking": [
                {"intent_response_key": "faq_trials/placebo", "confidence": 0.5},
                {"intent_response_key": "faq_trials/blinding", "confidence": 0.3},
                {"intent_response_key": "faq_ecrin/what_is_ecrin", "confidence": 0.1},
            ]
        }
    },
}


def test_did_you_mean_offers_readable_questions_not_intent_names() -> None:
    messages, _ = run(ActionDidYouMean(), tracker("placebo blind thing", parse_data=UNCLEAR))
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons] == [
        "What is a placebo?",
        "What is blinding?",
        "Whom can I contact in my country?",
        "Something else",
    ]
    assert buttons[0]["payload"] == faq_payload("faq_trials/placebo")
    assert buttons[-1]["payload"] == "/out_of_scope"


@pytest.mark.parametrize(
    ("language", "text", "faq_titles"),
    [
        (
            "fr",
            "placebo aveugle truc",
            ["Qu'est-ce qu'un placebo ?", "Qu'est-ce qu'un essai en aveugle ?"],
        ),
        ("de", "Placebo blind Dings", ["Was ist ein Placebo?", "Was ist Verblindung?"]),
    ],
)
def test_did_you_mean_says_every_title_in_the_conversations_language(
    language: str, text: str, faq_titles: list[str]
) -> None:
    english, _ = run(ActionDidYouMean(), tracker("placebo blind thing", parse_data=UNCLEAR))
    # The NLU pipeline's language of the message (bot.rasa_ext.language) decides the reply's.
    said = {**UNCLEAR, "text": text, "language": {"code": language}}
    unclear = tracker(
        text, parse_data=said, events=[{"event": "user", "text": text, "parse_data": said}]
    )
    messages, _ = run(ActionDidYouMean(), unclear)
    assert messages[0]["text"] == i18n.text("repair.did_you_mean", language)
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons] == [
        *faq_titles,
        i18n.text("intent_title.ask_partner", language),
        i18n.text("button.something_else", language),
    ]
    # Only the words change: a tap picks the same topic as in English.
    assert [b["payload"] for b in buttons] == [b["payload"] for b in english[0]["buttons"]]
