"""Patient-involvement plans given to researchers: shown in a conversation, counted on the
dashboard. Plans are stored as Rasa stores them: the bot event `create_bot_utterance` makes
from the action's `utter_plan_to_keep` message with its custom payload."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa.core.actions.action import create_bot_utterance
from rasa.shared.core.events import BotUttered

from bot.involvement import Situation
from bot.tracker_db.engine import get_engine
from bot.tracker_db.plans import EVERY_STAGE, GivenPlan, count_plans, plan_in_event, read_plan
from bot.tracker_db.store import ConversationStore
from tests.review.conftest import CHATS, logged_in, seed
from tests.review.seeding import BASE_TIME, Chat, Turn

PLAN_TO_KEEP = "This plan was made today from the sources it names."
QUERY = "stage=design&kind=trial&population=rare_disease&country=Italy&help=payment"


def plan_message(query: str, made: str | None, at: float) -> BotUttered:
    """The message after a plan, as Rasa stores it (actions/involvement.py `say_plan`)."""
    payload = {"query": query} if made is None else {"query": query, "made": made}
    event = create_bot_utterance(
        {
            "text": PLAN_TO_KEEP,
            "custom": {"involvement_plan": payload},
            "utter_action": "utter_plan_to_keep",
        }
    )
    event.timestamp = at
    return event


def researcher(sender: str, day: int, *plans: tuple[str, str | None]) -> Chat:
    """A researcher's conversation on day `day` after BASE_TIME that ends with `plans`."""
    start = BASE_TIME + day * 86_400
    return Chat(
        sender,
        [Turn("how do we involve patients in our trial?", "plan_involvement", 0.95)],
        channel="web",
        start=start,
        extra=tuple(
            event
            for number, (query, made) in enumerate(plans)
            for event in (
                BotUttered(f"Here is patient-involvement plan {number + 1}.", timestamp=start + 60),
                plan_message(query, made, start + 60),
            )
        ),
    )


DESIGN_ITALY = "researcher-italy"
TWO_PLANS = "researcher-two-plans"
BAD_ONLY = "researcher-bad-link"
LONG_AGO = "researcher-long-ago"

PLAN_CHATS = [
    researcher(DESIGN_ITALY, 1, (QUERY, "2026-11-03")),
    researcher(
        TWO_PLANS,
        2,
        ("stage=design,conduct&kind=device&population=children", "2026-11-04"),
        ("", "2026-11-04"),  # "not sure" about everything: the general plan
    ),
    # Links that cannot be read are left out: an unknown stage, a non-string query.
    researcher(BAD_ONLY, 2, ("stage=launch&kind=trial", "2026-11-04"), ("kind=trial", "soon")),
    researcher(LONG_AGO, -60, ("stage=dissemination&kind=observational", "2026-09-03")),
]


@pytest.fixture
def store(tracker_url: str) -> ConversationStore:
    seed(tracker_url, [*CHATS, *PLAN_CHATS])
    return ConversationStore(get_engine(tracker_url), low_confidence=0.7)


def test_a_plan_payload_is_read_and_a_bad_one_is_not() -> None:
    plan = read_plan({"involvement_plan": {"query": QUERY, "made": "2026-11-03"}})
    assert plan == GivenPlan(
        Situation(("design",), "trial", ("rare_disease",), "Italy", ("payment",)),
        dt.date(2026, 11, 3),
    )
    assert plan.stages == ["Designing the study"] and plan.kind == "Trial of a medicine"
    assert plan.populations == ["Rare disease"] and plan.country == "Italy"
    assert plan.help == ["Paying patient partners"]
    assert plan.situation_label == "Trial of a medicine · Rare disease"
    assert read_plan({"involvement_plan": {"query": "kind=trial", "made": "soon"}}).made is None
    for bad in (
        None,
        {"map": {}},
        {"involvement_plan": "stage=design"},
        {"involvement_plan": {"query": 7}},
        {"involvement_plan": {"query": "stage=launch"}},
        {"involvement_plan": {"query": "country=Atlantis"}},
    ):
        assert read_plan(bad) is None
    assert plan_in_event({"event": "bot", "data": None}) is None
    assert plan_in_event({"event": "bot", "data": ["odd"]}) is None


