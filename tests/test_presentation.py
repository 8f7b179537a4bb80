"""bot/presentation.py: an answer's text read into a lead, "more", lists, labelled links and
cards, without losing a sentence; and data/sites.yml naming every site our answers link to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import presentation
from bot.answers import answer_files, read_answers
from bot.presentation import (
    Block,
    EventCard,
    Link,
    PartnerCard,
    Rich,
    link_label,
    present,
    rich_json,
    sentences,
)
from bot.settings import PROJECT_ROOT

LONG = (
    "Trials of new medicines usually go through four phases. Phase 1 tests a new medicine in "
    "people for the first time, in a small group (for example 20 to 80), to check safety. "
    "Phase 2 includes several hundred people, e.g. patients with the disease. Phase 4 comes "
    "after approval. Learn more: https://www.ema.europa.eu/en/human-regulatory/phases"
)

EVENTS_TEXT = (
    "Here is what I found: webinars in May:\n"
    "• Test webinar — 12 May 2027, 14:00 to 15:00 CEST, online. https://example.org/webinar\n"
    "• Test course — self-paced, start any time, online. Learn more: https://example.org/webinar"
)


def event_entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
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
    entry.update(changes)
    return entry


def faq_answers() -> list[tuple[str, str]]:
    """(key, text) of every FAQ answer variant in data/nlu."""
    return [
        (key, variant["text"])
        for key, variants in read_answers(answer_files()).items()
        for variant in variants
        if variant.get("text")
    ]


def words(rich: Rich) -> str:
    """The visible text of lead and more, links by their address, spaces normalised."""
    parts: list[str] = []
    for block in rich.lead + rich.more:
        lines = [block.runs] if block.kind == "paragraph" else list(block.items)
        for runs in lines:
            parts.append("".join(r if isinstance(r, str) else r.url for r in runs))
    return " ".join(" ".join(parts).split())


def all_links(rich: Rich) -> list[Link]:
    found = [rich.source] if rich.source else []
    for block in rich.lead + rich.more:
        for runs in [block.runs, *block.items]:
            found += [r for r in runs if isinstance(r, Link)]
    for card in rich.cards:
        if isinstance(card, EventCard):
            found += [card.link] if card.link else []
        else:
            found += [link for link in (card.website, card.contact) if link]
    return found


# --- Source link and labels ---------------------------------------------------------------


def test_the_learn_more_link_becomes_the_source_with_the_sites_name() -> None:
    rich = present("A short answer. Learn more: https://ecrin.org/about-clinical-trials")
    assert rich.source == Link(
        "https://ecrin.org/about-clinical-trials", "Read more on the ECRIN website"
    )
    assert rich.lead == (Block("paragraph", runs=("A short answer.",)),)
    assert rich.more == ()


def test_a_www_host_and_a_subdomain_take_the_listed_name() -> None:
    assert link_label("https://www.ema.europa.eu/en/x") == "Read more on the EMA website"
    sites = {"eupati.eu": "EUPATI"}
    assert presentation.site_name("https://at.eupati.eu/page", sites) == "EUPATI"
    assert presentation.site_name("https://noteupati.eu/page", sites) is None


def test_an_unlisted_site_is_named_by_its_host_never_its_address() -> None:
    url = "https://unlisted.example.net/some/long/path?q=1"
    assert link_label(url) == "Read more on unlisted.example.net"
    rich = present(f"See {url} for details.")
    (link,) = [r for r in rich.lead[0].runs if isinstance(r, Link)]
    assert link == Link(url, "unlisted.example.net")


def test_no_label_is_a_bare_address_in_any_answer() -> None:
    for key, text in faq_answers():
        for link in all_links(present(text)):
            assert "://" not in link.label and link.label != link.url, (key, link)
            assert link.label.strip(), key


def test_an_address_inside_a_sentence_keeps_its_punctuation_in_the_text() -> None:
    rich = present("Its website, https://www.fcrin.org, or its contact page (https://x.org/c).")
    runs = rich.lead[0].runs
    assert runs == (
        "Its website, ",
        Link("https://www.fcrin.org", presentation.inline_label("https://www.fcrin.org")),
        ", or its contact page (",
        Link("https://x.org/c", "x.org"),
        ").",
    )


def test_an_answer_without_a_source_has_none() -> None:
    rich = present("Hello! How can I help?")
    assert rich.source is None
    assert words(rich) == "Hello! How can I help?"


# --- Lists ----------------------------------------------------------------------------------


def test_bullet_and_dash_lines_become_one_list_between_paragraphs() -> None:
    rich = present("You can:\n• ask a question\n- find an event\nThat is all.")
    blocks = rich.lead + rich.more
    assert [b.kind for b in blocks] == ["paragraph", "list", "paragraph"]
    assert blocks[1].items == (("ask a question",), ("find an event",))


def test_a_list_item_keeps_its_link() -> None:
    rich = present("Events:\n• Webinar, online. https://example.org/w")
    items = next(b for b in rich.lead + rich.more if b.kind == "list").items
    assert items == (("Webinar, online. ", Link("https://example.org/w", "example.org")),)


def test_a_hyphen_inside_a_line_is_no_list() -> None:
    rich = present("A well-known - and short - answer.")
    assert [b.kind for b in rich.lead] == ["paragraph"]


# --- Lead and more --------------------------------------------------------------------------


def test_a_long_answer_leads_with_its_first_sentence_and_keeps_the_rest() -> None:
    rich = present(LONG)
    assert rich.lead == (
        Block("paragraph", runs=("Trials of new medicines usually go through four phases.",)),
    )
    body = LONG.split(" Learn more:")[0]
    assert words(rich) == body
    assert rich.more[0].runs[0].startswith("Phase 1 tests")
    assert rich.source is not None and rich.source.label == "Read more on the EMA website"


def test_a_short_answer_is_all_lead() -> None:
    rich = present("Yes, taking part is free. Learn more: https://ecrin.org")
    assert rich.more == ()
    assert words(rich) == "Yes, taking part is free."


def test_three_short_sentences_make_a_long_answer() -> None:
    rich = present("One. Two. Three. Learn more: https://ecrin.org")
    assert words(Rich(rich.lead)) == "One."
    assert words(Rich(rich.lead, rich.more)) == "One. Two. Three."


def test_a_long_message_without_a_source_stays_whole() -> None:
    """A question or a safety reply is read in full: only answers hide a rest."""
    rich = present("One. Two. Three. In an emergency, call 112.")
    assert rich.more == () and words(rich) == "One. Two. Three. In an emergency, call 112."


def test_one_very_long_sentence_cannot_be_split() -> None:
    text = "A sentence " + "that goes on " * 30 + "and ends."
    rich = present(text)
    assert words(rich) == text and rich.more == ()


def test_abbreviations_and_addresses_do_not_end_a_sentence() -> None:
    assert sentences("Use a placebo, e.g. A sugar pill. See https://x.org/a.b Then go.") == [
        "Use a placebo, e.g. A sugar pill.",
        "See https://x.org/a.b Then go.",
    ]
    assert sentences('He said "Stop." Then left.') == ['He said "Stop."', "Then left."]


def test_every_faq_answer_keeps_every_sentence() -> None:
    answers = faq_answers()
    assert len(answers) > 50
    for key, text in answers:
        body = presentation.split_source(text)[0]
        assert words(present(text)) == " ".join(body.split()), key


# --- Cards ----------------------------------------------------------------------------------


def test_event_cards_replace_the_list_they_duplicate() -> None:
    custom = {"events": [event_entry(), event_entry(title="Test course", calendar_url=None)]}
    rich = present(EVENTS_TEXT, custom)
    assert [b.kind for b in rich.lead + rich.more] == ["paragraph"]
    assert words(rich) == "Here is what I found: webinars in May:"
    first, second = rich.cards
    assert first == EventCard(
        title="Test webinar",
        starts_on="2027-05-12",
        ends_on="2027-05-12",
        all_day=False,
        time_label="14:00 to 15:00 CEST",
        yearly=False,
        place=None,
        attendance="online",
        audience="patients",
        url="https://example.org/webinar",
        link=Link("https://example.org/webinar", "Read more on example.org"),
        calendar_url="events/test-webinar.ics",
    )
    assert isinstance(second, EventCard) and second.calendar_url is None


def test_an_old_calendar_payload_keeps_the_list() -> None:
    custom = {"events": [{"slug": "w", "title": "W", "calendar_url": "events/w.ics"}]}
    rich = present(EVENTS_TEXT, custom)
    assert rich.cards == ()
    assert any(b.kind == "list" for b in rich.lead + rich.more)


def test_a_stored_payload_cannot_smuggle_links_into_a_card() -> None:
    custom = {
        "events": [event_entry(url="javascript:alert(1)", calendar_url="https://evil.example/x")],
        "partners": [{"name": "P", "website": "data:text/html,x", "contact": 7}],
    }
    event, partner = present("x", custom).cards
    assert isinstance(event, EventCard) and event.url is None and event.link is None
    assert event.calendar_url is None
    assert isinstance(partner, PartnerCard) and partner.website is None and partner.contact is None


def test_hybrid_and_in_person_attendance_read_from_either_spelling() -> None:
    custom = {
        "events": [
            event_entry(attendance="hybrid", place="Paris"),
            event_entry(attendance="in_person"),
            event_entry(attendance="in person"),
        ]
    }
    attendance = [c.attendance for c in present("x", custom).cards]
    assert attendance == ["hybrid", "in person", "in person"]


def test_a_partner_card_has_labelled_website_and_contact_links() -> None:
    custom = {
        "partners": [
            {
                "name": "F-CRIN",
                "city": "Toulouse",
                "country": "France",
                "website": "https://www.fcrin.org",
                "contact": "https://www.fcrin.org/contact",
            }
        ]
    }
    (card,) = present("ECRIN's national partner in France is F-CRIN.", custom).cards
    assert isinstance(card, PartnerCard)
    assert (card.name, card.city, card.country) == ("F-CRIN", "Toulouse", "France")
    assert card.website is not None and card.website.url == "https://www.fcrin.org"
    assert card.website.label.endswith("website") and "://" not in card.website.label
    assert card.contact == Link("https://www.fcrin.org/contact", "Contact page")


# --- JSON -----------------------------------------------------------------------------------


def test_rich_json_has_the_web_chats_shape() -> None:
    custom = {"events": [event_entry()], "partners": [{"name": "P", "city": None}]}
    shown = rich_json(present(LONG.replace("Learn more", "See https://x.org.\nLearn more"), custom))
    assert set(shown) == {"lead", "more", "source", "cards"}
    assert shown["lead"] == [
        {
            "type": "paragraph",
            "runs": [{"text": "Trials of new medicines usually go through four phases."}],
        }
    ]
    assert {"url": "https://x.org", "label": "x.org"} in shown["more"][0]["runs"]
    assert shown["source"] == {
        "url": "https://www.ema.europa.eu/en/human-regulatory/phases",
        "label": "Read more on the EMA website",
    }
    event, partner = shown["cards"]
    assert event["type"] == "event" and event["calendar_url"] == "events/test-webinar.ics"
    assert event["link"] == {
        "url": "https://example.org/webinar",
        "label": "Read more on example.org",
    }
    assert partner == {
        "type": "partner",
        "name": "P",
        "city": None,
        "country": None,
        "website": None,
        "contact": None,
    }
    listed = rich_json(present("Items:\n• one https://x.org"))
    assert listed["lead"][1] == {
        "type": "list",
        "items": [[{"text": "one "}, {"url": "https://x.org", "label": "x.org"}]],
    }
    assert listed["source"] is None


# --- data/sites.yml covers every host we link to ---------------------------------------------

URL_IN_DATA = re.compile(r"https?://[^\s\"'<>)\]]+")


def linked_hosts() -> set[str]:
    """Every host in an FAQ answer, in data/db/*.yml and in domain.yml."""
    files = [
        *sorted((PROJECT_ROOT / "data" / "nlu").glob("faq_*.yml")),
        *sorted((PROJECT_ROOT / "data" / "db").glob("*.yml")),
        PROJECT_ROOT / "domain.yml",
    ]
    hosts = set()
    for path in files:
        for url in URL_IN_DATA.findall(path.read_text(encoding="utf-8")):
            hosts.add(presentation.host_of(url.rstrip(".,;:")))
    return {host for host in hosts if host}


def test_every_linked_site_has_a_name() -> None:
    sites = presentation.load_sites()
    missing = sorted(
        h for h in linked_hosts() if presentation.site_name(f"https://{h}/", sites) is None
    )
    assert not missing, f"add these hosts to data/sites.yml: {missing}"


def test_sites_file_lists_hosts_without_www_or_addresses() -> None:
    table = yaml.safe_load((PROJECT_ROOT / "data" / "sites.yml").read_text(encoding="utf-8"))
    assert isinstance(table["sites"], dict) and table["sites"]
    for host, name in table["sites"].items():
        assert host == host.lower() and not host.startswith(("www.", "http")), host
        assert isinstance(name, str) and name.strip() and "://" not in name, host


def test_an_edited_sites_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "sites.yml"
    path.write_text("sites:\n  example.org: Example\n", encoding="utf-8")
    assert presentation.load_sites(path) == {"example.org": "Example"}
    path.write_text("sites:\n  example.org: Example Two\n", encoding="utf-8")
    assert presentation.load_sites(path) == {"example.org": "Example Two"}
    path.write_text("sites: [broken\n", encoding="utf-8")
    assert presentation.load_sites(path) == {}


@pytest.mark.parametrize("text", ["", "   ", "Learn more: https://ecrin.org"])
def test_an_empty_body_gives_no_blocks(text: str) -> None:
    rich = present(text)
    assert rich.lead == () and rich.more == ()


def test_a_partner_card_leaves_a_list_in_place() -> None:
    custom = {"partners": [{"name": "F-CRIN", "website": "https://www.fcrin.org"}]}
    rich = present("Contacts:\n• F-CRIN\n• EUPATI France", custom)
    assert [b.kind for b in rich.lead + rich.more] == ["paragraph", "list"]
    assert len(rich.cards) == 1


def test_a_source_a_card_already_links_is_not_repeated_under_the_cards() -> None:
    text = "ECRIN's national partner in Italy is ItaCRIN. Learn more: https://www.itacrin.it"
    partner = {"name": "ItaCRIN", "city": "Rome", "website": "https://www.itacrin.it"}
    rich = present(text, {"partners": [partner]})
    assert rich.source is None and rich.cards[0].website.url == "https://www.itacrin.it"
    other = present(text.replace("itacrin.it", "ecrin.org"), {"partners": [partner]})
    assert other.source == Link("https://www.ecrin.org", "Read more on the ECRIN website")
