"""Presented answers as Telegram HTML: labelled links, lists, cards, and splitting that never
cuts a tag. Every message made is checked as Telegram parses it (tests/telegram_fake.py)."""

from __future__ import annotations

import random
import re

import pytest

from bot.channels.telegram_format import (
    Rendered,
    block_html,
    card_html,
    link_html,
    render,
    split_html,
    utf16_len,
)
from bot.presentation import Block, EventCard, Link, PartnerCard, Rich, link_label, present
from tests.telegram_fake import ApiRefusal, check_html

ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def shown(message: str) -> str:
    """What Telegram shows for `message` (and a check that it would accept it)."""
    return check_html(message)


def assert_no_bare_address_as_link_text(message: str) -> None:
    for _, label in ANCHOR.findall(message):
        assert "://" not in label and "www." not in label, label


def test_a_link_is_a_labelled_anchor_with_everything_escaped() -> None:
    link = Link('https://example.org/a?b=1&c="2"', "Read <more> & more")
    produced = link_html(link)
    assert produced == (
        '<a href="https://example.org/a?b=1&amp;c=&quot;2&quot;">Read &lt;more&gt; &amp; more</a>'
    )
    assert shown(produced) == "Read <more> & more"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "tg://resolve?domain=x", "ftp://x.org"])
def test_only_web_addresses_become_links(url: str) -> None:
    produced = link_html(Link(url, "Open it"))
    assert "<a" not in produced and shown(produced) == "Open it"


def test_text_runs_are_escaped_and_lists_are_bullet_lines() -> None:
    paragraph = Block("paragraph", runs=("Tom & Jerry <script>",))
    assert block_html(paragraph) == "Tom &amp; Jerry &lt;script&gt;"
    items = (("First",), ("See ", Link("https://ecrin.org/x", "ECRIN"), " for <more>"))
    produced = block_html(Block("list", items=items))
    assert shown(produced) == "• First\n• See ECRIN for <more>"
    assert '<a href="https://ecrin.org/x">ECRIN</a>' in produced


LONG_ANSWER = (
    "A placebo is a treatment with no active ingredient. It looks exactly like the treatment "
    "being tested. Researchers compare the two groups to see whether the treatment works, and "
    "people taking part are told in advance if a placebo may be used. "
    "Learn more: https://www.ema.europa.eu/en/human-regulatory-overview/placebo"
)


def test_a_long_answer_leads_with_its_first_sentence_and_its_source() -> None:
    rendered = render(present(LONG_ANSWER))
    [lead] = rendered.lead
    assert shown(lead).startswith("A placebo is a treatment with no active ingredient.")
    assert "It looks exactly like" not in shown(lead)
    [(href, label)] = ANCHOR.findall(lead)
    assert href == "https://www.ema.europa.eu/en/human-regulatory-overview/placebo"
    assert label == link_label(href)
    assert_no_bare_address_as_link_text(lead)
    assert "https://" not in shown(lead)
    [rest] = rendered.more
    assert shown(rest).startswith("It looks exactly like the treatment being tested.")
    assert shown(rest).endswith("if a placebo may be used.")


def test_a_message_without_a_source_is_sent_whole_however_long() -> None:
    text = (  # utter_trial_treatment: what to do comes after the first sentence
        "I can't give advice about your trial treatment. Please contact your study team now. "
        "Don't stop, skip or change anything until you have talked to the study team. "
        "In an emergency, call 112 and say that you are in a clinical trial."
    )
    rich = present(text)
    assert not rich.more
    assert render(rich) == Rendered((text,))


EVENT = EventCard(
    title="Patients & research: a webinar",
    starts_on="2027-05-12",
    ends_on="2027-05-13",
    all_day=False,
    time_label="10:00 to 12:00 CEST (Brussels time)",
    yearly=True,
    place=None,
    attendance="online",
    audience="patients",
    url="https://ecrin.org/events/webinar",
    link=Link("https://ecrin.org/events/webinar", "Read more on the ECRIN website"),
    calendar_url="events/webinar.ics",
)


def test_an_event_card_has_its_title_date_place_audience_and_link() -> None:
    produced = card_html(EVENT)
    assert produced.startswith("<b>Patients &amp; research: a webinar</b>\n")
    assert shown(produced).splitlines() == [
        "Patients & research: a webinar",
        "When: 12 May 2027 to 13 May 2027, 10:00 to 12:00 CEST (Brussels time) "
        "(held every year)",
        "Where: Online",
        "For: patients",
        "Read more on the ECRIN website",
    ]
    assert ANCHOR.findall(produced) == [
        ("https://ecrin.org/events/webinar", "Read more on the ECRIN website")
    ]


@pytest.mark.parametrize(
    ("changes", "when", "where"),
    [
        (
            {"attendance": "hybrid", "place": "Paris"},
            None,
            "Where: Paris or online (a hybrid event)",
        ),
        ({"attendance": "hybrid"}, None, "Where: In person or online (a hybrid event)"),
        ({"attendance": "in person", "place": "Berlin"}, None, "Where: Berlin"),
        ({"attendance": "in person"}, None, "Where: Place to be announced"),
        (
            {"starts_on": None, "ends_on": None, "yearly": False},
            "When: Self-paced, start any time",
            None,
        ),
        (
            {"all_day": True, "ends_on": "2027-05-12", "yearly": False},
            "When: 12 May 2027",
            None,
        ),
    ],
)
def test_event_card_dates_and_places(changes: dict, when: str | None, where: str | None) -> None:
    fields = {**EVENT.__dict__, **changes}
    lines = shown(card_html(EventCard(**fields))).splitlines()
    if when:
        assert when in lines
    if where:
        assert where in lines


