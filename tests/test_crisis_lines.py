"""The crisis-line table: its seed file, migration, look-ups and the reply composed from it,
on real databases (SQLite, and PostgreSQL where reachable)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from alembic.config import Config

from bot import crisis_lines, db
from bot.answers import ALLOWED_PHONES, phone_numbers
from bot.cli import main
from bot.countries import gazetteer
from bot.models import CrisisLine
from bot.seed import SEED_DIR, SeedError, seed_crisis_lines

SEED_FILE = SEED_DIR / "crisis_lines.yml"
ROWS = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))["crisis_lines"]
DOWN = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"


@pytest.fixture
def crisis_db(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with the checked crisis lines, set as DATABASE_URL."""
    db.upgrade(empty_database)
    with db.session_scope(empty_database) as session:
        seed_crisis_lines(session)
    monkeypatch.setenv("DATABASE_URL", empty_database)
    return empty_database


def country(name: str):
    return gazetteer().resolve(name)


# --- The seed file ------------------------------------------------------------------------


def test_every_row_names_the_page_it_was_checked_on_and_when() -> None:
    assert len(ROWS) >= 30
    for row in ROWS:
        assert row["source_url"].startswith(("https://", "http://")), row["slug"]
        assert isinstance(row["last_checked"], dt.date), row["slug"]
        assert row["last_checked"] <= dt.date.today(), row["slug"]


def test_the_table_covers_most_european_countries_the_assistant_knows() -> None:
    covered = {row["country"] for row in ROWS}
    european = {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS",
        "IE", "IT", "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI",
        "ES", "SE", "CH", "GB",
    }  # fmt: skip
    assert covered <= set(gazetteer().countries)
    assert len(covered & european) >= 25


def test_docs_list_every_line_with_its_source() -> None:
    docs = (SEED_DIR.parent.parent / "docs" / "safety.md").read_text(encoding="utf-8")
    for row in ROWS:
        assert f"| {row['phone']} |" in docs, row["slug"]
        assert row["source_url"] in docs, row["slug"]


def test_allowed_phones_are_116_123_and_the_numbers_of_the_table() -> None:
    table = set().union(*(phone_numbers(row["phone"]) for row in ROWS))
    assert {"116 123"} | table == ALLOWED_PHONES
    assert "0800 111 0 111" in ALLOWED_PHONES


# --- Seeding ------------------------------------------------------------------------------


def test_seed_loads_every_row_and_running_it_again_changes_nothing(crisis_db: str) -> None:
    with db.session_scope(crisis_db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CrisisLine)) == len(ROWS)
        again = seed_crisis_lines(session)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(ROWS))


def test_a_corrected_row_is_updated_not_duplicated(crisis_db: str, tmp_path: Path) -> None:
    row = next(r for r in ROWS if r["slug"] == "fr-3114")
    changed = tmp_path / "crisis_lines.yml"
    changed.write_text(
        yaml.safe_dump({"crisis_lines": [{**row, "hours": "free, day and night"}]}),
        encoding="utf-8",
    )
    with db.session_scope(crisis_db) as session:
        report = seed_crisis_lines(session, changed)
        hours = [line.hours for line in crisis_lines.lines_for(session, country("France"))]
    assert (report.created, report.updated) == (0, 1)
    assert hours == ["free, day and night"]


GOOD = {
    "slug": "xx-test",
    "country": "FR",
    "name": "Test line",
    "phone": "0800 123 456",
    "hours": "free, 24 hours a day",
    "source_url": "https://example.org/line",
    "last_checked": dt.date(2026, 12, 6),
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone": "call 0800 123 456"}, "phone must be digits and spaces"),
        ({"phone": "+33 800 123 456"}, "phone must be digits and spaces"),
        ({"source_url": None}, "missing field(s) source_url"),
        ({"last_checked": None}, "missing field(s) last_checked"),
        ({"last_checked": "last week"}, "last_checked must be a date"),
        ({"hours": "24 hours a day"}, "hours must start with a word"),
        ({"country": "fr"}, "ISO 3166-1"),
        ({"country": "ZZ"}, "not in data/db/countries.yml"),
        ({"website": "www.example.org"}, "website must be a web address"),
        ({"rank": 0}, "rank must be a whole number"),
        ({"fax": "123"}, "unknown field(s) fax"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field(change: dict, message: str, tmp_path: Path) -> None:
    path = tmp_path / "crisis_lines.yml"
    path.write_text(yaml.safe_dump({"crisis_lines": [{**GOOD, **change}]}), encoding="utf-8")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'never.db'}")
    with (
        pytest.raises(SeedError, match="crisis_line 1 \\(xx-test\\)") as error,
        sa.orm.Session(engine) as session,
    ):
        seed_crisis_lines(session, path)
    assert message in str(error.value)


def test_bot_db_seed_loads_the_crisis_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "seed"]) == 0
    assert f"Crisis lines: {len(ROWS)} created" in capsys.readouterr().out


