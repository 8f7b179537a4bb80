"""What a newcomer meets in the web chat, in a real headless Chromium (Debian's package, driven
by Playwright) against the real assistant: the welcome and its suggestions, answers with
labelled links, event and partner cards, the conversation tools, the page at phone width and
at 200 % zoom, the embedding options, and axe-core's accessibility rules (tests/axe.py) on the
chat and on the staff review app.

`make screenshots` runs `test_screenshots_for_the_readme` with SCREENSHOT_DIR=docs/screenshots;
otherwise it writes them to a temporary directory."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.axe import assert_accessible, axe_context
from tests.conftest import Assistant
from tests.review.conftest import ADMIN, seed
from tests.review.test_browser import review_app  # noqa: F401

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
# 200 % zoom of a 1280 by 800 window: half the CSS pixels, each drawn twice as large.
ZOOMED = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
EVENTS_QUESTION = "What events are coming up?"
PARTNER_QUESTION = "Whom can I contact in Italy?"
BARE_ADDRESS = re.compile(r"^\s*(https?://|www\.)|://", re.IGNORECASE)
ENGLISH_MONTHS = [dt.date(2026, month, 1).strftime("%B") for month in range(1, 13)]
GERMAN_MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"


class Chat:
    """One browser context on the chat page, with every console error and failed request
    of the page collected in `problems` (the page must have none)."""

    def __init__(self, browser: Any, url: str, **options: Any) -> None:
        self.context = axe_context(browser, accept_downloads=True, **options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.problems.append(message.text),
        )
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("response", self._failed)
        self.page.goto(url)
        self.wait_ready()

    def _failed(self, reply: Any) -> None:
        if reply.status >= 400:
            self.problems.append(f"{reply.status} {reply.url}")

    def wait_ready(self) -> None:
        """Until the page has shown the history or the welcome (chat.js marks the log)."""
        from playwright.sync_api import expect

        expect(self.page.locator("#log")).to_have_attribute("data-state", "ready", timeout=30_000)

    def ask(self, text: str) -> Any:
        """Type and send `text`; the locator of the assistant's first message in reply."""
        from playwright.sync_api import expect

        page = self.page
        before = page.locator(".msg").count()
        page.fill("#message", text)
        page.keyboard.press("Enter")
        reply = page.locator(".msg").nth(before + 1)
        expect(reply).to_have_class(re.compile(r"\bmsg--bot\b"), timeout=30_000)
        expect(page.locator("#typing")).to_be_hidden(timeout=30_000)
        return reply

    def no_horizontal_scrolling(self) -> None:
        width, visible = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width <= visible, f"the page scrolls sideways: {width} px in {visible} px"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_chat(browser, assistant: Assistant) -> Iterator:
    """Opens chat pages (`open_chat(query="", **context options)`), closed after the test."""
    chats: list[Chat] = []

    def open_one(query: str = "", **options: Any) -> Chat:
        options.setdefault("viewport", {"width": 1024, "height": 800})
        chat = Chat(browser, f"{assistant.base_url}/webhooks/web/{query}", **options)
        chats.append(chat)
        return chat

    yield open_one
    for chat in chats:
        chat.close()


def welcome_of(assistant: Assistant) -> dict[str, Any]:
    status, _, body = assistant.get("/webhooks/web/welcome")
    assert status == 200
    return json.loads(body)


def sender_of(page: Any) -> str:
    return page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")


# --- The welcome ----------------------------------------------------------------------------------


def test_a_fresh_page_greets_with_the_welcome_and_its_suggestions(
    open_chat, assistant: Assistant
) -> None:
    from playwright.sync_api import expect

    welcome = welcome_of(assistant)
    titles = [button["title"] for button in welcome["buttons"]]
    assert 4 <= len(titles) <= 6
    chat = open_chat()
    page = chat.page
    first_line = welcome["text"].strip().splitlines()[0]
    expect(page.locator(".msg--welcome")).to_contain_text(first_line)
    expect(page.locator(".chips button")).to_have_text(titles)
    assert page.locator(".msg--user").count() == 0
    assert_accessible(page, "the empty chat")

    # Start over: a new conversation, and the welcome again.
    chat.ask("What is a placebo?")
    old_sender = sender_of(page)
    page.get_by_role("button", name="Start over").click()
    expect(page.locator(".msg--user")).to_have_count(0)
    expect(page.locator(".msg--welcome")).to_contain_text(first_line)
    expect(page.locator(".chips button")).to_have_text(titles)
    assert sender_of(page) != old_sender
    assert chat.problems == []


