"""The web chat's rich messages: `rich` on every bot message of the webhook's reply and of the
history, an answer's cards merged into it, the conversation as a file to download, and, against
the running assistant, events and partners as cards, a long answer as lead and "more", the
welcome; while the REST channel answers exactly as before."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from bot.channels.web_messages import transcript, transcript_text, web_replies, with_rich
from bot.welcome import welcome
from tests.conftest import Assistant

WEBINAR = {
    "slug": "test-webinar",
    "title": "Test webinar",
    "calendar_url": "events/test-webinar.ics",
    "starts_on": "2027-05-12",
    "ends_on": "2027-05-12",
    "all_day": False,
    "time_label": "14:00 to 15:00 CEST",
    "yearly": False,
    "place": None,
    "attendance": "online",
    "audience": "patients",
    "url": "https://example.org/webinar",
}
EVENTS_TEXT = (
    "Here is what I found: webinars:\n• Test webinar — 12 May 2027, online. "
    "Learn more: https://example.org/webinar"
)

PARTNER_TEXT = "F-CRIN. Learn more: https://www.fcrin.org"


# --- The webhook's reply ------------------------------------------------------------------------


def test_an_answers_cards_are_merged_into_it_with_rich() -> None:
    replies = [
        {"recipient_id": "s", "text": EVENTS_TEXT, "buttons": [{"title": "More", "payload": "/x"}]},
        {"recipient_id": "s", "custom": {"events": [WEBINAR]}},
        {"recipient_id": "s", "text": "Was this helpful?"},
    ]
    first, second = web_replies(replies)
    assert first["text"] == EVENTS_TEXT and first["buttons"] == replies[0]["buttons"]
    assert first["custom"] == {"events": [WEBINAR]}
    assert first["rich"]["lead"] == [
        {"type": "paragraph", "runs": [{"text": "Here is what I found: webinars:"}]}
    ]
    [card] = first["rich"]["cards"]
    assert card["type"] == "event" and card["calendar_url"] == "events/test-webinar.ics"
    # The answer's source is the webinar's own page: its card links it, once.
    assert card["link"] == {
        "url": "https://example.org/webinar",
        "label": "Read more on example.org",
    }
    assert first["rich"]["source"] is None
    assert second["rich"] == {
        "lead": [{"type": "paragraph", "runs": [{"text": "Was this helpful?"}]}],
        "more": [],
        "source": None,
        "cards": [],
    }
    assert "rich" not in replies[0] and len(replies) == 3  # Rasa's list is left alone


def test_a_payload_with_nothing_before_it_stays_a_message_of_its_own() -> None:
    [only] = web_replies([{"recipient_id": "s", "custom": {"events": [WEBINAR]}}])
    assert only["custom"] == {"events": [WEBINAR]} and len(only["rich"]["cards"]) == 1
    # A payload that is not an object is not merged into anything.
    listed = web_replies([{"recipient_id": "s", "text": "x"}, {"recipient_id": "s", "custom": [1]}])
    assert [m.get("custom") for m in listed] == [None, [1]]


# --- History and transcript ----------------------------------------------------------------------


def test_the_history_keeps_checked_cards_and_adds_rich() -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    partner = {
        "name": "F-CRIN",
        "city": "Toulouse",
        "country": "France",
        "website": "https://www.fcrin.org",
        "contact": None,
        "secret": "dropped",
    }
    past = {**WEBINAR, "slug": "past", "calendar_url": None, "url": "javascript:alert(1)"}
    events = [
        UserUttered("who is the partner in France?", input_channel="web"),
        BotUttered(
            "F-CRIN. Learn more: https://www.fcrin.org", data={"custom": {"partners": [partner]}}
        ),
        BotUttered(EVENTS_TEXT, data={"custom": {"events": [WEBINAR, past], "map": {"lat": 1}}}),
    ]
    shown = with_rich(transcript(events))
    assert shown[0] == {"from": "user", "text": "who is the partner in France?"}
    kept_partner = {key: value for key, value in partner.items() if key != "secret"}
    assert shown[1]["custom"] == {"partners": [kept_partner]}
    [card] = shown[1]["rich"]["cards"]
    assert card["name"] == "F-CRIN" and card["website"]["url"] == "https://www.fcrin.org"
    kept_past = {**past, "calendar_url": None, "url": None}
    assert shown[2]["custom"] == {"events": [WEBINAR, kept_past]}
    assert [c["calendar_url"] for c in shown[2]["rich"]["cards"]] == [
        "events/test-webinar.ics",
        None,
    ]


def test_the_transcript_file_says_who_said_what() -> None:
    entries = [
        {"from": "user", "text": "hello"},
        {
            "from": "bot",
            "text": "Hello! What would you like to know?",
            "buttons": [{"title": "What is a clinical trial?", "payload": "/x"}],
        },
        {"from": "user", "text": "👍", "feedback": "/feedback_positive"},
    ]
    assert transcript_text(entries, dt.date(2026, 12, 1)) == (
        "Conversation with the ECRIN assistant, downloaded on 2026-12-01\n\n"
        "You: hello\n\n"
        "Assistant: Hello! What would you like to know?\n"
        "  [What is a clinical trial?]\n\n"
        "You: 👍\n"
    )
    assert transcript_text([], dt.date(2026, 12, 1)).endswith(
        "This conversation has no messages.\n"
    )


def test_the_transcript_downloads_only_a_web_conversation() -> None:
    from starlette.testclient import TestClient

    from tests.test_rest_channel import PLAN_TO_KEEP, web_chat_app

    sender = str(uuid.uuid4())
    with TestClient(web_chat_app()) as client:
        client.post("/webhooks/web/webhook", json={"sender": sender, "message": "plan please"})
        reply = client.get(f"/webhooks/web/transcript?sender={sender}")
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/plain; charset=utf-8"
        assert reply.headers["content-disposition"].startswith(
            'attachment; filename="ecrin-conversation-'
        )
        assert reply.headers["cache-control"] == "no-store"
        assert "You: plan please\n" in reply.text and f"Assistant: {PLAN_TO_KEEP}" in reply.text
        client.post("/webhooks/rest/webhook", json={"sender": "rest-1", "message": "hi"})
        other = client.get("/webhooks/web/transcript?sender=rest-1")
        assert other.status_code == 200 and "You:" not in other.text
        assert client.get("/webhooks/web/transcript?sender=").status_code == 400


# --- Against the running assistant ---------------------------------------------------------------


def ask_web(assistant: Assistant, message: str, sender: str) -> list[dict]:
    return assistant.ask(message, sender=sender, channel="web")


def test_an_events_answer_comes_with_its_cards(assistant: Assistant) -> None:
    sender = str(uuid.uuid4())
    replies = ask_web(assistant, "What events are coming up?", sender)
    [answer] = [r for r in replies if r.get("custom", {}).get("events")]
    assert not any(set(r) <= {"recipient_id", "custom", "rich"} for r in replies)
    rich = answer["rich"]
    cards = rich["cards"]
    assert cards and all(c["type"] == "event" for c in cards)
    for card in cards:
        assert card["title"] in answer["text"]
        assert card["attendance"] in ("online", "hybrid", "in person")
        if card["starts_on"]:
            dt.date.fromisoformat(card["starts_on"])
    # The bullet list the cards stand for is not shown twice.
    assert all(block["type"] != "list" for block in rich["lead"] + rich["more"])
    # The source is the first event's page, which its card links already: not said twice.
    assert rich["source"] is None
    assert any(card["link"]["label"].startswith("Read more on ") for card in cards)
    # The REST channel answers as before: the same text, the payload apart, no `rich`.
    rest = assistant.ask("What events are coming up?", sender=str(uuid.uuid4()))
    assert answer["text"] in [r.get("text") for r in rest]
    assert not any("rich" in r for r in rest)
    assert any(set(r) == {"recipient_id", "custom"} for r in rest)
    # The history gives the same message back.
    _, _, body = assistant.get(f"/webhooks/web/history?sender={sender}")
    [shown] = [e for e in json.loads(body) if e.get("custom", {}).get("events")]
    assert shown["rich"] == rich


def test_a_partner_answer_comes_with_the_partners_card(assistant: Assistant) -> None:
    replies = ask_web(assistant, "Who is the ECRIN partner in France?", str(uuid.uuid4()))
    [answer] = [r for r in replies if r.get("rich", {}).get("cards")]
    [card] = answer["rich"]["cards"]
    assert card["type"] == "partner" and card["country"] == "France"
    assert "F-CRIN" in card["name"] and card["city"] == "Toulouse"
    assert card["website"]["url"] == "https://www.fcrin.org"
    assert "://" not in card["website"]["label"]
    assert "F-CRIN" in answer["text"]


def test_a_long_faq_answer_leads_with_one_sentence(assistant: Assistant) -> None:
    replies = ask_web(assistant, "What are the phases of a clinical trial?", str(uuid.uuid4()))
    [answer] = [r for r in replies if "Learn more:" in (r.get("text") or "")]
    rich = answer["rich"]
    [lead] = rich["lead"]
    assert lead["type"] == "paragraph" and lead["runs"][0]["text"].count(". ") == 0
    assert rich["more"]
    assert rich["source"]["url"] in answer["text"]
    assert rich["source"]["label"] != rich["source"]["url"]


def test_the_welcome_and_the_greeting_offer_the_same_buttons(assistant: Assistant) -> None:
    status, headers, body = assistant.get("/webhooks/web/welcome")
    assert status == 200 and json.loads(body) == welcome().as_json()
    [greeting] = assistant.ask("hello", sender=str(uuid.uuid4()))
    assert greeting["text"] == welcome().text
    assert greeting["buttons"] == welcome().buttons()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("/ask_events", "Here is what I found"), ("/ask_partner", "country")],
)
def test_welcome_buttons_start_their_conversation(
    assistant: Assistant, payload: str, expected: str
) -> None:
    assert payload in {b["payload"] for b in welcome().buttons()}
    said = assistant.reply_text(payload, sender=str(uuid.uuid4()))
    assert expected in said
