"""Ratings of answers — 👍 / 👎 clicked (payloads) and typed praise or complaints (the same
intents) — in the transcript, the inbox, the exports and the dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from bot.review.charts import daily_bars
from bot.tracker_db.dashboard import DailyCount
from bot.tracker_db.engine import get_engine
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.store import ConversationStore
from tests.review.conftest import REST_ID, TELEGRAM_ID, WEB_ID, logged_in
from tests.review.seeding import (
    BASE_TIME,
    COMPLAINT,
    HELLO,
    LOW,
    PARTNER,
    PLACEBO,
    PRAISE,
    THUMBS_DOWN,
    THUMBS_UP,
    Chat,
    save_chats,
)

DAY = 86_400
# 2026-11-05: 👎 on the first answer, a typed complaint about the second, 👍 on the third.
RATED = Chat(
    "rated", [PLACEBO, THUMBS_DOWN, LOW, COMPLAINT, HELLO, THUMBS_UP], start=BASE_TIME + 3 * DAY
)
# 2026-11-06: typed praise.
PRAISED = Chat("praised", [PARTNER, PRAISE], channel="telegram", start=BASE_TIME + 4 * DAY)
# A 👎 with no answer before it (say, the first message after a reload of an old page).
ORPHAN = Chat("orphan", [THUMBS_DOWN], start=BASE_TIME + 5 * DAY)


@pytest.fixture
def store(seeded: str) -> ConversationStore:
    save_chats(seeded, [RATED, PRAISED, ORPHAN])
    return ConversationStore(get_engine(seeded), low_confidence=0.7)


def senders(store: ConversationStore, **filters) -> list[str]:
    return [c.sender_id for c in store.inbox(InboxFilters(**filters), size=50).items]


def test_the_rating_filter_works_with_the_others(store: ConversationStore) -> None:
    assert senders(store, rating="not_helpful") == ["orphan", "rated"]
    assert senders(store, rating="helpful") == ["praised", "rated"]
    assert senders(store, rating="helpful", channel="telegram") == ["praised"]
    assert senders(store, rating="not_helpful", search="placebo") == ["rated"]
    assert senders(store, rating="helpful", date_to=dt.date(2026, 11, 5)) == ["rated"]
    assert senders(store, rating="not_helpful", handoff=True) == []


def test_inbox_rows_count_the_ratings(store: ConversationStore) -> None:
    rows = {c.sender_id: c for c in store.inbox(InboxFilters(), size=50).items}
    assert (rows["rated"].rated_helpful, rows["rated"].rated_not_helpful) == (1, 2)
    assert (rows["praised"].rated_helpful, rows["praised"].rated_not_helpful) == (1, 0)
    assert (rows[WEB_ID].rated_helpful, rows[WEB_ID].rated_not_helpful) == (0, 0)
    # A click is not what the user typed, and its confidence of 1.0 says nothing.
    assert rows["orphan"].first_message == "" and rows["orphan"].lowest_confidence is None


def test_a_rating_is_shown_on_the_answer_it_rates(store: ConversationStore) -> None:
    entries = store.conversation("rated").entries
    said = [(e.kind, e.text) for e in entries if e.kind in ("user", "bot")]
    # The clicks are folded into the answers; the typed complaint stays where it was said.
    assert said == [
        ("user", "What is a placebo?"),
        ("bot", "Answer 1. Learn more: https://ecrin.org"),
        ("bot", "Sorry. Could you say what you needed?"),
        ("user", "do trials pay for my bus ticket"),
        ("bot", "Answer 3. Learn more: https://ecrin.org"),
        ("user", "that's not what I asked"),
        ("bot", "Sorry about that."),
        ("user", "hello"),
        ("bot", "Answer 5. Learn more: https://ecrin.org"),
        ("bot", "Thank you, I'm glad it helped!"),
    ]
    rated = {e.text.split(".")[0]: e.ratings for e in entries if e.ratings}
    assert [r.label for r in rated["Answer 1"]] == ["👎 Rated not helpful"]
    assert [r.label for r in rated["Answer 3"]] == ["👎 Typed complaint"]
    assert [r.label for r in rated["Answer 5"]] == ["👍 Rated helpful"]
    complaint = next(e for e in entries if e.text == "that's not what I asked")
    assert complaint.rating == rated["Answer 3"][0] and complaint.rating.typed
    [orphan] = [e for e in store.conversation("orphan").entries if e.kind == "user"]
    assert orphan.rating.label == "👎 Rated not helpful"


def test_dashboard_satisfaction(store: ConversationStore) -> None:
    numbers = store.dashboard(days=7, today=dt.date(2026, 11, 8))
    assert (numbers.clicked_helpful, numbers.clicked_not_helpful) == (1, 2)
    assert (numbers.typed_praise, numbers.typed_complaints) == (1, 1)
    assert numbers.clicked_ratings == 3
    assert numbers.satisfaction_rate == pytest.approx(2 / 5)
    by_day = {point.day: point.value for point in numbers.satisfaction_per_day}
    assert by_day[dt.date(2026, 11, 5)] == pytest.approx(1 / 3)
    assert by_day[dt.date(2026, 11, 6)] == 1.0
    assert by_day[dt.date(2026, 11, 7)] == 0.0  # the orphan 👎: rated, and not helpful
    assert by_day[dt.date(2026, 11, 2)] is None  # nobody rated anything: no value, not 0 %
    assert len(numbers.satisfaction_per_day) == 7
    nothing = store.dashboard(days=7, today=dt.date(2027, 1, 1))
    assert nothing.satisfaction_rate is None and nothing.clicked_ratings == 0


def test_days_without_a_value_get_no_bar() -> None:
    days = [dt.date(2026, 11, d) for d in (1, 2, 3)]
    chart = daily_bars(
        "Satisfaction",
        [DailyCount(days[0], 0.5), DailyCount(days[1], None), DailyCount(days[2], 0.0)],
        percent=True,
        top=1.0,
    )
    bars = re.findall(r'<rect [^>]*height="([\d.]+)"', str(chart))
    assert len(bars) == 2 and float(bars[1]) > 0  # 0 % is a sliver, unlike no rating at all
    assert "Mon 02 Nov" not in chart and "100%" in chart
    empty = daily_bars("Satisfaction", [DailyCount(days[0], None)], no_data="No ratings.")
    assert "<rect" not in empty and "No ratings." in empty


@pytest.fixture
def admin(seeded_sqlite: str):
    save_chats(seeded_sqlite, [RATED, PRAISED, ORPHAN])
    return logged_in(seeded_sqlite)


def test_the_conversation_page_shows_ratings_not_payloads(admin) -> None:
    page = admin.client.get("/conversation?id=rated").text
    assert "/feedback_" not in page
    assert page.count("👎 Rated not helpful") == 1 and page.count("👍 Rated helpful") == 1
    # A typed complaint: on the answer (with a link to it) and on the message itself.
    assert page.count("👎 Typed complaint") == 2 and "that&#39;s not what I asked" in page
    answer = page.index("Answer 1. Learn more")
    assert answer < page.index("👎 Rated not helpful") < page.index("Sorry. Could you say")
    orphan = admin.client.get("/conversation?id=orphan").text
    assert "👎 Rated not helpful" in orphan and "/feedback_" not in orphan


def test_the_inbox_page_filters_and_flags_ratings(admin) -> None:
    page = admin.client.get("/?rating=not_helpful").text
    assert "2 conversations match." in page and '<option value="not_helpful" selected>' in page
    assert "👎 not helpful (2)" in page and "👍 helpful</span>" in page
    assert "1 conversation match." in admin.client.get("/?rating=helpful&channel=telegram").text
    odd = admin.client.get("/?rating=great")  # a 400 that says why
    assert odd.status_code == 400 and "Unknown rating" in odd.text


def test_exports_have_the_ratings(admin) -> None:
    rows = list(csv.DictReader(io.StringIO(admin.client.get("/export.csv").text)))
    counts = {r["conversation"]: (r["rated_helpful"], r["rated_not_helpful"]) for r in rows}
    assert counts["rated"] == ("1", "2") and counts["praised"] == ("1", "0")
    assert counts[REST_ID] == counts[TELEGRAM_ID] == counts[WEB_ID] == ("0", "0")
    document = json.loads(admin.client.get("/export.json?rating=helpful&channel=telegram").text)
    assert document["filters"] == {"rating": "helpful", "channel": "telegram"}
    [praised] = document["conversations"]
    assert praised["rated_helpful"] == 1 and praised["stuck"] is False
    [praise] = [m for m in praised["messages"] if "rating" in m]
    assert (praise["text"], praise["rating"], praise["rating_typed"]) == (
        "great, thanks, that helped",
        "helpful",
        True,
    )


def test_the_dashboard_page_shows_satisfaction(admin) -> None:
    page = admin.client.get("/dashboard?days=365").text
    assert "Satisfaction per day" in page
    assert "3 ratings (1 👍, 2 👎)" in page and "1 typed complaint," in page