def test_a_suggestion_clicked_gets_its_answer(open_chat, assistant: Assistant) -> None:
    from playwright.sync_api import expect

    welcome = welcome_of(assistant)
    faq = next(b for b in welcome["buttons"] if b["payload"].startswith("/faq_pick"))
    expected = assistant.ask(faq["payload"], sender="first-impression-suggestion")[0]["text"]
    chat = open_chat()
    page = chat.page
    page.get_by_role("button", name=faq["title"]).click()
    expect(page.locator(".msg--user")).to_have_text(f"You: {faq['title']}")
    answer = page.locator(".msg--bot").nth(1)
    expect(answer).to_contain_text(expected[:30], timeout=30_000)
    expect(page.locator(".chips button", has_text=faq["title"])).to_have_count(0)
    # The answer's source is a link labelled by its site, its address in the title.
    source = answer.locator(".msg__source a")
    expect(source).to_have_count(1)
    assert source.get_attribute("title") == source.get_attribute("href")
    assert source.get_attribute("rel") == "noopener noreferrer"
    assert source.get_attribute("target") == "_blank"
    assert not BARE_ADDRESS.search(source.inner_text())
    assert chat.problems == []


# --- Cards and links ------------------------------------------------------------------------------


def card_conversation(chat: Chat) -> tuple[Any, Any]:
    """Asks for events and for a partner; the two replies."""
    return chat.ask(EVENTS_QUESTION), chat.ask(PARTNER_QUESTION)


def visible_link_texts(page: Any) -> list[str]:
    return [
        link.inner_text()
        for link in page.locator(".chat__log a").all()
        if link.is_visible() or link.locator("xpath=ancestor::details").count()
    ]


def test_event_and_partner_cards_render_and_no_link_shows_a_bare_address(
    open_chat, assistant: Assistant
) -> None:
    from playwright.sync_api import expect

    chat = open_chat(locale="en-GB")
    page = chat.page
    events, partner = card_conversation(chat)

    card = events.locator(".card--event").first
    expect(card).to_be_visible()
    title = card.locator(".card__title").inner_text()
    assert title.strip()
    badge = card.locator("time.card__badge")
    day = dt.date.fromisoformat(badge.get_attribute("datetime"))
    assert day >= dt.date(2026, 12, 1) - dt.timedelta(days=1)  # upcoming (ASSISTANT_TODAY)
    expect(badge.locator(".card__day")).to_have_text(str(day.day))
    expect(card.locator(".card__when")).to_contain_text(ENGLISH_MONTHS[day.month - 1])
    calendar = card.get_by_role("link", name=f"Add to calendar: {title}")
    href = calendar.get_attribute("href")
    assert re.fullmatch(r"events/[A-Za-z0-9][A-Za-z0-9_.-]*\.ics", href)
    status, headers, body = assistant.get(f"/webhooks/web/{href}")
    content_type = {name.lower(): value for name, value in headers.items()}["content-type"]
    assert status == 200 and content_type.startswith("text/calendar")
    assert b"BEGIN:VEVENT" in body

    partner_text = assistant.reply_text(PARTNER_QUESTION, sender="first-impression-partner")
    partner_card = partner.locator(".card--partner").first
    expect(partner_card).to_be_visible()
    name = partner_card.locator(".card__title").inner_text()
    assert name and name in partner_text
    for link in partner_card.locator("a").all():
        assert link.get_attribute("href").startswith("https://")
        assert link.get_attribute("title") == link.get_attribute("href")

    texts = visible_link_texts(page)
    assert texts, "the answers have links"
    assert [text for text in texts if BARE_ADDRESS.search(text)] == []
    assert_accessible(page, "a conversation with event and partner cards")
    assert chat.problems == []


def test_event_dates_are_written_in_the_readers_language(open_chat) -> None:
    chat = open_chat(locale="de-DE")
    card = chat.ask(EVENTS_QUESTION).locator(".card--event").first
    day = dt.date.fromisoformat(card.locator("time.card__badge").get_attribute("datetime"))
    german = GERMAN_MONTHS.split()[day.month - 1]
    assert german in card.locator(".card__when").inner_text()


# --- Conversation tools ---------------------------------------------------------------------------


