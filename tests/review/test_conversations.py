"""Inbox filters, transcript, hand-off queue and dashboard numbers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.review import annotations
from bot.tracker_db.engine import get_engine
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.inbox import short_id
from bot.tracker_db.store import ConversationStore
from tests.review.conftest import REST_ID, TELEGRAM_ID, WEB_ID, XSS
from tests.review.seeding import BASE_TIME, HELLO, Chat, Turn, save_chats


@pytest.fixture
def store(seeded: str) -> ConversationStore:
    return ConversationStore(get_engine(seeded), low_confidence=0.7)


def senders(store: ConversationStore, **filters) -> list[str]:
    page = store.inbox(InboxFilters(**filters), page=1, size=50)
    return [summary.sender_id for summary in page.items]


def test_inbox_lists_conversations_newest_first_with_their_signals(
    store: ConversationStore,
) -> None:
    page = store.inbox(InboxFilters())
    assert [c.sender_id for c in page.items] == [REST_ID, TELEGRAM_ID, WEB_ID]
    assert page.total == 3
    rest, telegram, web = page.items
    assert (web.channel, telegram.channel, rest.channel) == ("web", "telegram", "rest")
    assert web.first_message == "hello" and web.user_messages == 2
    assert web.intents == ["greet", "faq_trials/placebo"]
    assert telegram.fallback and telegram.handoff and not web.fallback and not web.handoff
    assert rest.lowest_confidence == pytest.approx(0.31)
    assert all(c.status == "unread" for c in page.items)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"channel": "telegram"}, [TELEGRAM_ID]),
        ({"channel": "web"}, [WEB_ID]),
        ({"intent": "greet"}, [REST_ID, WEB_ID]),
        ({"intent": "faq_trials/placebo"}, [WEB_ID]),
        ({"intent": "faq_trials/costs"}, [REST_ID]),
        ({"intent": "faq_trials"}, [REST_ID, WEB_ID]),
        ({"low_confidence": True}, [REST_ID, TELEGRAM_ID]),
        ({"fallback": True}, [TELEGRAM_ID]),
        ({"handoff": True}, [TELEGRAM_ID]),
        ({"search": "PLACEBO"}, [WEB_ID]),
        ({"search": "50%_off"}, [REST_ID]),
        ({"search": "%"}, [REST_ID]),
        ({"search": "_"}, [REST_ID]),
        ({"search": "A stored FAQ answer"}, []),  # in parse data, not in what the user said
        ({"search": "nothing like this"}, []),
        ({"date_from": dt.date(2026, 11, 3)}, [REST_ID, TELEGRAM_ID]),
        ({"date_to": dt.date(2026, 11, 2)}, [WEB_ID]),
        ({"date_from": dt.date(2026, 11, 3), "date_to": dt.date(2026, 11, 3)}, [TELEGRAM_ID]),
        ({"channel": "rest", "low_confidence": True, "search": "trials"}, [REST_ID]),
        ({"channel": "web", "handoff": True}, []),
    ],
)
def test_inbox_filters(store: ConversationStore, filters: dict, expected: list[str]) -> None:
    assert senders(store, **filters) == expected


def test_status_and_tag_filters(store: ConversationStore) -> None:
    engine = store.engine
    annotations.set_status(engine, WEB_ID, "reviewed", "ada")
    annotations.set_status(engine, TELEGRAM_ID, "saved", "ada")
    annotations.set_status(engine, REST_ID, "unread", "ada")
    annotations.add_tag(engine, TELEGRAM_ID, "needs answer", "red", "ada")
    annotations.add_tag(engine, WEB_ID, "needs answer", "red", "rob")
    annotations.add_tag(engine, WEB_ID, "good", "green", "rob")
    assert senders(store, status="reviewed") == [WEB_ID]
    assert senders(store, status="saved") == [TELEGRAM_ID]
    assert senders(store, status="unread") == [REST_ID]
    assert senders(store, tag="needs answer") == [TELEGRAM_ID, WEB_ID]
    assert senders(store, tag="good", status="reviewed") == [WEB_ID]
    assert senders(store, tag="nope") == []
    [web] = store.inbox(InboxFilters(tag="good")).items
    assert [tag.name for tag in web.tags] == ["good", "needs answer"]


def test_pagination(sqlite_url: str) -> None:
    from tests.review.conftest import seed

    chats = [
        Chat(f"page-{number:02d}", [HELLO], start=BASE_TIME + number * 60) for number in range(7)
    ]
    store = ConversationStore(get_engine(seed(sqlite_url, chats)))
    first = store.inbox(InboxFilters(), page=1, size=3)
    last = store.inbox(InboxFilters(), page=3, size=3)
    beyond = store.inbox(InboxFilters(), page=99, size=3)
    assert [c.sender_id for c in first.items] == ["page-06", "page-05", "page-04"]
    assert [c.sender_id for c in last.items] == ["page-00"]
    assert (first.pages, first.has_next, first.has_previous) == (3, True, False)
    assert (last.has_next, last.has_previous) == (False, True)
    assert beyond.number == 3


def test_filters_round_trip_through_the_query_string() -> None:
    params = {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "channel": "telegram",
        "intent": "faq_trials/placebo",
        "low_confidence": "1",
        "fallback": "1",
        "handoff": "1",
        "rating": "not_helpful",
        "stuck": "1",
        "status": "saved",
        "tag": "urgent",
        "q": "placebo",
    }
    filters, problems = InboxFilters.from_params(params)
    assert problems == [] and filters.to_params() == params and filters.active
    odd, problems = InboxFilters.from_params(
        {"from": "yesterday", "channel": "fax", "rating": "meh", "stuck": "no"}
    )
    assert odd == InboxFilters() and len(problems) == 3


def test_transcript_shows_predictions_entities_and_actions(store: ConversationStore) -> None:
    conversation = store.conversation(REST_ID)
    assert conversation is not None
    kinds = [entry.kind for entry in conversation.entries]
    assert kinds[:4] == ["session", "user", "action", "bot"]
    users = [entry for entry in conversation.entries if entry.kind == "user"]
    assert users[0].prediction.response_key == "faq_trials/costs"
    assert users[0].prediction.response_confidence == pytest.approx(0.3)
    assert users[1].prediction.entities == (("country", "France"),)
    assert XSS in users[2].text
    actions = [entry.action for entry in conversation.entries if entry.kind == "action"]
    assert "action_partner" in actions and "action_listen" not in actions
    fallback = store.conversation(TELEGRAM_ID).entries[1].prediction
    assert fallback.intent == "nlu_fallback" and fallback.best_guess == "faq_trials"
    assert store.conversation("no-such-sender") is None


def test_handoff_queue_shows_the_question_before_the_request(store: ConversationStore) -> None:
    later = Chat(
        "later-handoff",
        [
            Turn("is my data shared with the sponsor?", "faq_trials", 0.9),
            Turn("human pls", "handoff"),
        ],
        start=BASE_TIME + 5 * 86_400,
    )
    save_chats(store.engine.url.render_as_string(hide_password=False), [later])
    page = store.handoffs()
    assert [item.sender_id for item in page.items] == ["later-handoff", TELEGRAM_ID]
    first = page.items[0]
    assert (first.question, first.request) == ("is my data shared with the sponsor?", "human pls")
    assert page.items[1].question == "zzqx blorf wibble"
    annotations.set_status(store.engine, TELEGRAM_ID, "reviewed", "ada")
    assert [item.sender_id for item in store.handoffs(status="unread").items] == ["later-handoff"]
    assert [item.status for item in store.handoffs(status="reviewed").items] == ["reviewed"]


def test_dashboard_numbers(store: ConversationStore) -> None:
    numbers = store.dashboard(days=7, today=dt.date(2026, 11, 5))
    assert numbers.first_day == dt.date(2026, 10, 30)
    assert numbers.conversations == 3
    assert numbers.messages == 7
    assert numbers.fallbacks == 1 and numbers.handoffs == 1
    assert numbers.fallback_rate == pytest.approx(1 / 7)
    by_day = {point.day: point.value for point in numbers.messages_per_day}
    assert by_day[dt.date(2026, 11, 2)] == 2 and by_day[dt.date(2026, 11, 4)] == 3
    assert len(numbers.messages_per_day) == 7
    fallback = {point.day: point.value for point in numbers.fallback_rate_per_day}
    assert fallback[dt.date(2026, 11, 3)] == 0.5 and fallback[dt.date(2026, 11, 2)] == 0
    assert fallback[dt.date(2026, 10, 30)] is None  # no messages: no rate, not 0 %
    assert dict(numbers.top_intents)["greet"] == 2
    empty = store.dashboard(days=7, today=dt.date(2027, 1, 1))
    assert empty.messages == 0 and empty.fallback_rate == 0


@pytest.mark.parametrize(
    ("sender", "shown"),
    [
        (WEB_ID, "3f2a9c1e…"),
        (TELEGRAM_ID, "tg-01234567…"),
        ("pytest", "pytest"),
        ("jane@example.org", "[email]"),
    ],
)
def test_sender_ids_are_shortened_and_never_show_an_address(sender: str, shown: str) -> None:
    assert short_id(sender) == shown
