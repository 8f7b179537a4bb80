"""The web chat: a page served by the Rasa server itself, same origin, no CORS needed.

`GET /webhooks/web/` serves the page; the page posts to `POST /webhooks/web/webhook`, which
is the validated REST protocol under the channel name "web" (so staff can tell web
conversations from API ones).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.rest import RestInput

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

# The page loads nothing from elsewhere; a strict policy keeps it that way.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class WebChatInput(RestInput):
    """Configure as `bot.channels.web.WebChatInput` in credentials.yml."""

    @classmethod
    def name(cls) -> str:
        return "web"

    def add_routes(
        self,
        webhook: Blueprint,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        super().add_routes(webhook, on_new_message)

        @webhook.route("/", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return await response.file(
                STATIC_DIR / "index.html", headers=SECURITY_HEADERS, mime_type="text/html"
            )

        webhook.static("/static", str(STATIC_DIR), name="web_static")
