"""Issue 15, the data behind the look-ups, on real SQLite databases: partners' contact pages,
"is there a EUPATI platform in my country?" (bot, action, follow-up, policy, database down),
hybrid events and the organisers' time zones, and migration 0003 from 0002."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.partners import ActionEupatiPlatform
from actions.repair import ActionFollowUp
from bot import conversation, db, events, partners
from bot.countries import gazetteer
from bot.models import Attendance, Event
from bot.seed import SEED_DIR, SeedError, check_event, seed_events
from tests.conftest import seed_database
from tests.dialogue_events import action, bot, tracker_after, user

FIXTURES = Path(__file__).parent / "fixtures"
CHECKED = dt.date(2026, 12, 6)


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The real seed data on a new SQLite file, also set as DATABASE_URL."""
    url = seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}")
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def country(name: str):
    found = gazetteer().resolve(name)
    assert found is not None
    return found


# --- Partners: contact pages and when each row was checked ---------------------------------


def test_partner_answer_gives_the_contact_page_when_known(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        text = partners.answer(partners.lookup(session, country("Spain")))
    assert "SCReN" in text and "https://www.scren.eu, or its contact page" in text
    assert text.endswith("Learn more: https://www.scren.eu/investigadores_EN.html")


def test_partner_without_contact_page_still_ends_with_its_website(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        text = partners.answer(partners.lookup(session, country("France")))
    assert "contact page" not in text and text.endswith("Learn more: https://www.fcrin.org")


def test_every_partner_row_says_when_it_was_checked_and_links_are_web_addresses() -> None:
    for name in ("partners.yml", "eupati_platforms.yml"):
        for row in yaml.safe_load((SEED_DIR / name).read_text())["partners"]:
            assert row["last_checked"] in (CHECKED, dt.date(2026, 11, 30)), row["slug"]
            for field in ("website", "contact_url", "source_url"):
                assert str(row.get(field) or "https://").startswith("http"), row["slug"]


# --- "Is there a EUPATI platform in my country?" -------------------------------------------


def test_platform_yes_gives_name_website_and_link(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        text = partners.platform_answer(partners.platform_lookup(session, country("Italia")))
    assert text.startswith("Yes. The EUPATI National Platform in Italy is AdPEE")
    assert "Its website is https://accademiadeipazienti.org." in text
    assert text.endswith("Learn more: https://accademiadeipazienti.org")


def test_platform_yes_without_website_points_to_eupatis_list(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        text = partners.platform_answer(partners.platform_lookup(session, country("Denmark")))
    assert text.startswith("Yes. The EUPATI National Platform in Denmark is EUPATI Danmark.")
    assert text.endswith(f"Learn more: {partners.EUPATI_PLATFORMS_PAGE}")


def test_platform_no_says_none_is_listed_and_offers_the_alternatives(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        poland = partners.platform_answer(partners.platform_lookup(session, country("Poland")))
        usa = partners.platform_answer(partners.platform_lookup(session, country("USA")))
    assert poland.startswith("I don't have a EUPATI National Platform listed for Poland.")
    assert "ECRIN's national partner is POLCRIN" in poland  # the nearest that exists
    assert poland.endswith(f"Learn more: {partners.EUPATI_PLATFORMS_PAGE}")
    assert usa.startswith("I don't have a EUPATI National Platform listed for the United States.")
    assert "ECRIN's national partner" not in usa


def test_no_country_asks_which_and_lists_those_with_a_platform(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        text = partners.platform_question(session)
    assert text.startswith("Which country are you asking about?")
    assert "Austria, Belgium" in text and "the Netherlands" in text and "Poland" not in text


def platform_tracker(text: str, slots: dict[str, Any] | None = None) -> Tracker:
    return tracker_after([user(text, "ask_eupati_platform")], slots=slots)


def run(action_class, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    returned = action_class().run(dispatcher, t, {})
    return dispatcher.messages, returned


def test_action_uses_the_country_in_the_message_and_remembers_it(sqlite_url: str) -> None:
    messages, returned = run(
        ActionEupatiPlatform, platform_tracker("is there a eupati platform in Sweden?")
    )
    assert "EUPATI Sverige" in messages[0]["text"]
    assert [(e["name"], e["value"]) for e in returned] == [("country", "Sweden")]


def test_action_uses_the_conversations_country_or_asks(sqlite_url: str) -> None:
    messages, returned = run(
        ActionEupatiPlatform,
        platform_tracker("is there a eupati platform in my country?", {"country": "Finland"}),
    )
    assert "EUPATI Suomi" in messages[0]["text"] and returned == []
    messages, _ = run(ActionEupatiPlatform, platform_tracker("is there a eupati platform here?"))
    assert messages[0]["text"].startswith("Which country are you asking about?")


def test_database_down_gives_a_polite_message_and_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: the connection is refused, as when the server is down.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    messages, _ = run(ActionEupatiPlatform, platform_tracker("eupati platform in France?"))
    assert [m["response"] for m in messages] == ["utter_lookup_unavailable"]
    assert "EUPATI platform look-up failed for FR" in caplog.text


PLATFORM_TURN = [
    user("is there a EUPATI platform in Sweden?", "ask_eupati_platform"),
    action("action_eupati_platform"),
    bot("Yes. The EUPATI National Platform in Sweden is EUPATI Sverige. Learn more: …"),
]


@pytest.mark.parametrize(
    ("text", "intent"),
    [("and in Italy?", "inform"), ("and in Italy?", "ask_partner"), ("Italy", "inform")],
)
def test_follow_up_looks_up_the_platform_in_the_new_country(
    sqlite_url: str, text: str, intent: str
) -> None:
    messages, returned = run(ActionFollowUp, tracker_after([*PLATFORM_TURN, user(text, intent)]))
    assert "Accademia del Paziente Esperto" in messages[0]["text"]
    assert "ItaCRIN" not in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "country", "value": "Italy"} in returned


def test_follow_up_after_the_question_for_a_country(sqlite_url: str) -> None:
    asked = [
        user("is there a eupati platform in my country?", "ask_eupati_platform"),
        action("action_eupati_platform"),
        bot("Which country are you asking about? … Learn more: …"),
        user("Norway", "inform"),
    ]
    messages, _ = run(ActionFollowUp, tracker_after(asked))
    assert "EUPATI Norge" in messages[0]["text"]


def test_the_last_topic_knows_the_platform_look_up_and_the_others() -> None:
    def last(events: list[dict[str, Any]]) -> str | None:
        turn = conversation.last_topic(events)
        return turn.topic if turn else None

    assert last([*PLATFORM_TURN, user("and in Italy?", "inform")]) == conversation.EUPATI_PLATFORM
    partner_turn = [user("partner in France", "ask_partner"), action("action_find_partner")]
    later = [*PLATFORM_TURN, *partner_turn, user("and Spain?", "inform")]
    assert last(later) == conversation.PARTNER
    assert last([user("hi", "greet")]) is None


def test_policy_continues_the_platform_look_up(tmp_path: Path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.policies import CONTINUE_LOOK_UP, FollowUpPolicy
    from bot.settings import PROJECT_ROOT

    domain = Domain.load(PROJECT_ROOT / "domain.yml")
    assert "ask_eupati_platform" in domain.intents
    assert "action_eupati_platform" in domain.action_names_or_texts
    policy = FollowUpPolicy.create(
        FollowUpPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("follow_up"),
        ExecutionContext(GraphSchema({})),
    )

    def said(text: str, intent: str, entity_value: str | None) -> UserUttered:
        entities = []
        if entity_value:
            start = text.index(entity_value)
            entities = [
                {"entity": "country", "value": entity_value, "start": start,
                 "end": start + len(entity_value)}
            ]  # fmt: skip
        parse = {"intent": {"name": intent, "confidence": 0.8}, "entities": entities}
        return UserUttered(text, parse["intent"], entities, parse)

    def prediction(*latest: UserUttered) -> str | None:
        tracker = DialogueStateTracker.from_events(
            "t",
            [
                ActionExecuted("action_listen"),
                said("is there a EUPATI platform in Sweden?", "ask_eupati_platform", "Sweden"),
                ActionExecuted("action_eupati_platform"),
                BotUttered("Yes. The EUPATI National Platform in Sweden is EUPATI Sverige."),
                ActionExecuted("action_listen"),
                *latest,
            ],
            slots=domain.slots,
        )
        result = policy.predict_action_probabilities(tracker, domain)
        best = max(range(len(result.probabilities)), key=result.probabilities.__getitem__)
        return domain.action_names_or_texts[best] if result.probabilities[best] > 0 else None

    assert prediction(said("and in Italy?", "ask_partner", "Italy")) == CONTINUE_LOOK_UP
    assert prediction(said("Italy", "ask_partner", "Italy")) == CONTINUE_LOOK_UP
    # A partner question of its own is left to the rules (the partner form).
    assert prediction(said("who is the ECRIN partner in Italy", "ask_partner", "Italy")) is None


# --- Events: hybrid attendance and the organisers' time zone -------------------------------


def past_answer(url: str, question: str) -> str:
    today = dt.date(2026, 12, 6)
    with db.session_scope(url) as session:
        return events.answer(session, events.parse_query(question, today), today).text


def test_hybrid_events_and_times_in_the_organisers_time_zone(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        by_slug = {e.slug: e for e in session.scalars(select(Event))}
        hybrid = sorted(s for s, e in by_slug.items() if e.attendance == Attendance.HYBRID)
        assert hybrid == ["ictd-2022", "ictd-2023", "ictd-2024"]
        assert not any(by_slug[s].online for s in hybrid)
        assert by_slug["ictd-2022"].timezone == "Europe/Berlin"
        assert by_slug["peof-2020"].timezone == "Europe/Brussels"
        # "09.00-10.55 CET" on a September date: no zone fits, the written offset stays.
        assert by_slug["enp-agm-2020"].timezone is None
        text = events._describe(by_slug["ictd-2022"])
    assert text.startswith(
        "• International Clinical Trials Day 2022: Recruitment in Clinical Trials — "
        "17 May 2022, 10:00 to 17:00 CEST (Berlin time), in Berlin or online (a hybrid event)."
    )
    answer = past_answer(sqlite_url, "awareness days in May 2024")
    assert "23 May 2024, 10:00 to 18:30 EEST (Thessaloniki time), in Thessaloniki or online" in (
        answer
    )
    # No time of day in the source: none shown.
    assert "20 May 2025, Madrid." in past_answer(sqlite_url, "awareness days in May 2025")
    conferences = past_answer(sqlite_url, "past conferences")
    assert "25 June 2020 to 23 November 2020, starting at 15:00 CEST (Brussels time), online" in (
        conferences
    )
    assert "17 September 2020, 09:00 to 10:55 UTC+01:00, online." in conferences


def test_winter_and_summer_times_are_named_by_the_zone(sqlite_url: str) -> None:
    with db.session_scope(sqlite_url) as session:
        forum = session.scalars(select(Event).where(Event.slug == "swiss-patient-forum-2026")).one()
        assert "13 February 2026, 09:30 to 17:00 CET (Bern time)" in events._describe(forum)


def test_fixture_hybrid_event_keeps_its_written_offset(tmp_path: Path) -> None:
    # Lisbon is on UTC+00:00 in December; the made-up row says +01:00: no zone is guessed.
    url = seed_database(f"sqlite:///{tmp_path / 'fixtures.db'}", FIXTURES / "events.yml")
    with db.session_scope(url) as session:
        event = session.scalars(
            select(Event).where(Event.slug == "test-conference-researchers-dec")
        ).one()
        assert (event.attendance, event.timezone) == (Attendance.HYBRID, None)
        assert events._describe(event).startswith(
            "• Test conference for researchers — 10 December 2026 to 11 December 2026, "
            "starting at 09:00 UTC+01:00, in Lisbon or online (a hybrid event)."
        )


ROW = {
    "slug": "x",
    "title": "X",
    "kind": "webinar",
    "organiser": "ECRIN",
    "starts_at": "2027-02-01T14:00:00+01:00",
    "source_url": "https://example.org",
}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"attendance": "partly"}, "attendance must be one of in_person, online, hybrid"),
        ({"attendance": "hybrid", "online": True}, "online is true but attendance is hybrid"),
        ({"timezone": "Europe/Atlantis"}, "is not an IANA time zone"),
        ({"timezone": "Europe/Lisbon"}, "do not match timezone Europe/Lisbon"),
    ],
)
def test_bad_attendance_or_time_zone_is_named(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        check_event({**ROW, **extra}, "events.yml, event 1 (x)")


def test_attendance_and_time_zone_defaults() -> None:
    values = check_event({**ROW, "online": "true"}, "here")
    assert (values["attendance"], values["online"], values["timezone"]) == ("online", True, None)
    values = check_event({**ROW, "attendance": "Hybrid", "country": "BE"}, "here")
    assert (values["attendance"], values["online"]) == ("hybrid", False)
    assert values["timezone"] == "Europe/Brussels"


# --- Migration 0003 ------------------------------------------------------------------------


def test_migration_0003_upgrades_a_0002_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0002")
    engine = sa.create_engine(url, future=True)
    with engine.begin() as connection:
        for slug, online in (("old-online", True), ("old-in-person", False)):
            connection.execute(
                sa.text(
                    "INSERT INTO events (slug, title, kind, organiser, audience, online, "
                    "source_url) VALUES (:slug, 'Old', 'webinar', 'ECRIN', 'everyone', "
                    ":online, 'https://example.org')"
                ),
                {"slug": slug, "online": online},
            )
    db.upgrade(url, "0003")
    inspector = sa.inspect(engine)
    assert "contact_url" in {c["name"] for c in inspector.get_columns("partners")}
    assert {"attendance", "timezone"} <= {c["name"] for c in inspector.get_columns("events")}
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT slug, attendance FROM events")).all())
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert rows == {"old-online": "online", "old-in-person": "in_person"} and version == "0003"
    # The seed (run on the latest schema) then fills the new fields in from data/db.
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_events(session)
        assert (
            session.scalars(select(Event.attendance).where(Event.slug == "ictd-2023")).one()
            == "hybrid"
        )
    engine.dispose()
