"""The web chat's language (issue 22): the list the page's selector offers, the choice and the
browser's Accept-Language stored with each message as metadata, "Automatic" taking a choice
back, and "Was this helpful?" under answers in every language.

The channel is the real one, behind Rasa's own in-memory tracker store (the agent below
stores each message with its metadata, as Rasa's does); the page itself is checked in a real
Chromium against the running assistant."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot import i18n
from bot.channels.web import MAX_ACCEPT_LANGUAGE_CHARS, language_metadata
from bot.language import AUTOMATIC, conversation_language
from tests.conftest import Assistant

FRENCH_ANSWER = (
    "Un placebo est un traitement sans principe actif. "
    "En savoir plus : https://www.ema.europa.eu/en/glossary-terms/placebo"
)


class RecordingAgent:
    """Stands in for Rasa's agent: stores each message with its metadata in Rasa's in-memory
    tracker store and answers with `reply`, as Rasa sends a bot message."""

    def __init__(self, reply: str = "Bonjour !") -> None:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        self.reply = reply
        self.tracker_store = InMemoryTrackerStore(Domain.empty())

    async def handle_message(self, message: Any) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered

        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(
                message.text, input_channel=message.input_channel, metadata=message.metadata
            )
        )
        event = BotUttered(self.reply)
        tracker.update(event)
        await message.output_channel.send_response(message.sender_id, event.message())
        await self.tracker_store.save(tracker)

    def events(self, sender: str) -> list[Any]:
        tracker = asyncio.run(self.tracker_store.retrieve(sender))
        return list(tracker.events) if tracker else []


@pytest.fixture
def agent() -> RecordingAgent:
    return RecordingAgent()


@contextlib.contextmanager
def web_client(agent: RecordingAgent) -> Iterator[Any]:
    """A test client of a Sanic app with the real web channel, as Rasa's server mounts it."""
    from rasa.core.channels.channel import register
    from sanic import Sanic
    from starlette.testclient import TestClient

    from bot.channels.web import WebChatInput

    Sanic.test_mode = True  # only in test mode can a process start more than one app
    app = Sanic(f"web_languages_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = agent
    register([WebChatInput()], app, route="/webhooks/")
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def client(agent: RecordingAgent) -> Iterator[Any]:
    with web_client(agent) as test_client:
        yield test_client


def say(client: Any, sender: str, text: str, metadata: dict | None = None, **headers: str) -> Any:
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata is not None:
        body["metadata"] = metadata
    return client.post("/webhooks/web/webhook", json=body, headers=headers)


def user_metadata(agent: RecordingAgent, sender: str) -> list[dict]:
    return [
        event.metadata
        for event in agent.events(sender)
        if getattr(event, "type_name", "") == "user"
    ]


# --- The list the selector offers -------------------------------------------------------------


def test_the_selector_offers_each_language_of_the_data_file_by_its_own_name(client) -> None:
    reply = client.get("/webhooks/web/languages")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-cache"  # a language added shows at once
    assert reply.headers["x-content-type-options"] == "nosniff"
    offered = reply.json()
    assert offered["default"] == "en" and offered["automatic"] == AUTOMATIC
    assert offered["languages"] == [
        {"code": code, "name": language.name} for code, language in i18n.languages().items()
    ]
    names = {row["code"]: row["name"] for row in offered["languages"]}
    assert names == {
        "en": "English",
        "fr": "Français",
        "de": "Deutsch",
        "es": "Español",
        "it": "Italiano",
    }


# --- The choice and the browser's languages, stored with each message -------------------------


def test_the_choice_and_the_browsers_languages_are_stored_with_the_message(
    client, agent: RecordingAgent
) -> None:
    reply = say(
        client, "web-fr", "ok", {"language": "fr-CH"}, **{"Accept-Language": "de-DE,de;q=0.9"}
    )
    assert reply.status_code == 200
    assert user_metadata(agent, "web-fr") == [
        {"language": "fr", "accept_language": "de-DE,de;q=0.9"}
    ]
    # The choice wins over the browser's first guess.
    assert conversation_language(agent.events("web-fr")) == "fr"


def test_without_a_choice_the_browsers_language_is_the_first_guess(
    client, agent: RecordingAgent
) -> None:
    say(client, "web-de", "ok", **{"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"})
    assert user_metadata(agent, "web-de") == [{"accept_language": "it-IT,it;q=0.9,en;q=0.5"}]
    assert conversation_language(agent.events("web-de")) == "it"


def test_automatic_takes_an_earlier_choice_back(client, agent: RecordingAgent) -> None:
    say(client, "web-auto", "ok", {"language": "es"}, **{"Accept-Language": "de"})
    assert conversation_language(agent.events("web-auto")) == "es"
    say(client, "web-auto", "vale", {"language": AUTOMATIC}, **{"Accept-Language": "de"})
    assert user_metadata(agent, "web-auto")[-1]["language"] == AUTOMATIC
    # Nothing said long enough to detect: the browser's language again.
    assert conversation_language(agent.events("web-auto")) == "de"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ({"language": "klingon"}, None),  # a language the assistant does not speak: dropped
        ({"language": "pt"}, None),
        ({"language": 3}, None),
        ({"language": "DE"}, {"language": "de"}),
        ({"language": "Auto"}, {"language": AUTOMATIC}),
        ({"display": "Designing the study", "language": "it"},
         {"display": "Designing the study", "language": "it"}),
        # Without the header, what the client sent is kept (cut to size); with it, the header.
        ({"accept_language": "fr"}, {"accept_language": "fr"}),
        ({"accept_language": ["fr"]}, None),
    ],
)  # fmt: skip
def test_the_metadata_keeps_only_a_language_the_assistant_speaks(sent, kept) -> None:
    assert language_metadata(sent, None) == kept