def test_plans_are_counted_by_stage_and_by_situation() -> None:
    plans = [
        read_plan({"involvement_plan": {"query": query}})
        for query in (QUERY, "stage=design,conduct&kind=trial&population=rare_disease", "")
    ]
    counts = count_plans(plans)
    assert counts.total == 3
    assert counts.by_stage == [
        ("Setting research priorities", 0),
        ("Designing the study", 2),
        ("Running the study", 1),
        ("Sharing the results", 0),
        (EVERY_STAGE, 1),
    ]
    assert counts.by_situation == [
        ("Trial of a medicine · Rare disease", 2),
        ("Kind not said · population not said", 1),
    ]


def test_the_conversation_shows_the_plan_it_gave(store: ConversationStore) -> None:
    conversation = store.conversation(TWO_PLANS)
    assert [entry.text for entry in conversation.plans] == [PLAN_TO_KEEP, PLAN_TO_KEEP]
    first, general = (entry.plan for entry in conversation.plans)
    assert first.stages == ["Designing the study", "Running the study"]
    assert (first.kind, first.populations, first.country) == (
        "Medical device study",
        ["Children and young people"],
        "not said",
    )
    assert first.made == dt.date(2026, 11, 4)
    assert general.stages == [EVERY_STAGE] and general.help == ["Not sure (every topic)"]
    bad = store.conversation(BAD_ONLY)
    plans = [entry.plan for entry in bad.plans]
    assert len(plans) == 1 and plans[0].kind == "Trial of a medicine" and plans[0].made is None
    assert store.conversation(CHATS[0].sender_id).plans == []


def test_the_dashboard_counts_the_plans_of_the_period(store: ConversationStore) -> None:
    numbers = store.dashboard(days=7, today=dt.date(2026, 11, 5))
    plans = numbers.plans
    assert plans.total == 4  # the plan from September is outside the period
    assert dict(plans.by_stage) == {
        "Setting research priorities": 0,
        "Designing the study": 2,
        "Running the study": 1,
        "Sharing the results": 0,
        EVERY_STAGE: 2,
    }
    assert plans.by_situation == [
        ("Kind not said · population not said", 1),
        ("Medical device study · Children and young people", 1),
        ("Trial of a medicine · Rare disease", 1),
        ("Trial of a medicine · population not said", 1),
    ]
    year = store.dashboard(days=365, today=dt.date(2026, 11, 5)).plans
    assert year.total == 5 and dict(year.by_stage)["Sharing the results"] == 1
    assert store.dashboard(days=7, today=dt.date(2027, 1, 1)).plans.total == 0


@pytest.fixture
def staff(sqlite_url: str):
    seed(sqlite_url, [*CHATS, *PLAN_CHATS])
    return logged_in(sqlite_url)


def test_the_conversation_page_shows_the_plan(staff) -> None:
    page = staff.client.get(f"/conversation?id={DESIGN_ITALY}").text
    assert "Involvement plan given" in page
    for shown in (
        "Designing the study",
        "Trial of a medicine",
        "Rare disease",
        "Italy",
        "Paying patient partners",
        "2026-11-03",
        "Gave an involvement plan to keep",
    ):
        assert shown in page, shown
    assert "Involvement plans given" in staff.client.get(f"/conversation?id={TWO_PLANS}").text
    assert "Involvement plan" not in staff.client.get(f"/conversation?id={CHATS[0].sender_id}").text


def test_the_dashboard_page_charts_the_plans(staff) -> None:
    page = staff.client.get("/dashboard?days=365").text
    assert "Involvement plans by research stage" in page
    assert "Involvement plans by situation" in page
    assert "Medical device study · Children and young people: 1" in page  # a bar's tooltip
    assert "Designing the study: 2" in page
