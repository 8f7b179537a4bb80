"""A REST channel that answers bad input with a 4xx and a reason, and never with silence.

It keeps the URL and payload of Rasa's own REST channel (`POST /webhooks/rest/webhook` with
`{"sender": ..., "message": ...}`), so existing clients and `shared/eval/score.py` work as
before. What it adds:

* validation: body size, UTF-8, JSON object, sender and message types and lengths;
* a polite reply when the assistant produced nothing (a failed action server, a crash in a
  component), logged, so the user never faces silence and the conversation goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 2_000
MAX_SENDER_CHARS = 128

APOLOGY = (
    "Sorry, something went wrong on my side and I couldn't answer that just now. "
    "Please try again in a moment, or ask me something else."
)


class BadRequest(ValueError):
    """The request cannot be handled; `status` and the message go back to the client."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class IncomingMessage:
    sender: str
    text: str
    metadata: dict[str, Any] | None


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `BadRequest` (size, UTF-8, JSON, object)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is larger than {MAX_BODY_BYTES // 1024} KB", status=413)
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadRequest("body is not valid UTF-8") from error
    except json.JSONDecodeError as error:
        raise BadRequest(f"body is not valid JSON: {error.msg}") from error
    if not isinstance(payload, dict):
        raise BadRequest('body must be a JSON object like {"sender": "...", "message": "..."}')
    return payload


def parse_body(body: bytes) -> IncomingMessage:
    """Validate a webhook body; raise `BadRequest` with a reason a developer can act on."""
    payload = parse_json_object(body)

    sender = payload.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest('"sender" is required and must be a non-empty string')
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(f'"sender" is longer than {MAX_SENDER_CHARS} characters')

    text = payload.get("message")
    if not isinstance(text, str):
        raise BadRequest('"message" is required and must be a string')
    text = text.strip()
    if not text:
        raise BadRequest('"message" is empty')
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadRequest(
            f'"message" is longer than {MAX_MESSAGE_CHARS} characters; '
            "please ask one question at a time",
            status=413,
        )

    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be a JSON object')
    return IncomingMessage(sender=sender.strip(), text=text, metadata=metadata)


def error_response(error: BadRequest) -> HTTPResponse:
    return response.json({"error": str(error)}, status=error.status)


async def handle_message(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: IncomingMessage,
    input_channel: str,
) -> list[dict[str, Any]]:
    """Run one user message through Rasa and return the replies, never an empty list."""
    collector = CollectingOutputChannel()
    try:
        await on_new_message(
            UserMessage(
                message.text,
                collector,
                message.sender,
                input_channel=input_channel,
                metadata=message.metadata,
            )
        )
    except Exception:
        logger.exception("Handling a %s message failed", input_channel)
    if not collector.messages:
        logger.error("No reply for a %s message from %s", input_channel, message.sender)
        return [{"recipient_id": message.sender, "text": APOLOGY}]
    return collector.messages


class RestInput(InputChannel):
    """`POST /webhooks/rest/webhook`, validated. Configure as `bot.channels.rest.RestInput`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"{self.name()}_webhook", __name__)
        self.add_routes(webhook, on_new_message)
        return webhook

    def add_routes(
        self,
        webhook: Blueprint,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        @webhook.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = parse_body(request.body or b"")
            except BadRequest as error:
                return error_response(error)
            replies = await handle_message(on_new_message, message, self.name())
            return response.json(replies)