# --- The migration ------------------------------------------------------------------------


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def test_migration_0004_adds_the_table_and_its_downgrade_removes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrate.db'}"
    db.upgrade(url, "0004")
    inspector = sa.inspect(db.get_engine(url))
    columns = {column["name"] for column in inspector.get_columns("crisis_lines")}
    assert {
        "slug", "country", "rank", "name", "phone", "hours", "notes", "website",
        "source_url", "last_checked",
    } <= columns  # fmt: skip
    command.downgrade(_alembic(url), "0003")
    assert "crisis_lines" not in sa.inspect(db.get_engine(url)).get_table_names()
    assert "partners" in sa.inspect(db.get_engine(url)).get_table_names()


def test_migration_0004_follows_0003() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic("sqlite://"))
    assert script.get_revision("0004").down_revision == "0003"
    assert len(script.get_heads()) == 1  # one line of history, no branch


# --- Look-ups -----------------------------------------------------------------------------


def test_lines_of_a_country_come_in_rank_order(crisis_db: str) -> None:
    with db.session_scope(crisis_db) as session:
        belgium = [line.slug for line in crisis_lines.lines_for(session, country("Belgium"))]
        denmark = crisis_lines.lines_for(session, country("Denmark"))
    assert belgium == [
        "be-zelfmoordlijn-1813",
        "be-centre-prevention-suicide",
    ]
    assert denmark == []


def test_countries_where_116_123_reaches_a_listening_line(crisis_db: str) -> None:
    with db.session_scope(crisis_db) as session:
        names = [c.name for c in crisis_lines.countries_on(session)]
    assert {"United Kingdom", "Ireland", "Norway", "Hungary"} <= set(names)
    assert "France" not in names
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("text", "slot", "iso"),
    [
        ("I'm in Lyon and I want to die", None, "FR"),
        ("i want to end it all", "Deutschland", "DE"),
        # The message says where the person is now; the slot may be an older answer.
        ("I'm in Vienna now and I can't go on", "Germany", "AT"),
        ("not in Germany, I live in Austria, and I want to die", None, "AT"),
        ("I want to kill myself", None, None),
    ],
)
def test_where_the_person_is(text: str, slot: str | None, iso: str | None) -> None:
    found = crisis_lines.country_of(text, slot)
    assert (found.iso if found else None) == iso


# --- The reply ----------------------------------------------------------------------------


def test_reply_names_the_crisis_line_of_the_country_in_the_message(crisis_db: str) -> None:
    text = crisis_lines.reply("i'm in Belgium and i want to kill myself", None)
    assert text.startswith("I'm really sorry you're feeling this way")
    assert "112" in text
    assert "In Belgium, you can talk to someone at Zelfmoordlijn on 1813" in text
    assert "Centre de Prévention du Suicide on 0800 32 123 \u2014 free, 24 hours a day" in text


def test_reply_uses_the_country_of_the_conversation(crisis_db: str) -> None:
    text = crisis_lines.reply("i just want it all to be over", "Netherlands")
    assert "In the Netherlands, you can talk to someone at 113 Zelfmoordpreventie" in text
    assert "113 or 0800 0113" in text


def test_reply_for_a_country_without_a_checked_line_points_to_the_directory(
    crisis_db: str,
) -> None:
    text = crisis_lines.reply("I live in Denmark and I want to die", None)
    assert "112" in text
    assert "I don't have a checked crisis line for Denmark yet" in text
    assert "https://findahelpline.com lists free, confidential helplines there" in text


def test_reply_without_a_country_lists_where_116_123_works_and_asks_nothing(
    crisis_db: str,
) -> None:
    text = crisis_lines.reply("i dont want to live anymore", None)
    assert "112" in text and "116 123" in text and "https://findahelpline.com" in text
    assert "the United Kingdom" in text and "Ireland" in text
    assert "?" not in text


def test_reply_when_the_database_is_down_still_cares_and_says_112(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", DOWN)
    with caplog.at_level(logging.ERROR):
        text = crisis_lines.reply("I'm in France and I want to die", None)
    assert text.startswith("I'm really sorry")
    assert "call 112" in text
    assert "https://findahelpline.com lists free, confidential helplines by country" in text
    assert "Crisis line look-up failed for FR" in caplog.text


def test_every_reply_says_112_only_vetted_numbers_and_no_question(crisis_db: str) -> None:
    countries = list(gazetteer().countries.values())
    with db.session_scope(crisis_db) as session:
        replies = [crisis_lines.compose(c, crisis_lines.lines_for(session, c)) for c in countries]
        replies.append(crisis_lines.compose(None, [], crisis_lines.countries_on(session)))
    replies.append(crisis_lines.compose(None, None))
    for text in replies:
        assert "112" in text, text
        assert phone_numbers(text) <= ALLOWED_PHONES, text
        assert "?" not in text, text
        assert "https://findahelpline.com" in text, text


def test_at_most_two_lines_of_a_country_are_named() -> None:
    lines = [CrisisLine(name=f"Line {n}", phone=f"{n}00", hours=None, rank=n) for n in (1, 2, 3)]
    text = crisis_lines.compose(country("France"), lines)
    assert "Line 1 on 100; or at Line 2 on 200." in text
    assert "Line 3" not in text
