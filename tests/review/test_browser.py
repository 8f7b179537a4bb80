"""The review app in a real headless Chromium, served by `bot review serve` (uvicorn) on a
free port against a seeded SQLite tracker store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from bot.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.review.conftest import ADMIN, SECRET, WEB_ID


@pytest.fixture
def review_app(seeded_sqlite: str, tmp_path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "review.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "review", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TRACKER_STORE_URL": seeded_sqlite, "REVIEW_SECRET_KEY": SECRET},
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "review.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the review app did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_log_in_search_open_a_conversation_and_mark_it_reviewed(browser, review_app: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{review_app}/")

    expect(page).to_have_url(f"{review_app}/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    expect(page.locator("table.inbox tbody tr")).to_have_count(3)

    page.get_by_label("Search user messages").fill("placebo")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    expect(page.locator(".summary")).to_contain_text("1 conversation match")

    page.get_by_role("link", name="3f2a9c1e…").click()
    expect(page.get_by_role("heading", name="Conversation 3f2a9c1e…")).to_be_visible()
    expect(page.locator(".event--user").nth(1)).to_contain_text("What is a placebo?")
    expect(page.locator(".event--user").nth(1)).to_contain_text("faq_trials/placebo")

    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.locator(".flash")).to_have_text("Marked as reviewed.")
    expect(page.locator(".meta .status")).to_have_text("Reviewed")
    expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)
    page.screenshot(path="/tmp/ecrin-review-conversation.png", full_page=True)

    page.goto(f"{review_app}/?status=reviewed")
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    expect(page.locator("table.inbox")).to_contain_text("3f2a9c1e")
    page.goto(f"{review_app}/dashboard")
    expect(page.locator("svg.chart")).to_have_count(8)  # 2 of them: involvement plans
    # The strict Content-Security-Policy held: nothing was blocked, nothing failed.
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    assert WEB_ID  # the id shown above is this conversation's, shortened
    context.close()