def test_the_conversation_can_be_downloaded_and_printed(open_chat) -> None:
    chat = open_chat()
    page = chat.page
    answer = chat.ask("What is a placebo?")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the conversation").click()
    saved = downloading.value
    text = Path(saved.path()).read_text(encoding="utf-8")
    assert "What is a placebo?" in text
    lead = answer.locator(".msg__para").first.inner_text().strip()
    assert lead[:30] in text

    # Printing opens every "More" and prints links with their address; the form, the
    # buttons and the tools are not printed.
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    for details in page.locator(".chat__log details").all():
        assert details.get_attribute("open") is not None
    page.emulate_media(media="print")
    for hidden in ("#form", ".chat__tools", ".chat__actions"):
        assert not page.locator(hidden).is_visible()
    link = answer.locator("a[href^='https://']").first
    after = link.evaluate("a => getComputedStyle(a, '::after').content")
    assert link.get_attribute("href") in after
    assert chat.problems == []


# --- Small screens, zoom and the reader's settings ------------------------------------------------


@pytest.mark.parametrize(
    "options", [{"viewport": PHONE}, ZOOMED], ids=["phone-360px", "zoom-200-percent"]
)
def test_no_sideways_scrolling_on_a_phone_or_at_200_percent_zoom(open_chat, options) -> None:
    chat = open_chat(**options)
    chat.no_horizontal_scrolling()
    card_conversation(chat)
    chat.ask("What is a clinical trial?")
    for summary in chat.page.locator(".chat__log summary").all():
        summary.click()
    chat.no_horizontal_scrolling()
    assert chat.page.locator(".card").count() >= 2
    assert chat.problems == []


def test_the_text_size_control_enlarges_everything_and_is_kept(open_chat) -> None:
    from playwright.sync_api import expect

    chat = open_chat(viewport=PHONE)
    page = chat.page

    def body_size() -> str:
        return page.evaluate("() => getComputedStyle(document.body).fontSize")

    smaller = page.get_by_role("button", name="A\u2212")  # A, minus sign
    larger = page.get_by_role("button", name="A+")
    assert body_size() == "16px"
    expect(smaller).to_be_disabled()
    larger.click()
    larger.click()
    assert body_size() == "20px"  # 125 %
    while larger.is_enabled():
        larger.click()
    assert body_size() == "32px"  # 200 %, the largest
    chat.ask(EVENTS_QUESTION)
    chat.no_horizontal_scrolling()

    page.reload()
    chat.wait_ready()
    assert body_size() == "32px"
    smaller.click()
    assert body_size() == "28px"
    assert chat.problems == []


def test_forced_colours_and_more_contrast_keep_every_bubble_outlined(open_chat) -> None:
    chat = open_chat()
    page = chat.page
    card_conversation(chat)

    def border(selector: str) -> str:
        return page.locator(selector).first.evaluate("e => getComputedStyle(e).borderTopStyle")

    assert border(".msg--bot") == "solid"  # transparent until asked
    transparent = page.locator(".msg--bot").first.evaluate(
        "e => getComputedStyle(e).borderTopColor"
    )
    assert transparent == "rgba(0, 0, 0, 0)"
    page.emulate_media(forced_colors="active")
    for selector in (".msg--bot", ".card", ".chips button, .feedback button"):
        assert border(selector) == "solid", selector
    page.emulate_media(forced_colors="none", contrast="more")
    colour = page.locator(".msg--bot").first.evaluate("e => getComputedStyle(e).borderTopColor")
    assert colour == "rgb(0, 0, 0)"
    assert_accessible(page, "the chat with more contrast")


# --- Embedding options ----------------------------------------------------------------------------


@pytest.fixture
def host_site(tmp_path, assistant: Assistant) -> Iterator:
    """Serves pages of another site (`host_site(attributes)`: one embedding the chat with the
    one-line snippet and these attributes); their addresses."""
    import functools
    import html
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = 0

    def site(attributes: dict[str, str]) -> str:
        nonlocal pages
        pages += 1
        extra = "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items())
        snippet = f'<script src="{assistant.base_url}/webhooks/web/static/embed.js"{extra} defer>'
        page = (
            '<!doctype html><html lang="en"><title>Partner</title><h1>A partner site</h1>'
            f"{snippet}</script>"
        )
        (tmp_path / f"page{pages}.html").write_text(page, encoding="utf-8")
        return f"http://127.0.0.1:{server.server_address[1]}/page{pages}.html"

    yield site
    server.shutdown()
    server.server_close()


