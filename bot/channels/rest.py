"""A REST channel that answers bad input with a 4xx and a reason, and never with silence.

It keeps the URL and payload of Rasa's own REST channel (`POST /webhooks/rest/webhook` with
`{"sender": ..., "message": ...}`), so existing clients and `shared/eval/score.py` work as
before. What it adds:

* validation: content type, body size (from Content-Length, and while reading: a body is
  never read past the limit), UTF-8, JSON nesting depth, JSON object, sender and message
  types and lengths, NUL and other control characters, lone surrogates — each a 4xx with a
  reason, never a 500;
* a polite reply when the assistant produced nothing (a failed action server, a crash in a
  component), logged, so the user never faces silence and the conversation goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage, PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import ratelimit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 2_000
MAX_SENDER_CHARS = 128
MAX_JSON_DEPTH = 32  # a message with metadata needs 3 or 4; deeper is an attack or a bug

JSON_MEDIA_TYPE = "application/json"
# Characters that no sender id may hold (control characters, NUL included: PostgreSQL
# refuses NUL in text) and that no text may hold (NUL, and lone surrogates: not UTF-8).
BAD_SENDER_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_TEXT_CHARS = re.compile(r"[\x00\ud800-\udfff]")
# The characters that matter for nesting: quotes, backslashes and brackets.
_JSON_STRUCTURE = re.compile(r'["\\\[\]{}]')

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


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests arrays/objects deeper than `limit` (checked before parsing, so a
    deeply nested body can't exhaust the parser's recursion). Linear in the number of quotes,
    backslashes and brackets; brackets inside strings don't count."""
    depth, in_string, skip_to = 0, False, -1
    for match in _JSON_STRUCTURE.finditer(text):
        position, char = match.start(), match.group()
        if position < skip_to:  # the character after a backslash
            continue
        if in_string:
            if char == "\\":
                skip_to = position + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"body is not valid JSON: {name} is not a JSON number")


