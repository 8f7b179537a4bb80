"""Partner data on a real SQLite database: seeding, look-ups and the answers built from them."""

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot import db
from bot.countries import gazetteer
from bot.models import Partner
from bot.partners import answer, lookup
from bot.seed import PARTNER_FILES, SEED_DIR, SeedError, seed_partners


def country(name: str):
    found = gazetteer().resolve(name)
    assert found is not None
    return found


def test_seeding_twice_updates_and_never_duplicates(database_url: str) -> None:
    with db.session_scope(database_url) as session:
        report = seed_partners(session)
        count = session.scalar(select(func.count()).select_from(Partner))
    seeded = sum(
        len(yaml.safe_load(path.read_text())["partners"])
        for path in (SEED_DIR / name for name in PARTNER_FILES)
        if path.exists()
    )
    assert (report.created, report.updated) == (0, 0)  # the fixture seeded already
    assert report.unchanged == count == seeded


def test_a_changed_seed_row_is_updated_in_place(database_url: str, tmp_path: Path) -> None:
    rows = yaml.safe_load((SEED_DIR / "partners.yml").read_text())
    rows["partners"][1]["city"] = "Somewhere else"
    changed = tmp_path / "partners.yml"
    changed.write_text(yaml.safe_dump(rows))
    with db.session_scope(database_url) as session:
        report = seed_partners(session, changed)
    assert report.updated == 1 and report.created == 0
    with db.session_scope(database_url) as session:
        slug = rows["partners"][1]["slug"]
        assert (
            session.scalars(select(Partner).where(Partner.slug == slug)).one().city
            == "Somewhere else"
        )


def test_a_bad_seed_row_writes_nothing(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "partners.yml"
    good_row = {
        "slug": "new-partner",
        "kind": "ecrin_partner",
        "name": "New",
        "country": "BE",
        "source_url": "https://example.org",
        "last_checked": dt.date(2026, 1, 1),
    }
    bad.write_text(
        yaml.safe_dump({"partners": [good_row, {**good_row, "slug": "x", "country": "Belgium"}]})
    )
    with (
        pytest.raises(SeedError, match=r"partner 2 \(x\): country must be an ISO"),
        db.session_scope(database_url) as session,
    ):
        seed_partners(session, bad)
    with db.session_scope(database_url) as session:
        assert session.scalars(select(Partner).where(Partner.slug == "new-partner")).first() is None


def test_answer_names_the_partner_and_ends_with_its_website(database_url: str) -> None:
    with db.session_scope(database_url) as session:
        text = answer(lookup(session, country("France")))
    assert "F-CRIN" in text and "Toulouse" in text
    assert text.endswith("Learn more: https://www.fcrin.org")


def test_partner_without_verified_website_points_to_the_ecrin_office(database_url: str) -> None:
    with db.session_scope(database_url) as session:
        text = answer(lookup(session, country("Greece")))
    assert "GRECRIN" in text and "don't have a verified website" in text
    assert text.endswith("Learn more: https://ecrin.org")


def test_country_without_partner_says_so_and_offers_the_office(database_url: str) -> None:
    with db.session_scope(database_url) as session:
        text = answer(lookup(session, country("Belgium")))
    assert text.startswith("ECRIN has no national partner in Belgium yet.")
    assert "https://ecrin.org" in text


@pytest.mark.parametrize(
    ("name", "opening"),
    [
        ("Czechia", "ECRIN's national partner in the Czech Republic is CZECRIN"),
        ("Norway", "ECRIN's national partner in Norway is NorCRIN"),
        ("Slovak Republic", "ECRIN's national partner in Slovakia is SLOVACRIN"),
        ("Éire", "ECRIN's national partner in Ireland is NCTO"),
        ("Holland", "ECRIN has no national partner in the Netherlands yet."),
        ("UK", "ECRIN has no national partner in the United Kingdom yet."),
        ("USA", "ECRIN has no national partner in the United States yet."),
    ],
)
def test_answer_names_the_country_as_a_sentence_reads(
    database_url: str, name: str, opening: str
) -> None:
    # "in the Netherlands", not "in Netherlands"; whatever name the user typed.
    with db.session_scope(database_url) as session:
        text = answer(lookup(session, country(name)))
    assert text.startswith(opening)


@pytest.mark.parametrize(
    ("name", "language", "opening"),
    [
        ("Switzerland", "de", "Der nationale Partner von ECRIN in der Schweiz ist SCTO"),
        ("Netherlands", "it", "ECRIN non ha ancora un partner nazionale nei Paesi Bassi."),
        ("Portugal", "fr", "Le partenaire national d'ECRIN au Portugal est PtCRIN"),
        ("Netherlands", "en", "ECRIN has no national partner in the Netherlands yet."),
        ("UK", "es", "ECRIN todavía no tiene socio nacional en el Reino Unido."),
    ],
)
def test_answer_puts_the_country_after_in_as_the_language_does(
    database_url: str, name: str, language: str, opening: str
) -> None:
    # "in der Schweiz", never "in Schweiz" nor the name in parentheses.
    with db.session_scope(database_url) as session:
        text = answer(lookup(session, country(name)), language)
    assert text.startswith(opening)
    assert f"({country(name).name_in(language)})" not in text


def test_norway_has_its_partner_and_patient_platform(database_url: str) -> None:
    # Norway was unknown while countries.yml had an unquoted `iso: NO` (YAML's false).
    with db.session_scope(database_url) as session:
        found = lookup(session, country("Norwegian"))
        assert [p.acronym for p in found.ecrin_partners] == ["NorCRIN"]
        assert found.eupati_platforms
        assert answer(found).endswith("Learn more: https://www.norcrin.no")