def background(locator: Any) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def test_embed_attributes_set_the_title_colours_and_bubble_text(browser, host_site) -> None:
    from playwright.sync_api import expect

    url = host_site(
        {
            "data-title": "Ask ECRIN",
            "data-color": "#7a1f5c",
            "data-text-color": "#ffffff",
            "data-button-text": "Chat with us",
        }
    )
    context = browser.new_context()
    host = context.new_page()
    host.goto(url)
    bubble = host.get_by_role("button", name="Chat with us")
    assert background(bubble) == "rgb(122, 31, 92)"
    bubble.click()
    frame_element = host.locator("iframe[title='Ask ECRIN']")
    expect(frame_element).to_be_visible()
    frame = host.frame_locator("iframe[title='Ask ECRIN']")
    expect(frame.locator("h1")).to_have_text("Ask ECRIN")
    expect(frame.locator("#log")).to_have_attribute("data-state", "ready", timeout=30_000)
    send = frame.get_by_role("button", name="Send")
    assert background(send) == "rgb(122, 31, 92)"
    assert send.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    frame.locator("#message").fill("hello")
    frame.locator("#message").press("Enter")
    expect(frame.locator(".msg--user ~ .msg--bot")).not_to_have_count(0, timeout=30_000)
    assert background(frame.locator(".msg--user").first) == "rgb(122, 31, 92)"

    # Anything but a hex colour is ignored; a pale colour gets dark text, whatever was asked.
    host.goto(host_site({"data-color": "red;background:url(x)", "data-text-color": "#fff"}))
    plain = host.get_by_role("button", name="Questions about clinical trials?")
    assert background(plain) == "rgb(11, 79, 138)"
    plain.click()
    src = host.locator("iframe[title='ECRIN assistant']").get_attribute("src")
    assert "color" not in src
    host.goto(host_site({"data-color": "#ffe45c", "data-text-color": "#ffffff"}))
    pale = host.get_by_role("button", name="Questions about clinical trials?")
    assert pale.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    pale.click()
    frame = host.frame_locator("iframe[title='ECRIN assistant']")
    send = frame.get_by_role("button", name="Send")
    expect(send).to_be_visible(timeout=30_000)
    assert send.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    heading = frame.locator("h1").evaluate("e => getComputedStyle(e).color")
    assert heading == "rgb(11, 79, 138)"  # the pale colour is unreadable as text on white
    context.close()


# --- The review app -------------------------------------------------------------------------------


@pytest.fixture
def seeded_sqlite(tmp_path: Path) -> str:
    """The review tests' seeded tracker store (for `review_app`), seeded in a thread of its
    own: seeding runs asyncio, and this module's browser already holds this thread's loop."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(seed, url).result()


def test_the_review_apps_main_pages_pass_axe(browser, review_app: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = axe_context(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{review_app}/login")
    assert_accessible(page, "the review app's login page")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    assert_accessible(page, "the review app's inbox")
    page.get_by_role("link", name="3f2a9c1e…").click()
    expect(page.get_by_role("heading", name="Conversation 3f2a9c1e…")).to_be_visible()
    assert_accessible(page, "a conversation in the review app")
    for path in ("/nlu", "/handoffs", "/corrections", "/dashboard"):
        assert page.goto(f"{review_app}{path}").status == 200, path
        assert_accessible(page, f"the review app's {path}")
    context.close()


# --- Screenshots for the README -------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_screenshots_for_the_readme(open_chat, tmp_path: Path) -> None:
    """docs/screenshots/{empty,conversation,phone}.png with `make screenshots`."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    desktop = {"width": 1024, "height": 760}

    empty = open_chat(viewport=desktop, locale="en-GB")
    empty.page.screenshot(path=folder / "empty.png")

    talk = open_chat(viewport=desktop, locale="en-GB")
    talk.ask("What is a clinical trial?")
    card_conversation(talk)
    talk.page.screenshot(path=folder / "conversation.png", full_page=True)

    phone = open_chat(viewport=PHONE, device_scale_factor=2, locale="en-GB")
    phone.ask(EVENTS_QUESTION)
    # The question at the top of the screen, its answer below.
    phone.page.locator(".msg--user").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    phone.page.screenshot(path=folder / "phone.png")

    assert png_size(folder / "empty.png") == (1024, 760)
    width, height = png_size(folder / "conversation.png")
    assert width == 1024 and height >= 760
    assert png_size(folder / "phone.png") == (720, 1480)
    assert empty.problems == talk.problems == phone.problems == []