def test_an_event_without_a_link_has_no_link_line_nor_audience() -> None:
    card = EventCard(**{**EVENT.__dict__, "url": None, "link": None, "audience": None})
    produced = card_html(card)
    assert "<a" not in produced and "For:" not in produced


def test_a_partner_card_has_its_name_city_website_and_contact_page() -> None:
    card = PartnerCard(
        name="F-CRIN",
        city="Toulouse",
        country="France",
        website=Link("https://www.fcrin.org", "F-CRIN website"),
        contact=Link("https://www.fcrin.org/contact", "Contact page"),
    )
    produced = card_html(card)
    assert shown(produced).splitlines() == [
        "F-CRIN",
        "Toulouse, France",
        "F-CRIN website",
        "Contact page",
    ]
    assert produced.startswith("<b>F-CRIN</b>")
    assert [href for href, _ in ANCHOR.findall(produced)] == [
        "https://www.fcrin.org",
        "https://www.fcrin.org/contact",
    ]
    bare = PartnerCard(name="X", city=None, country=None, website=None, contact=None)
    assert card_html(bare) == "<b>X</b>"


def test_cards_follow_the_lead_and_the_source_comes_last() -> None:
    rich = Rich(
        lead=(Block("paragraph", runs=("Here is what I found:",)),),
        source=Link("https://ecrin.org/events", "Read more on the ECRIN website"),
        cards=(EVENT,),
    )
    [message] = render(rich).lead
    paragraphs = shown(message).split("\n\n")
    assert paragraphs[0] == "Here is what I found:"
    assert paragraphs[1].startswith("Patients & research: a webinar")
    assert paragraphs[-1] == "Read more on the ECRIN website"


def test_cards_from_a_payload_replace_the_list_they_stand_for() -> None:
    text = (
        "Here is what I found: events for patients:\n"
        "• Patients & research: a webinar — 12 May 2027, online. https://ecrin.org/events/webinar\n"
        "Learn more: https://ecrin.org/events"
    )
    custom = {
        "events": [
            {
                "title": "Patients & research: a webinar",
                "starts_on": "2027-05-12",
                "attendance": "online",
                "url": "https://ecrin.org/events/webinar",
                "calendar_url": "events/webinar.ics",
            }
        ]
    }
    rendered = render(present(text, custom))
    assert not rendered.more
    [message] = rendered.lead
    assert "•" not in shown(message)  # the list is gone, the card says it
    assert "<b>Patients &amp; research: a webinar</b>" in message
    assert_no_bare_address_as_link_text(message)


# --- Splitting --------------------------------------------------------------------------


def test_short_html_is_one_chunk_and_empty_html_none() -> None:
    assert split_html("  <b>hi</b>  ") == ["<b>hi</b>"]
    assert split_html(" \n ") == []


def test_long_html_is_split_between_paragraphs_and_never_inside_a_tag() -> None:
    paragraph = "Tom &amp; Jerry " * 30 + '<a href="https://ecrin.org/a?x=1&amp;y=2">ECRIN</a>.'
    text = "\n\n".join(f"<b>Part {n}</b> {paragraph}" for n in range(40))
    chunks = split_html(text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert utf16_len(chunk) <= 4096
        shown(chunk)  # well-formed on its own
        assert chunk.startswith("<b>Part ")  # cut at a paragraph boundary
    assert "\n\n".join(chunks) == text


def test_a_tag_open_at_a_cut_is_closed_and_reopened() -> None:
    text = '<b>bold words</b> then <a href="https://ecrin.org">a very long link label here</a>'
    chunks = split_html(text, limit=45)
    assert len(chunks) > 1
    for chunk in chunks:
        assert utf16_len(chunk) <= 45
        shown(chunk)
    assert re.sub(r"\s+", "", "".join(shown(c) for c in chunks)) == re.sub(r"\s+", "", shown(text))
    links = [chunk for chunk in chunks if "long" in chunk or "label" in chunk]
    assert links and all('<a href="https://ecrin.org">' in chunk for chunk in links)


def test_telegram_counts_emoji_as_two() -> None:
    assert utf16_len("👍") == 2 and utf16_len("é") == 1
    chunks = split_html("👍 " * 2000)  # 4000 characters, 6000 UTF-16 units
    assert len(chunks) == 2 and all(utf16_len(c) <= 4096 for c in chunks)


@pytest.mark.parametrize("seed", range(30))
def test_random_html_splits_into_well_formed_chunks_that_keep_every_word(seed: int) -> None:
    rng = random.Random(seed)
    words = ["trial", "&amp;", "&lt;x&gt;", "patients", "été", "👍", "a" * 30]
    pieces = []
    for _ in range(rng.randint(5, 80)):
        run = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        kind = rng.random()
        if kind < 0.2:
            run = f"<b>{run}</b>"
        elif kind < 0.4:
            run = f'<a href="https://ecrin.org/{seed}?a=1&amp;b=2">{run}</a>'
        pieces.append(run + rng.choice([" ", "\n", "\n\n", ". "]))
    text = "".join(pieces).strip()
    limit = rng.choice([60, 120, 400, 4096])
    chunks = split_html(text, limit)
    for chunk in chunks:
        assert utf16_len(chunk) <= limit
        try:
            shown(chunk)
        except ApiRefusal as refusal:
            pytest.fail(f"{refusal}: {chunk!r}")
    assert re.sub(r"\s+", "", "".join(shown(c) for c in chunks)) == re.sub(r"\s+", "", shown(text))
