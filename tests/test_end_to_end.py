"""The real assistant, started as `make run` starts it, answering over HTTP."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Assistant

pytestmark = pytest.mark.e2e


def test_answers_what_is_ecrin(assistant: Assistant) -> None:
    text = assistant.reply_text("What is ECRIN?", sender="e2e-ecrin")
    assert "European Clinical Research Infrastructure Network" in text
    assert "https://" in text


def test_answers_the_french_partner_from_the_database(assistant: Assistant) -> None:
    text = assistant.reply_text("Who is the ECRIN partner in France?", sender="e2e-france")
    assert "F-CRIN" in text and "https://www.fcrin.org" in text


def test_partner_form_asks_for_the_country_then_answers(assistant: Assistant) -> None:
    first = assistant.reply_text("whom should I contact in my country?", sender="e2e-form")
    assert "Which country" in first
    second = assistant.reply_text("Ireland", sender="e2e-form")
    assert "NCTO" in second


def test_a_city_finds_the_partner_of_its_country(assistant: Assistant) -> None:
    text = assistant.reply_text("I'm in Dublin, who can help me?", sender="e2e-dublin")
    assert "NCTO" in text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I can't breathe", "112"),
        ("can I take ibuprofen with my study drug", "doctor"),
        ("i dont want to live anymore", "116 123"),
    ],
)
def test_safety_answers(assistant: Assistant, message: str, expected: str) -> None:
    assert expected in assistant.reply_text(message, sender=f"e2e-safety-{expected}")


def test_unclear_messages_get_an_answer_never_silence(assistant: Assistant) -> None:
    replies = assistant.ask("zzqx blorf wibble", sender="e2e-gibberish")
    assert replies and all(r.get("text") for r in replies)


def test_did_you_mean_button_payload_answers_its_topic(assistant: Assistant) -> None:
    payload = '/faq_pick{"faq_key":"faq_trials/placebo"}'
    text = assistant.reply_text(payload, sender="e2e-pick")
    assert "placebo" in text.lower() and "Learn more:" in text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json at all", 400),
        (b"\xff\xfe\xfd", 400),
        (b'["a", "list"]', 400),
        (json.dumps({"sender": "e2e-bad", "message": ""}).encode(), 400),
        (json.dumps({"sender": "e2e-bad", "message": "x" * 10_000}).encode(), 413),
        (b"{" + b" " * 70_000 + b"}", 413),
    ],
)
def test_bad_input_gets_a_4xx_with_a_reason_and_the_server_keeps_serving(
    assistant: Assistant, body: bytes, status: int
) -> None:
    got, reply = assistant.post("/webhooks/rest/webhook", body)
    assert got == status and reply["error"]
    assert "European Clinical Research" in assistant.reply_text(
        "What is ECRIN?", sender="e2e-after"
    )


def test_web_chat_page_is_served_by_the_rasa_server(assistant: Assistant) -> None:
    status, headers, page = assistant.get("/webhooks/web/")
    assert status == 200 and b"<main" in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, _, script = assistant.get("/webhooks/web/static/chat.js")
    assert status == 200 and b"textContent" in script


def test_web_channel_answers_and_conversations_are_stored_by_channel(assistant: Assistant) -> None:
    replies = assistant.ask("What is a placebo?", sender="e2e-web-store", channel="web")
    assert "placebo" in replies[0]["text"].lower()
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id",
            ("e2e-web-store",),
        ).fetchall()
    user = [json.loads(data) for kind, data in rows if kind == "user"]
    bot = [json.loads(data) for kind, data in rows if kind == "bot"]
    assert user[0]["text"] == "What is a placebo?" and user[0]["input_channel"] == "web"
    assert bot and "placebo" in bot[0]["text"].lower()


# The assistant's clock is fixed at 1 December 2026 (tests.conftest.ASSISTANT_TODAY, set as
# ECRIN_TODAY), so the dates below are the right answers on every day of the year.


def test_next_clinical_trials_day_comes_from_the_events_rule(assistant: Assistant) -> None:
    text = assistant.reply_text("When's the next clinical trials day?", sender="e2e-ictd")
    assert "20 May 2027" in text


def test_events_question_with_a_month_says_plainly_what_it_found(assistant: Assistant) -> None:
    text = assistant.reply_text("any webinars in May?", sender="e2e-webinars")
    # No real webinar is announced for May: it says so and offers the nearest instead; "May"
    # after December is next year's.
    assert "I couldn't find any webinars in May 2027." in text
    assert "Learn more: https://" in text


def test_past_events_list_real_editions_with_a_button_for_more(assistant: Assistant) -> None:
    replies = assistant.ask("show me past events", sender="e2e-past")
    assert "International Clinical Trials Day 2025" in replies[0]["text"]
    [button] = replies[0]["buttons"]
    more = assistant.ask(button["payload"], sender="e2e-past")
    assert more[0]["text"].startswith("More: events in the past:")


def test_an_event_staff_add_is_answered_on_the_next_message_and_gone_once_retired(
    assistant: Assistant,
) -> None:
    # What the review app's Events page does on "Save" (bot.curation), on the database the
    # running action server reads: no restart, no training in between.
    from bot import curation, db
    from bot.models import Event

    form = {
        "title": "Webinar on patient partners in trial design",
        "starts_on": "2027-03-18T14:00",
        "ends_on": "2027-03-18T15:30",
        "kind": "webinar",
        "audience": "patients",
        "online": "on",
        "organiser": "ECRIN",
        "url": "https://ecrin.org/agenda",
    }
    with db.session_scope(assistant.database_url) as session:
        slug = curation.save_event(session, form, staff="e2e-editor").slug
    question = "are there any events in March 2027?"
    text = assistant.reply_text(question, sender="e2e-staff-event")
    assert "Webinar on patient partners in trial design — 18 March 2027, 14:00 to 15:30" in text
    with db.session_scope(assistant.database_url) as session:
        curation.retire(session, Event, slug, staff="e2e-editor")
    text = assistant.reply_text(question, sender="e2e-staff-event-2")
    assert "patient partners" not in text and "March 2027" in text


def test_involvement_form_asks_what_is_missing_then_gives_the_plan(assistant: Assistant) -> None:
    sender = "e2e-involve"
    first = assistant.ask("I'm a researcher, can you help me involve patients in my study?", sender)
    assert "Which stage" in first[0]["text"]
    assert [b["title"] for b in first[0]["buttons"]][-1] == "Not sure"
    assert "Which country" in assistant.reply_text("design", sender)
    assert "What kind of study" in assistant.reply_text("Ireland", sender)
    replies = assistant.ask("a trial in children", sender)
    texts = [reply.get("text") or "" for reply in replies]
    assert texts[0] == (
        "Here is a patient-involvement plan for a trial with children and young people in "
        "Ireland, at the design stage."
    )
    assert texts[1].startswith("Designing and planning the study:\n1. ")
    assert any(text.startswith("Children and young people:") for text in texts)
    assert any("NCTO" in text and "IPPOSI" in text for text in texts)
    keep = [reply for reply in replies if reply.get("custom")]
    assert keep[0]["custom"]["involvement_plan"]["query"] == (
        "stage=design&kind=trial&population=children&country=Ireland"
    )


def test_web_history_and_forget_only_touch_web_conversations(assistant: Assistant) -> None:
    # A REST client's conversation must not be readable or erasable through the web page.
    assistant.ask("What is a placebo?", sender="rest-user-1")
    status, _, body = assistant.get("/webhooks/web/history?sender=rest-user-1")
    assert status == 200 and json.loads(body) == []
    status, reply = assistant.post(
        "/webhooks/web/forget", json.dumps({"sender": "rest-user-1"}).encode()
    )
    assert status == 200 and reply == {"erased_events": 0}

    assistant.ask("What is a placebo?", sender="web-user-1", channel="web")
    status, _, body = assistant.get("/webhooks/web/history?sender=web-user-1")
    shown = json.loads(body)
    assert shown[0] == {"from": "user", "text": "What is a placebo?"}
    assert shown[1]["from"] == "bot" and "placebo" in shown[1]["text"].lower()
    _, reply = assistant.post("/webhooks/web/forget", json.dumps({"sender": "web-user-1"}).encode())
    assert reply["erased_events"] > 0
    assert json.loads(assistant.get("/webhooks/web/history?sender=web-user-1")[2]) == []


@pytest.mark.parametrize("query", ["", "?sender=", "?sender=" + "x" * 200])
def test_web_history_rejects_bad_sender_ids(assistant: Assistant, query: str) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as caught:
        assistant.get("/webhooks/web/history" + query)
    assert caught.value.code == 400
