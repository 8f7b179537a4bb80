"""The Telegram channel: real Rasa server, real channel code, a local fake Bot API."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import sqlite3

import pytest

from bot.channels.telegram import (
    FORGOTTEN,
    PLAN_CAPTION,
    TEXT_ONLY,
    TelegramOutput,
    button_data,
    make_bot,
    reply_markup,
    split_message,
    without_feedback,
)
from bot.feedback import NEGATIVE, POSITIVE, THANKS
from bot.privacy import PRIVACY_NOTICE, pseudonym
from tests.conftest import TELEGRAM_SECRET, Assistant
from tests.telegram_fake import TOKEN, FakeBotApi, callback_update, message_update
from tests.test_plan_page import QUERY, SOURCE_URL, use_small_guidance

WEBHOOK = "/webhooks/telegram/webhook"


def test_long_answers_are_split_under_telegrams_limit_after_escaping() -> None:
    text = ("Tom & Jerry <b> " * 400 + "\n\n") * 3
    chunks = split_message(text)
    assert len(chunks) > 1
    assert all(len(html.escape(chunk)) <= 4096 for chunk in chunks)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )


def test_long_button_payloads_fall_back_to_the_button_title() -> None:
    assert button_data(0, "/greet") == "/greet"
    long_payload = '/faq_pick{"faq_key":"faq_trials/observational_vs_interventional"}'
    assert button_data(2, long_payload) == "t:2"


ANSWER = "A placebo has no active ingredient. Learn more: https://ecrin.org/placebo"
FEEDBACK_ROW = [
    {"text": "👍", "callback_data": POSITIVE},
    {"text": "👎", "callback_data": NEGATIVE},
]


def rows(markup) -> list[list[dict]]:
    return markup.to_dict()["inline_keyboard"] if markup else []


def test_an_answer_gets_a_feedback_row_after_its_own_buttons() -> None:
    assert rows(reply_markup(ANSWER)) == [FEEDBACK_ROW]
    more = [{"title": "More events", "payload": "/events_more"}]
    assert rows(reply_markup(ANSWER, more)) == [
        [{"text": "More events", "callback_data": "/events_more"}],
        FEEDBACK_ROW,
    ]


def test_questions_get_only_their_own_buttons() -> None:
    assert reply_markup("Which country are you in?") is None
    stages = [{"title": "Designing the study", "payload": "design"}]
    assert rows(reply_markup("Which stage is your research at?", stages)) == [
        [{"text": "Designing the study", "callback_data": "design"}]
    ]


def test_a_rated_answer_keeps_its_own_buttons_only() -> None:
    more = [{"title": "More events", "payload": "/events_more"}]
    assert rows(without_feedback(reply_markup(ANSWER, more))) == [
        [{"text": "More events", "callback_data": "/events_more"}]
    ]
    assert without_feedback(reply_markup(ANSWER)) is None


def test_only_the_last_chunk_of_a_long_answer_carries_the_feedback_row(
    fake_telegram: FakeBotApi,
) -> None:
    fake_telegram.clear()
    long_answer = "A placebo has no active ingredient. " * 200 + "Learn more: https://ecrin.org"
    output = TelegramOutput(make_bot(TOKEN, fake_telegram.url), chat_id=2001)
    asyncio.run(output.send_text_message("someone", long_answer))
    *first, last = fake_telegram.sent()
    assert first and all("reply_markup" not in chunk for chunk in first)
    assert last["reply_markup"]["inline_keyboard"] == [FEEDBACK_ROW]


# --- A plan to keep arrives as a document -------------------------------------------------

PLAN_TO_KEEP = "This plan was made today from the sources it names."


@pytest.fixture
def plan_guidance(tmp_path, monkeypatch):
    return use_small_guidance(tmp_path, monkeypatch)


def offered(query: str = QUERY, made: str | None = "2026-12-01") -> dict:
    """The message after a plan, as Rasa hands it to the channel (utter_plan_to_keep)."""
    return {"text": PLAN_TO_KEEP, "custom": {"involvement_plan": {"query": query, "made": made}}}


def test_a_plan_to_keep_is_sent_as_its_page_after_the_text(
    fake_telegram: FakeBotApi, database_url: str, plan_guidance
) -> None:
    fake_telegram.clear()
    output = TelegramOutput(make_bot(TOKEN, fake_telegram.url), chat_id=2002)
    asyncio.run(output.send_response("someone", offered()))
    assert [call.method for call in fake_telegram.calls] == ["sendMessage", "sendDocument"]
    assert fake_telegram.sent()[0]["text"] == PLAN_TO_KEEP
    [sent] = fake_telegram.documents()
    assert sent["chat_id"] == "2002" and sent["caption"] == PLAN_CAPTION
    page = sent["document"]
    assert page.filename == "patient-involvement-plan-2026-12-01.html"
    assert page.content_type == "text/html"
    assert "Patient-involvement plan: a rare-disease trial in Italy" in page.text
    assert "Step for the design stage." in page.text
    assert "Step for the payment help topic." in page.text
    assert SOURCE_URL in page.text and "ItaCRIN" in page.text  # its sources and contacts
    assert output.sent == 2


@pytest.mark.parametrize(
    "custom",
    [
        {"involvement_plan": {"query": "stage=launch", "made": "2026-12-01"}},
        {"involvement_plan": {"query": QUERY, "made": "2999-01-01"}},
        {"involvement_plan": "stage=design"},
        {"involvement_plan": {"made": "2026-12-01"}},
    ],
)
def test_a_bad_plan_payload_is_logged_and_skipped(
    fake_telegram: FakeBotApi, database_url: str, plan_guidance, caplog, custom
) -> None:
    fake_telegram.clear()
    output = TelegramOutput(make_bot(TOKEN, fake_telegram.url), chat_id=2003)
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        asyncio.run(output.send_response("someone", {"text": PLAN_TO_KEEP, "custom": custom}))
    assert [call.method for call in fake_telegram.calls] == ["sendMessage"]
    assert "Skipped a plan payload that cannot be read" in caplog.text


def test_other_custom_payloads_are_not_shown(fake_telegram: FakeBotApi) -> None:
    fake_telegram.clear()
    output = TelegramOutput(make_bot(TOKEN, fake_telegram.url), chat_id=2004)
    asyncio.run(output.send_custom_json("someone", {"map": {"lat": 48.8, "lon": 2.3}}))
    assert fake_telegram.calls == [] and output.sent == 0


def send(assistant: Assistant, update: dict | bytes, secret: str | None = TELEGRAM_SECRET):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return assistant.post(WEBHOOK, body, headers=headers)


@pytest.fixture
def telegram(assistant: Assistant, fake_telegram: FakeBotApi) -> FakeBotApi:
    fake_telegram.clear()
    return fake_telegram


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_missing_or_wrong_secret_is_forbidden(assistant, telegram, secret) -> None:
    status, reply = send(assistant, message_update("hi"), secret=secret)
    assert status == 403 and "secret" in reply["error"]
    assert telegram.calls == []


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b"\xff\xfe", 400), (b"{" + b" " * 70_000 + b"}", 413)],
)
def test_malformed_updates_get_a_4xx(assistant, telegram, body, status) -> None:
    assert send(assistant, body)[0] == status
    assert telegram.calls == []


def test_a_question_is_answered_in_html_with_everything_escaped(assistant, telegram) -> None:
    assert send(assistant, message_update("What is ECRIN?", chat_id=1001))[0] == 200
    [reply] = telegram.sent()
    assert reply["chat_id"] == "1001" and reply["parse_mode"] == "HTML"
    assert "European Clinical Research Infrastructure Network" in reply["text"]


def test_user_html_is_never_sent_back_unescaped(assistant, telegram) -> None:
    update = message_update("<b>hello</b> <script>alert(1)</script>", chat_id=1002)
    assert send(assistant, update)[0] == 200
    replies = telegram.sent()
    assert replies, "the message got no reply"  # or the check below would pass on nothing
    for reply in replies:
        assert reply["chat_id"] == "1002" and reply["parse_mode"] == "HTML"
        assert "<script>" not in reply["text"] and "<b>" not in reply["text"]


def test_buttons_become_an_inline_keyboard(assistant, telegram) -> None:
    # The involvement form's stage question: the four stages, and a way to say "not sure".
    send(assistant, message_update("/plan_involvement", chat_id=1003))
    markup = telegram.sent()[-1]["reply_markup"]
    titles = [row[0]["text"] for row in markup["inline_keyboard"]]
    assert titles == [
        "Setting research priorities",
        "Designing the study",
        "Running the study",
        "Sharing the results",
        "Not sure",
    ]
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in markup["inline_keyboard"])


def test_a_pressed_button_is_answered_and_fed_back_as_its_payload(assistant, telegram) -> None:
    update = callback_update('/faq_pick{"faq_key":"faq_trials/placebo"}', chat_id=1004)
    assert send(assistant, update)[0] == 200
    assert (
        telegram.sent("answerCallbackQuery")[0]["callback_query_id"]
        == update["callback_query"]["id"]
    )
    assert "placebo" in telegram.sent()[-1]["text"].lower()


def test_a_button_whose_payload_was_too_long_sends_its_title(assistant, telegram) -> None:
    send(assistant, callback_update("t:0", chat_id=1005))
    assert "placebo" in telegram.sent()[-1]["text"].lower()


def test_photo_caption_is_read_and_a_sticker_gets_a_text_only_reply(assistant, telegram) -> None:
    photo = [{"file_id": "AgAD", "file_unique_id": "u1", "width": 90, "height": 90}]
    send(assistant, message_update(chat_id=1006, photo=photo, caption="what is a placebo"))
    assert "placebo" in telegram.sent()[-1]["text"].lower()
    sticker = {"file_id": "CAAD", "file_unique_id": "u2", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
    send(assistant, message_update(chat_id=1006, sticker=sticker))
    assert telegram.sent()[-1]["text"] == TEXT_ONLY


def test_group_messages_are_answered_in_the_group(assistant, telegram) -> None:
    send(assistant, message_update("What is EUPATI?", chat_id=-100123))
    assert telegram.sent()[-1]["chat_id"] == "-100123"


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 9001, "edited_message": message_update("edited text")["message"]},
        {
            "update_id": 9002,
            "channel_post": {
                "message_id": 5,
                "chat": {"id": -1009, "title": "News", "type": "channel"},
                "date": 1764460800,
                "text": "channel news",
            },
        },
        {"update_id": 9003, "an_update_type_from_the_future": {"id": 1}},
    ],
)
def test_update_types_we_do_not_handle_are_acknowledged_and_ignored(
    assistant, telegram, update
) -> None:
    assert send(assistant, update)[0] == 200
    assert telegram.calls == []


def test_commands(assistant, telegram) -> None:
    send(assistant, message_update("/start", chat_id=1007))
    assert "ECRIN assistant" in telegram.sent()[-1]["text"]
    send(assistant, message_update("/help", chat_id=1007))
    assert "I can explain" in telegram.sent()[-1]["text"]
    send(assistant, message_update("/privacy", chat_id=1007))
    assert telegram.sent()[-1]["text"] == html.escape(PRIVACY_NOTICE, quote=False)


def test_chat_ids_are_pseudonymised_and_forget_erases_the_conversation(assistant, telegram) -> None:
    chat_id = 987654321
    send(assistant, message_update("What is a placebo?", chat_id=chat_id))
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        senders = {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}
    ours = pseudonym("tg", chat_id, TELEGRAM_SECRET)
    assert ours in senders and _has_placebo(path, ours)
    assert all(str(chat_id) not in s for s in senders)

    send(assistant, message_update("/forget", chat_id=chat_id))
    assert telegram.sent()[-1]["text"] == FORGOTTEN
    with sqlite3.connect(path) as connection:
        left = connection.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ?", (ours,)
        ).fetchone()
    assert left == (0,)


def _has_placebo(path: str, sender: str) -> bool:
    return any("placebo" in text.lower() for text in _user_texts(path, sender))


def test_an_answer_can_be_rated_once_and_the_rating_is_stored(assistant, telegram) -> None:
    chat_id = 1011
    send(assistant, message_update("What is a placebo?", chat_id=chat_id))
    answer = telegram.messages()[-1]
    assert answer["reply_markup"]["inline_keyboard"][-1] == FEEDBACK_ROW

    telegram.clear()
    update = callback_update(NEGATIVE, chat_id=chat_id, message=answer)
    assert send(assistant, update)[0] == 200
    [answered] = telegram.sent("answerCallbackQuery")
    assert answered["text"] == THANKS
    [edited] = telegram.sent("editMessageReplyMarkup")
    assert int(edited["message_id"]) == answer["message_id"]
    assert "reply_markup" not in edited  # no other buttons: the keyboard is gone
    assert telegram.sent(), "the rating got no reply"
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    assert NEGATIVE in _user_texts(path, pseudonym("tg", chat_id, TELEGRAM_SECRET))


def _user_texts(path: str, sender: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


def test_a_plan_from_the_real_assistant_arrives_as_a_document(assistant, telegram) -> None:
    text = "We're designing a rare disease trial in Italy. How should we pay our patient partners?"
    assert send(assistant, message_update(text, chat_id=1012))[0] == 200
    assert telegram.calls[-1].method == "sendDocument"  # after the plan's messages
    [sent] = telegram.documents()
    assert sent["caption"] == PLAN_CAPTION and sent["document"].filename.endswith(".html")
    page = sent["document"].text
    assert "Patient-involvement plan: a rare-disease trial" in page and "ItaCRIN" in page
    assert 'class="sources"' in page and "https://" in page
