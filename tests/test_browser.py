"""The web chat in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from bot.feedback import NEGATIVE
from tests.conftest import Assistant

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser, assistant: Assistant):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(f"{assistant.base_url}/webhooks/web/")
    wait_ready(page)
    yield page
    context.close()


def wait_ready(page) -> None:
    """Until the page has shown the stored conversation or the welcome (chat.js marks the
    log), so the messages counted before a question are all there."""
    from playwright.sync_api import expect

    expect(page.locator("#log")).to_have_attribute("data-state", "ready", timeout=30_000)


def ask(page, text: str) -> None:
    """Type and press Enter, then wait for the answer (locators: the page's CSP forbids eval)."""
    from playwright.sync_api import expect

    answers = page.locator(".msg--bot").count()
    page.fill("#message", text)
    page.keyboard.press("Enter")
    expect(page.locator(".msg--bot")).not_to_have_count(answers, timeout=30_000)
    expect(page.locator("#typing")).to_be_hidden(timeout=30_000)


def last_bot_text(page) -> str:
    return page.locator(".msg--bot").last.inner_text()


def test_ask_and_read_the_answer_with_a_safe_link(page) -> None:
    ask(page, "What is ECRIN?")
    assert "European Clinical Research Infrastructure Network" in last_bot_text(page)
    link = page.locator(".msg--bot a").last
    assert link.get_attribute("href").startswith("https://")
    assert link.get_attribute("rel") == "noopener noreferrer"


def test_click_a_button_then_reload_and_still_see_the_conversation(page) -> None:
    from playwright.sync_api import expect

    ask(page, "/plan_involvement")  # what the "Get guidance for my study" button sends
    page.get_by_role("button", name="Designing the study").click()
    expect(page.locator(".msg--bot").last).to_contain_text("Which country", timeout=30_000)
    page.screenshot(path="/tmp/ecrin-web-chat.png", full_page=True)

    page.reload()
    wait_ready(page)
    expect(page.locator(".msg--bot").last).to_contain_text("Which country", timeout=30_000)
    users = page.locator(".msg--user").all_inner_texts()
    assert any("Designing the study" in text for text in users)  # the title, not "design"


def test_rate_the_latest_answer_once_by_keyboard_and_see_it_after_a_reload(
    page, assistant: Assistant
) -> None:
    from playwright.sync_api import expect

    ask(page, "What is a placebo?")
    ask(page, "What is ECRIN?")
    controls = page.get_by_role("group", name="Was this helpful?")
    expect(controls).to_have_count(2)
    older, latest = controls.nth(0), controls.nth(1)
    expect(older.get_by_role("button", name="Not helpful")).to_be_disabled()

    answers = page.locator(".msg--bot").count()
    latest.get_by_role("button", name="Not helpful").focus()
    page.keyboard.press("Enter")
    rated = page.get_by_role("group", name="Thanks for your feedback")
    expect(rated.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(rated.get_by_role("button", name="Helpful", exact=True)).to_be_disabled()
    expect(page.locator(".msg--user").last).to_have_text("You: 👎")
    expect(page.locator(".msg--bot")).not_to_have_count(answers, timeout=30_000)  # a reply

    sender = page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchall()
    assert NEGATIVE in [json.loads(data)["text"] for (data,) in rows]

    page.reload()
    rated = page.get_by_role("group", name="Thanks for your feedback")
    expect(rated.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true", timeout=30_000
    )
    expect(rated.get_by_role("button", name="Not helpful")).to_be_disabled()
    expect(page.get_by_role("button", name="Helpful", exact=True).first).to_be_disabled()
    expect(page.locator(".msg--user").last).to_have_text("You: 👎")  # not the payload


def test_html_in_a_message_is_shown_as_text_and_never_runs(page) -> None:
    payload = '<img src=x onerror="window.__xss = 1">'
    ask(page, payload)
    assert payload in page.locator(".msg--user").last.inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert page.locator(".chat__log img").count() == 0


def stored_events(assistant: Assistant, sender: str) -> int:
    """How many events the tracker store holds for `sender` (messages, actions, slots)."""
    path = assistant.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    return count


def test_forget_me_erases_the_conversation(page, assistant: Assistant) -> None:
    """The page says "erased" only once the server has erased it: the stored conversation is
    gone, and a new one starts on screen and after a reload."""
    from playwright.sync_api import expect

    ask(page, "What is a placebo?")
    sender = page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")
    assert stored_events(assistant, sender) > 0
    with page.expect_response(lambda reply: reply.url.endswith("/forget")) as forgetting:
        page.get_by_role("button", name="Forget me").click()
    # (Its body is not read here: Playwright's Response.json() never returns with Debian's
    # Chromium; the database below says what was erased.)
    assert forgetting.value.status == 200
    # The old conversation is gone from the screen; only the confirmation is left.
    expect(page.locator(".msg--bot")).to_have_count(1)
    expect(page.locator(".msg--bot")).to_contain_text("Done: this conversation has been erased.")
    expect(page.locator(".msg--user")).to_have_count(0)
    assert stored_events(assistant, sender) == 0
    status, _, history = assistant.get(f"/webhooks/web/history?sender={sender}")
    assert status == 200 and json.loads(history) == []

    page.reload()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".msg--user")).to_have_count(0)
    new_sender = page.evaluate("() => localStorage.getItem('ecrin-chat-sender')")
    assert new_sender and new_sender != sender  # the page starts a new conversation