def test_the_header_wins_over_what_the_page_says_and_is_cut_to_size() -> None:
    long_header = "fr-FR," + ",".join(f"x{n};q=0.1" for n in range(100))
    metadata = language_metadata({"accept_language": "en"}, long_header)
    assert metadata == {"accept_language": long_header[:MAX_ACCEPT_LANGUAGE_CHARS]}


def test_a_bad_language_is_not_a_failed_message(client, agent: RecordingAgent) -> None:
    """A page that kept a language since removed from data/languages.yml still gets answers."""
    reply = say(client, "web-old", "hello", {"language": "nl"})
    assert reply.status_code == 200 and reply.json()[0]["text"] == "Bonjour !"
    assert user_metadata(agent, "web-old") == [{}]


# --- "Was this helpful?" under answers in every language ---------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (FRENCH_ANSWER, True),
        ("Ein Placebo enthält keinen Wirkstoff. Mehr erfahren: https://www.ema.europa.eu/", True),
        ("Un placebo no tiene principio activo. Más información: https://ecrin.org/", True),
        ("Un placebo non contiene principi attivi. Per saperne di più: https://ecrin.org/", True),
        ("A placebo has no active ingredient. Learn more: https://ecrin.org/", True),
        ("Dans quel pays êtes-vous ?", False),
        ("Bonjour !", False),
    ],
)
def test_the_page_is_told_which_messages_are_answers_in_every_language(text, answer) -> None:
    with web_client(RecordingAgent(text)) as client:
        [reply] = say(client, "web-rated", "placebo ?").json()
        [_, history] = client.get("/webhooks/web/history?sender=web-rated").json()
    assert reply["answer"] is answer and history["answer"] is answer


# --- The page, in a real browser -----------------------------------------------------------------


def _stored_metadata(assistant: Assistant, sender: str) -> list[dict]:
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
            (sender,),
        ).fetchall()
    return [json.loads(data).get("metadata") or {} for (data,) in rows]


@pytest.mark.e2e
def test_the_page_sends_the_chosen_language_and_keeps_it(browser, assistant: Assistant) -> None:
    from playwright.sync_api import expect

    from tests.test_browser import ask, wait_ready

    context = browser.new_context(locale="de-DE")  # the browser's Accept-Language
    page = context.new_page()
    try:
        page.goto(f"{assistant.base_url}/webhooks/web/")
        wait_ready(page)
        selector = page.get_by_label("Answers in")
        expect(selector.locator("option")).to_have_count(1 + len(i18n.languages()))
        assert selector.input_value() == AUTOMATIC
        ask(page, "ok")  # Automatic: no choice is sent, the browser's language is
        selector.select_option(label="Français")
        ask(page, "merci")
        sender = page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")
        first, second = _stored_metadata(assistant, sender)
        assert "language" not in first and first["accept_language"].startswith("de")
        assert second["language"] == "fr" and second["accept_language"].startswith("de")

        page.reload()
        wait_ready(page)
        expect(page.get_by_label("Answers in")).to_have_value("fr")  # kept in this browser
    finally:
        context.close()


# --- An answer's source link, presented in its language ----------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (FRENCH_ANSWER, "En savoir plus : EMA"),
        ("Ein Placebo wirkt nicht. Mehr erfahren: https://ecrin.org/x", "Mehr erfahren: ECRIN"),
        (
            "A placebo does nothing. Learn more: https://ecrin.org/x",
            "Read more on the ECRIN website",
        ),
    ],
)
def test_the_source_link_says_the_answers_own_phrase(text: str, label: str) -> None:
    from bot.presentation import present, rich_json

    rich = rich_json(present(text))
    assert rich["source"]["label"] == label
    assert "https://" not in json.dumps(rich["lead"])  # the address is the link, not the text
