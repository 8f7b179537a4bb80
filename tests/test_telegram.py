"""The Telegram channel: real Rasa server, real channel code, a local fake Bot API."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import sqlite3
from collections.abc import Iterator

import pytest

from bot.channels.telegram import (
    FORGOTTEN,
    PLAN_CAPTION,
    TEXT_ONLY,
    TelegramInput,
    TelegramOutput,
    make_bot,
    parse_update,
)
from bot.channels.telegram_buttons import (
    MORE_GONE,
    MORE_TITLE,
    MoreStore,
    button_data,
    reply_markup,
    without_feedback,
)
from bot.channels.telegram_language import AUTOMATIC_TITLE, CHOSEN_MARK, CHOSEN_PAYLOAD
from bot.channels.telegram_language import PROMPT as LANGUAGE_PROMPT
from bot.feedback import NEGATIVE, POSITIVE, THANKS
from bot.privacy import PRIVACY_NOTICE, pseudonym
from bot.welcome import welcome
from tests.conftest import TELEGRAM_SECRET, Assistant
from tests.telegram_fake import TOKEN, FakeBotApi, callback_update, check_html, message_update
from tests.test_plan_page import QUERY, SOURCE_URL, use_small_guidance

WEBHOOK = "/webhooks/telegram/webhook"
ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


@pytest.fixture
def fake_bot_api(fake_telegram: FakeBotApi) -> Iterator[FakeBotApi]:
    """The fake Bot API, cleared, and checked afterwards: Telegram refused nothing we sent
    (bad HTML, too long a message, button data over 64 bytes)."""
    fake_telegram.clear()
    yield fake_telegram
    assert fake_telegram.refused == []


def test_long_button_payloads_fall_back_to_the_button_title() -> None:
    assert button_data(0, "/greet") == "/greet"
    long_payload = '/faq_pick{"faq_key":"faq_trials/observational_vs_interventional"}'
    assert button_data(2, long_payload) == "t:2"
    # A payload that would read as our own "More" or title marker is never sent as is.
    assert button_data(3, "more:abc") == "t:3"


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
    fake_bot_api: FakeBotApi,
) -> None:
    # One sentence too long for a message: the lead itself is split.
    long_answer = (
        "A placebo has no active & inert ingredient" * 200 + ". Learn more: https://ecrin.org"
    )
    output = TelegramOutput(make_bot(TOKEN, fake_bot_api.url), chat_id=2001)
    asyncio.run(output.send_text_message("someone", long_answer))
    *first, last = fake_bot_api.sent()
    assert first and all("reply_markup" not in chunk for chunk in first)
    assert last["reply_markup"]["inline_keyboard"] == [FEEDBACK_ROW]
    assert all(reply["parse_mode"] == "HTML" for reply in fake_bot_api.sent())
    assert ANCHOR.findall(last["text"]) == [("https://ecrin.org", "Read more on the ECRIN website")]


# --- Long answers: the lead, and the rest behind "More" -------------------------------------

LONG_ANSWER = (
    "A placebo is a treatment with no active ingredient. It looks exactly like the treatment "
    "being tested, so nobody can tell them apart. Researchers compare the two groups to see "
    "whether the treatment works. Learn more: https://www.ema.europa.eu/en/placebo"
)


def telegram_input(fake: FakeBotApi, store: MoreStore | None = None) -> TelegramInput:
    channel = TelegramInput(TOKEN, TELEGRAM_SECRET, fake.url, "pseudonym-key")
    if store is not None:
        channel.more = store
    return channel


def press(channel: TelegramInput, data: str, message: dict, chat_id: int) -> list:
    """A press of `data` under `message`, handled by the channel; what reached Rasa."""
    delivered: list = []

    async def on_new_message(user_message) -> None:
        delivered.append(user_message.text)

    update = parse_update(callback_update(data, chat_id=chat_id, message=message), channel.bot)
    asyncio.run(channel.handle(update, on_new_message))
    return delivered


def more_button(message: dict) -> str:
    [data] = [
        button["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
        if button["text"] == MORE_TITLE
    ]
    return data


def test_a_long_answer_sends_its_lead_and_more_sends_the_rest(fake_bot_api: FakeBotApi) -> None:
    channel = telegram_input(fake_bot_api)
    output = TelegramOutput(channel.bot, chat_id=2010, more=channel.more)
    asyncio.run(output.send_text_message("someone", LONG_ANSWER))
    [lead] = fake_bot_api.messages()
    shown = check_html(lead["text"])
    assert (
        shown
        == "A placebo is a treatment with no active ingredient.\n\nRead more on the EMA website"
    )
    keyboard = lead["reply_markup"]["inline_keyboard"]
    data = more_button(lead)
    assert keyboard == [[{"text": MORE_TITLE, "callback_data": data}], FEEDBACK_ROW]
    assert len(data.encode()) <= 64

    fake_bot_api.clear()
    assert press(channel, data, lead, chat_id=2010) == []  # answered by the channel, not Rasa
    [rest] = fake_bot_api.sent()
    assert check_html(rest["text"]) == (
        "It looks exactly like the treatment being tested, so nobody can tell them apart. "
        "Researchers compare the two groups to see whether the treatment works."
    )
    assert "reply_markup" not in rest
    [edited] = fake_bot_api.sent("editMessageReplyMarkup")
    assert int(edited["message_id"]) == lead["message_id"]
    assert edited["reply_markup"]["inline_keyboard"] == [FEEDBACK_ROW]  # "More" is gone


def test_questions_and_safety_messages_are_never_cut(fake_bot_api: FakeBotApi) -> None:
    trial_treatment = (
        "I can't give advice about your trial treatment. Please contact your study team now. "
        "Don't stop, skip or change anything until you have talked to the study team. "
        "In an emergency, call 112 and say that you are in a clinical trial."
    )
    output = TelegramOutput(make_bot(TOKEN, fake_bot_api.url), chat_id=2011)
    asyncio.run(output.send_text_message("someone", trial_treatment))
    [sent] = fake_bot_api.sent()
    assert check_html(sent["text"]) == trial_treatment and "reply_markup" not in sent


@pytest.mark.parametrize(
    "case", ["expired", "pushed out", "another chat", "forgotten by a restart"]
)
def test_a_more_whose_rest_is_gone_asks_again_politely(fake_bot_api: FakeBotApi, case) -> None:
    store = MoreStore(capacity=1, seconds=0 if case == "expired" else 3600)
    channel = telegram_input(fake_bot_api, store)
    output = TelegramOutput(channel.bot, chat_id=2012, more=store)
    asyncio.run(output.send_text_message("someone", LONG_ANSWER))
    [lead] = fake_bot_api.messages()
    chat_id = 2012
    if case == "pushed out":  # by a newer long answer
        asyncio.run(output.send_text_message("someone", LONG_ANSWER))
    elif case == "another chat":
        chat_id = 2013
        lead = {**lead, "chat": {**lead["chat"], "id": chat_id}}
    else:
        channel = telegram_input(fake_bot_api)
    fake_bot_api.clear()
    assert press(channel, more_button(lead), lead, chat_id=chat_id) == []
    assert [m["text"] for m in fake_bot_api.sent()] == [html.escape(MORE_GONE, quote=False)]
    assert fake_bot_api.sent("answerCallbackQuery")  # the press is answered all the same


@pytest.mark.redis
def test_the_rest_is_kept_in_redis_for_every_replica(
    fake_bot_api: FakeBotApi, redis_server
) -> None:
    import redis

    class LockStore:  # the part of Rasa's RedisLockStore the channel reads
        red = redis.Redis.from_url(redis_server)
        key_prefix = "test-tg-more:"

    output = TelegramOutput(make_bot(TOKEN, fake_bot_api.url), 2014, MoreStore("1"), LockStore)
    asyncio.run(output.send_text_message("someone", LONG_ANSWER))
    [lead] = fake_bot_api.messages()
    token = more_button(lead).removeprefix("more:")
    assert LockStore.red.ttl(f"test-tg-more:tg-more:1:{token}") > 3600
    other_replica = telegram_input(fake_bot_api, MoreStore("1"))
    fake_bot_api.clear()
    delivered: list = []

    async def on_new_message(user_message) -> None:
        delivered.append(user_message)

    update = parse_update(callback_update(more_button(lead), 2014, lead), other_replica.bot)
    asyncio.run(other_replica.handle(update, on_new_message, LockStore))
    assert delivered == []
    [rest] = fake_bot_api.sent()
    assert check_html(rest["text"]).startswith("It looks exactly like the treatment")
    LockStore.red.delete(f"test-tg-more:tg-more:1:{token}")


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


EVENTS_TEXT = (
    "Here is what I found: events for patients:\n"
    "• Patients & research — 12 May 2027, online. https://ecrin.org/events/webinar\n"
    "Learn more: https://ecrin.org/events"
)
EVENT_ENTRY = {
    "title": "Patients & research",
    "starts_on": "2027-05-12",
    "attendance": "online",
    "audience": "patients",
    "url": "https://ecrin.org/events/webinar",
    "calendar_url": "events/webinar.ics",
}


def test_event_cards_replace_the_list_in_one_formatted_message(fake_bot_api: FakeBotApi) -> None:
    output = TelegramOutput(make_bot(TOKEN, fake_bot_api.url), chat_id=2005)
    more = [{"title": "Show more events", "payload": '/ask_events{"events_page": "2"}'}]
    message = {"text": EVENTS_TEXT, "buttons": more, "custom": {"events": [EVENT_ENTRY]}}
    asyncio.run(output.send_response("someone", message))
    [sent] = fake_bot_api.sent()
    assert sent["parse_mode"] == "HTML"
    assert check_html(sent["text"]).split("\n\n") == [
        "Here is what I found: events for patients:",
        "Patients & research\nWhen: 12 May 2027\nWhere: Online\nFor: patients\n"
        "Read more on the ECRIN website",
        "Read more on the ECRIN website",
    ]
    assert "<b>Patients &amp; research</b>" in sent["text"]
    assert [href for href, _ in ANCHOR.findall(sent["text"])] == [
        "https://ecrin.org/events/webinar",
        "https://ecrin.org/events",
    ]
    assert sent["reply_markup"]["inline_keyboard"] == [
        [{"text": "Show more events", "callback_data": '/ask_events{"events_page": "2"}'}],
        FEEDBACK_ROW,
    ]
    assert output.sent == 1


def test_a_partner_card_sent_on_its_own_is_a_formatted_message(fake_bot_api: FakeBotApi) -> None:
    output = TelegramOutput(make_bot(TOKEN, fake_bot_api.url), chat_id=2006)
    partner = {
        "name": "F-CRIN",
        "city": "Toulouse",
        "country": "France",
        "website": "https://www.fcrin.org",
        "contact": "https://www.fcrin.org/contact",
    }
    asyncio.run(output.send_custom_json("someone", {"partners": [partner]}))
    [sent] = fake_bot_api.sent()
    lines = check_html(sent["text"]).splitlines()
    assert lines[:2] == ["F-CRIN", "Toulouse, France"]
    assert sent["text"].startswith("<b>F-CRIN</b>")
    assert [href for href, _ in ANCHOR.findall(sent["text"])] == [
        "https://www.fcrin.org",
        "https://www.fcrin.org/contact",
    ]
    assert all("://" not in label for _, label in ANCHOR.findall(sent["text"]))


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
def telegram(assistant: Assistant, fake_bot_api: FakeBotApi) -> FakeBotApi:
    return fake_bot_api


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


def test_answers_link_their_source_with_a_labelled_anchor(assistant, telegram) -> None:
    assert send(assistant, message_update("What is a placebo?", chat_id=1013))[0] == 200
    [answer] = telegram.sent()
    assert answer["parse_mode"] == "HTML"
    links = ANCHOR.findall(answer["text"])
    assert links, answer["text"]
    for href, label in links:
        assert href.startswith("https://")
        assert label.startswith("Read more on") and "://" not in label
    assert "https://" not in check_html(answer["text"])  # no bare address shown


def test_start_offers_the_welcome_suggestions_as_an_inline_keyboard(assistant, telegram) -> None:
    assert send(assistant, message_update("/start", chat_id=1014))[0] == 200
    greeting = telegram.messages()[-1]
    suggestions = welcome().suggestions
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == [s.title for s in suggestions]
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)

    telegram.clear()  # a suggestion pressed is answered like its question
    first = keyboard[0][0]["callback_data"]
    assert send(assistant, callback_update(first, chat_id=1014, message=greeting))[0] == 200
    assert "trial" in check_html(telegram.sent()[-1]["text"]).lower()


def test_a_long_answer_from_the_assistant_has_more_behind_a_button(assistant, telegram) -> None:
    chat_id = 1015
    send(assistant, message_update("What is a placebo?", chat_id=chat_id))
    lead = telegram.messages()[-1]
    data = more_button(lead)
    telegram.clear()
    assert send(assistant, callback_update(data, chat_id=chat_id, message=lead))[0] == 200
    [rest] = telegram.sent()
    assert check_html(rest["text"]).strip()
    assert check_html(rest["text"]) not in check_html(lead["text"])
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    sender = pseudonym("tg", chat_id, TELEGRAM_SECRET)
    assert data not in _user_texts(path, sender)  # "More" is the channel's, not a message


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
    # The 👍 / 👎 row goes; the answer's "More" (it is a long one) stays.
    assert (
        edited["reply_markup"]["inline_keyboard"] == answer["reply_markup"]["inline_keyboard"][:-1]
    )
    assert [row[0]["text"] for row in edited["reply_markup"]["inline_keyboard"]] == [MORE_TITLE]
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


def test_events_and_partners_from_the_assistant_arrive_as_cards(assistant, telegram) -> None:
    send(assistant, message_update("What events are coming up?", chat_id=1016))
    events = telegram.sent()[-1]["text"]
    assert "<b>" in events and "\nWhen: " in check_html(events)
    assert "•" not in check_html(events)  # the cards stand for the list
    telegram.clear()
    send(assistant, message_update("Who is the ECRIN partner in France?", chat_id=1016))
    partner = "\n\n".join(m["text"] for m in telegram.sent())
    assert re.search(r"<b>[^<]+</b>\n[^\n]*France", partner), partner
    assert all("://" not in label for _, label in ANCHOR.findall(partner))


# --- /language: the answers' language, kept per chat (issue 22) ----------------------------------


def handled(channel: TelegramInput, update: dict, lock_store=None) -> list:
    """`update` handled by the channel; the messages that reached Rasa (text and metadata)."""
    delivered: list = []

    async def on_new_message(user_message) -> None:
        delivered.append((user_message.text, user_message.metadata))

    asyncio.run(channel.handle(parse_update(update, channel.bot), on_new_message, lock_store))
    return delivered


def keyboard_titles(markup: dict) -> list[str]:
    return [row[0]["text"] for row in markup["inline_keyboard"]]


def test_language_offers_automatic_and_each_language_by_its_own_name(fake_bot_api) -> None:
    channel = telegram_input(fake_bot_api)
    assert handled(channel, message_update("/language", chat_id=3001)) == []
    [prompt] = fake_bot_api.messages()
    assert prompt["text"] == LANGUAGE_PROMPT
    assert keyboard_titles(prompt["reply_markup"]) == [
        CHOSEN_MARK + AUTOMATIC_TITLE,  # nothing chosen yet
        "English",
        "Français",
        "Deutsch",
        "Español",
        "Italiano",
    ]
    assert all(
        len(row[0]["callback_data"].encode()) <= 64
        for row in prompt["reply_markup"]["inline_keyboard"]
    )


def test_a_chosen_language_greets_in_it_and_goes_with_every_later_message(fake_bot_api) -> None:
    channel = telegram_input(fake_bot_api)
    handled(channel, message_update("/language", chat_id=3002))
    [prompt] = fake_bot_api.messages()
    fake_bot_api.clear()

    pressed = handled(channel, callback_update("lang:fr", chat_id=3002, message=prompt))
    # The greeting carries the choice, and the user's own Telegram language as a first guess.
    assert pressed == [(CHOSEN_PAYLOAD, {"language": "fr", "accept_language": "en"})]
    [answered] = fake_bot_api.sent("answerCallbackQuery")
    assert answered["text"] == CHOSEN_MARK + "Français"
    [edited] = fake_bot_api.sent("editMessageReplyMarkup")
    assert CHOSEN_MARK + "Français" in keyboard_titles(edited["reply_markup"])
    assert AUTOMATIC_TITLE in keyboard_titles(edited["reply_markup"])  # no longer ticked

    later = handled(channel, message_update("c'est quoi un placebo", chat_id=3002))
    assert later == [("c'est quoi un placebo", {"language": "fr", "accept_language": "en"})]
    # Another chat has chosen nothing.
    other = handled(channel, message_update("hello", chat_id=3003))
    assert other == [("hello", {"accept_language": "en"})]
    # Asked again, the keyboard shows the choice.
    fake_bot_api.clear()
    handled(channel, message_update("/language", chat_id=3002))
    assert CHOSEN_MARK + "Français" in keyboard_titles(fake_bot_api.messages()[-1]["reply_markup"])


@pytest.mark.parametrize(
    ("typed", "chosen"),
    [("/language de", "de"), ("/language ES", "es"), ("/language auto", "auto")],
)
def test_a_language_can_be_typed_after_the_command(fake_bot_api, typed, chosen) -> None:
    channel = telegram_input(fake_bot_api)
    assert handled(channel, message_update(typed, chat_id=3004)) == [
        (CHOSEN_PAYLOAD, {"language": chosen, "accept_language": "en"})
    ]


def test_an_unknown_language_shows_the_keyboard_and_a_stale_button_does_nothing(
    fake_bot_api,
) -> None:
    channel = telegram_input(fake_bot_api)
    assert handled(channel, message_update("/language klingon", chat_id=3005)) == []
    assert fake_bot_api.messages()[-1]["text"] == LANGUAGE_PROMPT
    fake_bot_api.clear()
    # A button of a language since removed from data/languages.yml: answered, nothing sent.
    assert handled(channel, callback_update("lang:nl", chat_id=3005)) == []
    assert fake_bot_api.sent("answerCallbackQuery") and not fake_bot_api.sent()
    assert handled(channel, message_update("hi", chat_id=3005)) == [
        ("hi", {"accept_language": "en"})
    ]


def test_a_rasa_button_that_reads_as_a_language_choice_sends_its_title() -> None:
    assert button_data(4, "lang:fr") == "t:4"


@pytest.mark.redis
def test_the_choice_is_kept_in_redis_for_every_replica(fake_bot_api, redis_server) -> None:
    import redis

    class LockStore:  # the part of Rasa's RedisLockStore the channel reads
        red = redis.Redis.from_url(redis_server)
        key_prefix = "test-tg-lang:"

    one, other = telegram_input(fake_bot_api), telegram_input(fake_bot_api)
    handled(one, message_update("/language it", chat_id=3006), LockStore)
    sender = one.sender_id(3006)
    key = f"test-tg-lang:tg-lang:{one.bot_id}:{sender}"
    assert LockStore.red.get(key) == b"it" and LockStore.red.ttl(key) > 300 * 24 * 3600
    assert "3006" not in key  # under the chat's pseudonym, never its id
    assert handled(other, message_update("ciao", chat_id=3006), LockStore) == [
        ("ciao", {"language": "it", "accept_language": "en"})
    ]
    asyncio.run(other.languages.forget(sender, LockStore))
    assert LockStore.red.get(key) is None


def test_a_choice_reaches_the_assistant_and_forget_drops_it(assistant, telegram) -> None:
    chat_id = 3007
    send(assistant, message_update("/language", chat_id=chat_id))
    prompt = telegram.messages()[-1]
    assert send(assistant, callback_update("lang:de", chat_id=chat_id, message=prompt))[0] == 200
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    sender = pseudonym("tg", chat_id, TELEGRAM_SECRET)
    assert _user_metadata(path, sender)[-1] == {"language": "de", "accept_language": "en"}
    assert telegram.sent(), "the choice got no greeting"

    send(assistant, message_update("/forget", chat_id=chat_id))
    send(assistant, message_update("hello", chat_id=chat_id))
    assert _user_metadata(path, sender) == [{"accept_language": "en"}]  # the choice is gone too


def _user_metadata(path: str, sender: str) -> list[dict]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
            (sender,),
        ).fetchall()
    # Only the channel's keys (Rasa adds its own: model_id, assistant_id).
    return [
        {
            key: value
            for key, value in (json.loads(data).get("metadata") or {}).items()
            if key in ("language", "accept_language")
        }
        for (data,) in rows
    ]


def test_an_answer_in_another_language_gets_the_feedback_row_and_its_source_link() -> None:
    french = "Un placebo n'a pas de principe actif. En savoir plus : https://ecrin.org/placebo"
    assert rows(reply_markup(french))[-1] == FEEDBACK_ROW
    assert rows(reply_markup("Dans quel pays êtes-vous ?")) == []