def check_text(value: Any, where: str) -> None:
    """`BadRequest` if a string anywhere in `value` holds a NUL or a lone surrogate."""
    if isinstance(value, str):
        if _BAD_TEXT_CHARS.search(value):
            raise BadRequest(f"{where} contains a NUL character or a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, where)
    elif isinstance(value, list):
        for item in value:
            check_text(item, where)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `BadRequest` (size, UTF-8, depth, JSON, object)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is larger than {MAX_BODY_BYTES // 1024} KB", status=413)
    if not body.strip():
        raise BadRequest("body is not valid JSON: it is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("body is not valid UTF-8") from error
    if json_depth_exceeds(text):
        raise BadRequest(f"body is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except BadRequest:
        raise
    except json.JSONDecodeError as error:
        raise BadRequest(f"body is not valid JSON: {error.msg}") from error
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        raise BadRequest(f"body is not valid JSON: {error}"[:200]) from error
    if not isinstance(payload, dict):
        raise BadRequest('body must be a JSON object like {"sender": "...", "message": "..."}')
    return payload


def check_content_type(value: str | None) -> None:
    """`BadRequest` (415) unless the Content-Type is JSON (in UTF-8, if a charset is given).

    Browsers can't send `application/json` to another site without asking first (CORS), so
    this also keeps other sites' pages from posting into a visitor's conversation."""
    media_type, _, parameters = (value or "").partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        shown = media_type.strip()[:60] or "missing"
        raise BadRequest(f"Content-Type must be {JSON_MEDIA_TYPE} (got {shown})", status=415)
    for parameter in parameters.split(";"):
        name, _, charset = parameter.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise BadRequest("the body must be UTF-8 (charset=utf-8)", status=415)


def check_content_length(value: str | None, limit: int = MAX_BODY_BYTES) -> int | None:
    """The declared body length (None when not given: chunked), or `BadRequest` (400, 413)."""
    if value is None:
        return None
    if not value.strip().isdigit() or not value.strip().isascii():
        raise BadRequest("Content-Length is not a number")
    length = int(value.strip()[:20])
    if length > limit:
        raise BadRequest(f"body is larger than {limit // 1024} KB", status=413)
    return length


_HEADER_LINE = re.compile(rb"\r\n([^:\r\n]*):[ \t]*([^\r\n]*)")


def check_framing(head: bytes) -> None:
    """`InvalidUsage` (400) for a request head whose body framing Sanic's own HTTP server
    would mishandle: a Content-Length that is not a number (a 500), negative (the server
    loops forever), given twice, or sent with Transfer-Encoding (request smuggling); a
    Transfer-Encoding other than `chunked`."""
    lengths, encodings = [], []
    for name, value in _HEADER_LINE.findall(head):
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            encodings.append(value.strip())
    if encodings and (lengths or encodings != [b"chunked"]):
        raise InvalidUsage("Transfer-Encoding must be chunked, without Content-Length")
    if len(lengths) > 1 or (lengths and not (lengths[0].isdigit() and len(lengths[0]) < 19)):
        raise InvalidUsage("Content-Length must be one whole number")


def guard_framing(blueprint: Blueprint) -> None:
    """Check each request head with `check_framing` on Sanic's own server (`rasa run`), before
    Sanic parses it. Under ASGI the server (uvicorn) checks framing itself."""

    @blueprint.signal("http.lifecycle.read_head")
    async def framing(head: bytes) -> None:
        check_framing(head)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, at most `limit` bytes, or `BadRequest` (411, 413, 415, 400).

    The route must be declared with `stream=True`: Sanic then leaves the body unread, and it
    is refused from its Content-Length before a byte of it is read, or as soon as it grows
    past `limit` (a chunked body). Otherwise Sanic would first read up to its own
    REQUEST_MAX_SIZE (100 MB) into memory."""
    check_content_type(request.headers.get("content-type"))
    declared = check_content_length(request.headers.get("content-length"), limit)
    stream = request.stream
    if stream is None or not getattr(stream, "request_body", False):
        body = request.body or b""
    else:
        if hasattr(stream, "request_max_size"):
            # Sanic's own server: its reader stops at `limit`, and so does its clean-up
            # after the handler (it closes the connection instead of draining a huge body).
            stream.request_max_size = limit
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise BadRequest(f"body is larger than {limit // 1024} KB", status=413)
                chunks.append(chunk)
        except PayloadTooLarge as error:
            raise BadRequest(f"body is larger than {limit // 1024} KB", status=413) from error
        except InvalidUsage as error:
            raise BadRequest(f"the body could not be read: {error}") from error
        body = b"".join(chunks)
    if declared is not None and len(body) != declared:
        raise BadRequest("the body is not as long as its Content-Length")
    return body


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
    if BAD_SENDER_CHARS.search(sender):
        raise BadRequest('"sender" contains control characters or lone surrogates')

    text = payload.get("message")
    if not isinstance(text, str):
        raise BadRequest('"message" is required and must be a string')
    check_text(text, '"message"')
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
    check_text(metadata, '"metadata"')
    return IncomingMessage(sender=sender.strip(), text=text, metadata=metadata)


def error_response(error: BadRequest) -> HTTPResponse:
    return response.json({"error": str(error)}, status=error.status)


def request_address(request: Request) -> str:
    """The client's address: forwarded headers count only from TRUSTED_PROXIES."""
    return ratelimit.client_address(
        request.ip,
        request.headers.getall("x-forwarded-for", []),
        request.headers.getall("forwarded", []),
    )


def too_many_requests(decision: ratelimit.Decision) -> HTTPResponse:
    """429 with Retry-After and a reason the page (bot/web/static/chat.js) shows politely."""
    wait = decision.retry_after_header
    return response.json(
        {"error": ratelimit.SLOW_DOWN, "reason": "rate_limited", "retry_after": int(wait)},
        status=429,
        headers={"Retry-After": wait},
    )


async def handle_message(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: IncomingMessage,
    input_channel: str,
) -> list[dict[str, Any]]:
    """Run one user message through Rasa and return the replies, never an empty list.

    When Rasa fails (the tracker store, the lock store), the apology replaces whatever was
    collected: those answers were not stored, and the next turn would not know about them,
    so the user is asked to send the message again rather than shown an answer that is lost.
    """
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
        return [{"recipient_id": message.sender, "text": APOLOGY}]
    if not collector.messages:
        logger.error("No reply for a %s message from %s", input_channel, message.sender)
        return [{"recipient_id": message.sender, "text": APOLOGY}]
    return collector.messages


class RestInput(InputChannel):
    """`POST /webhooks/rest/webhook`, validated. Configure as `bot.channels.rest.RestInput`."""

    _limiter: ratelimit.RateLimiter | None = None

    @classmethod
    def name(cls) -> str:
        return "rest"

    @property
    def limiter(self) -> ratelimit.RateLimiter:
        """Limits per sender and per client address (bot/ratelimit.py), from the environment."""
        if self._limiter is None:
            self._limiter = ratelimit.limiter_from_env()
        return self._limiter

    async def over_limit(self, request: Request, sender: str | None = None) -> HTTPResponse | None:
        """A 429 when this sender (given one) or else this address is over its limit."""
        if sender is None:
            checks = [(ratelimit.ADDRESS, request_address(request))]
        else:
            checks = [(ratelimit.SENDER, f"{self.name()}:{sender}")]
        limiter = self.limiter
        if isinstance(limiter.backend, ratelimit.MemoryBackend):
            decision = limiter.check_all(checks)
        else:  # a Redis round trip: off the event loop
            decision = await asyncio.to_thread(limiter.check_all, checks)
        return None if decision.allowed else too_many_requests(decision)

    def with_request_metadata(self, request: Request, message: IncomingMessage) -> IncomingMessage:
        """The message as the channel passes it on: as the client sent it here; the web chat
        adds what it reads from the request (bot/channels/web.py)."""
        return message

    def shape_replies(self, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The replies as this channel answers: as Rasa collected them, which is the REST
        protocol; the web chat adds what its page renders (bot/channels/web.py)."""
        return replies

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"{self.name()}_webhook", __name__)
        guard_framing(webhook)
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

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            try:
                message = self.with_request_metadata(request, parse_body(await read_body(request)))
            except BadRequest as error:
                return error_response(error)
            limited = await self.over_limit(request, message.sender)
            if limited is not None:
                return limited
            replies = await handle_message(on_new_message, message, self.name())
            return response.json(self.shape_replies(replies))