def test_privacy_notice_links_to_the_privacy_page(page) -> None:
    page.get_by_role("link", name="How we handle your data").click()
    assert "pseudonymous" in page.locator("main").inner_text()


@pytest.fixture
def partner_site(tmp_path, assistant: Assistant) -> Iterator[str]:
    """Another site, on its own origin, that embeds the chat with the one-line snippet."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    snippet = f'<script src="{assistant.base_url}/webhooks/web/static/embed.js" defer></script>'
    (tmp_path / "index.html").write_text(f"<!doctype html><h1>A partner site</h1>{snippet}")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_one_line_snippet_shows_the_chat_as_a_bubble_on_another_site(browser, partner_site) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    host = context.new_page()
    host.goto(partner_site)
    host.get_by_role("button", name="Questions about clinical trials?").click()
    frame = host.frame_locator("iframe[title='ECRIN assistant']")
    frame.locator("#message").fill("hello")
    frame.locator("#message").press("Enter")
    # The reply, after the welcome and the message.
    reply = frame.locator(".msg--user ~ .msg--bot").first
    expect(reply).to_contain_text("ECRIN assistant", timeout=30_000)
    host.screenshot(path="/tmp/ecrin-embed.png")
    context.close()


# --- A plan to keep: its links under the message that offers it ----------------------------


@pytest.fixture
def plan_chat(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real web channel and page, served by uvicorn, with a scripted agent instead of the
    trained model (tests/test_rest_channel.py): its last reply offers a plan to keep."""
    import threading
    import time

    import uvicorn

    from tests.conftest import free_port, seed_database
    from tests.test_plan_page import use_small_guidance
    from tests.test_rest_channel import web_chat_app

    monkeypatch.setenv("DATABASE_URL", seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}"))
    use_small_guidance(tmp_path, monkeypatch)
    port = free_port()
    config = uvicorn.Config(
        web_chat_app(), host="127.0.0.1", port=port, ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web chat did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/webhooks/web/"
    server.should_exit = True
    thread.join(timeout=10)


def phone_page(browser):
    """A phone-sized page that accepts downloads, and the list its failed requests (but the
    favicon) and the content its CSP blocked are added to."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "response",
        lambda reply: reply.status >= 400
        and not reply.url.endswith("/favicon.ico")
        and problems.append(f"{reply.status} {reply.url}"),
    )
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and problems.append(message.text),
    )
    return context, page, problems


def test_a_plan_offered_in_the_chat_can_be_downloaded_or_opened(browser, plan_chat) -> None:
    from playwright.sync_api import expect

    context, page, problems = phone_page(browser)
    page.goto(plan_chat)
    wait_ready(page)
    ask(page, "help me plan patient involvement for my trial")

    download = page.get_by_role("link", name="Download your plan")
    expect(download).to_be_visible(timeout=30_000)
    # Under the message that offers it, which comes after the plan itself.
    expect(page.locator(".chat__log > *").last).to_contain_text("Download your plan")
    offer = page.locator(".msg--bot").last.inner_text()
    assert offer.endswith("This plan was made today from the sources it names.")
    href = download.get_attribute("href")
    assert href.startswith("plan?") and "country=Italy" in href and "made=2026-12-01" in href
    assert download.get_attribute("download") == "patient-involvement-plan-2026-12-01.html"

    with page.expect_download() as downloading:
        download.click()
    saved = downloading.value
    assert saved.suggested_filename == "patient-involvement-plan-2026-12-01.html"
    with open(saved.path(), encoding="utf-8") as kept:
        text = kept.read()
    assert "Patient-involvement plan: a rare-disease trial in Italy" in text
    assert "https://toolbox.eupati.eu/guidance/" in text and "ItaCRIN" in text

    opener = page.get_by_role("link", name="Open it")
    assert opener.get_attribute("target") == "_blank"
    with context.expect_page() as opening:
        opener.click()
    opened = opening.value
    expect(opened.get_by_role("heading", level=1)).to_contain_text(
        "a rare-disease trial in Italy", timeout=30_000
    )
    source = opened.get_by_role("link", name="https://toolbox.eupati.eu/guidance/")
    expect(source.first).to_be_visible()
    page.screenshot(path="/tmp/ecrin-web-plan.png", full_page=True)

    page.reload()  # the offer comes back with the conversation
    expect(page.get_by_role("link", name="Download your plan")).to_have_count(1, timeout=30_000)
    assert problems == []
    context.close()
