"""A fake Telegram Bot API server for tests: it records every call and answers like Telegram.

Telegram's servers are the one part we cannot reach from tests, so python-telegram-bot's base
URL is pointed here instead (TELEGRAM_API_URL).
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "ECRIN test", "username": "ecrin_test_bot"}


# Telegram's HTML subset (core.telegram.org/bots/api#html-style); any other tag is refused.
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "tg-emoji", "blockquote",
}  # fmt: skip
NAMED_ENTITIES = {"&lt;", "&gt;", "&amp;", "&quot;"}
_HTML_TOKEN = re.compile(r"<(/?)([^\s<>/]*)([^<>]*)>|&[^;\s<>&]*;?|[<>]")
TEXT_LIMIT = 4096  # UTF-16 code units of the text once its entities are parsed
CALLBACK_DATA_LIMIT = 64  # bytes


class ApiRefusal(Exception):
    """What Telegram answers 400 to, with its description."""


def check_html(text: str) -> str:
    """The text Telegram would show for `text` in parse_mode HTML, or `ApiRefusal` where
    Telegram answers "can't parse entities": an unknown or unbalanced tag, a link without
    an address, a bare `<`, `>` or `&`."""
    stack: list[str] = []
    for match in _HTML_TOKEN.finditer(text):
        token, closing, name, attributes = match.group(0), *match.groups()
        if token in "<>":
            raise ApiRefusal(f"can't parse entities: unexpected {token!r}")
        if token.startswith("&"):
            if token not in NAMED_ENTITIES and not re.fullmatch(r"&#(\d+|x[0-9a-fA-F]+);", token):
                raise ApiRefusal(f"can't parse entities: unsupported entity {token!r}")
            continue
        if name.lower() not in HTML_TAGS:
            raise ApiRefusal(f"can't parse entities: unsupported start tag {name!r}")
        if closing:
            if not stack or stack.pop() != name.lower():
                raise ApiRefusal(f"can't parse entities: unmatched end tag {name!r}")
        else:
            if name.lower() == "a" and not re.fullmatch(r'\s+href="[^"<>]+"', attributes):
                raise ApiRefusal("can't parse entities: a link without href")
            stack.append(name.lower())
    if stack:
        raise ApiRefusal(f"can't parse entities: unclosed tag {stack[-1]!r}")
    return html.unescape(re.sub(r"<[^<>]*>", "", text))


def check_message(params: dict[str, Any]) -> None:
    """Refuse what Telegram refuses in sendMessage: bad HTML, too long a text, button data
    over 64 bytes."""
    text = str(params.get("text", ""))
    shown = check_html(text) if params.get("parse_mode") == "HTML" else text
    if not shown.strip():
        raise ApiRefusal("message text is empty")
    if len(shown.encode("utf-16-le")) // 2 > TEXT_LIMIT:
        raise ApiRefusal("message is too long")
    check_markup(params)


def check_markup(params: dict[str, Any]) -> None:
    for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if len(str(button.get("callback_data", "")).encode()) > CALLBACK_DATA_LIMIT:
                raise ApiRefusal("BUTTON_DATA_INVALID")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass(frozen=True)
class UploadedFile:
    """A file sent in a multipart request (sendDocument's `document`)."""

    filename: str | None
    content_type: str
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        # Calls Telegram would have refused (400), with its description: tests expect none.
        self.refused: list[tuple[str, dict[str, Any], str]] = []
        # What getUpdates hands out (`bot telegram poll`), oldest first.
        self.updates: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # Polled every 50 ms: shutdown() waits up to one poll interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.refused.clear()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def documents(self) -> list[dict[str, Any]]:
        """The documents the bot sent (sendDocument): `document` is an `UploadedFile`."""
        return self.sent("sendDocument")

    def messages(self) -> list[dict[str, Any]]:
        """The messages the bot sent, as Telegram returns them (and attaches them to a press
        of one of their buttons)."""
        with self._lock:
            return [c.result for c in self.calls if c.method == "sendMessage"]

    def _record(self, method: str, params: dict[str, Any]) -> Any:
        try:
            if method == "sendMessage":
                check_message(params)
            elif method == "editMessageReplyMarkup":
                check_markup(params)
        except ApiRefusal as refusal:
            with self._lock:
                self.refused.append((method, params, str(refusal)))
            raise
        result = self._result(method, params)
        with self._lock:
            self.calls.append(Call(method, params, result))
        return result

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return _bot_message(params, next(self._message_ids))
        if method == "sendDocument":
            return _document_message(params, next(self._message_ids))
        if method == "editMessageReplyMarkup":
            # Telegram answers with the edited message (we don't keep texts, so it has none).
            return _bot_message(params, int(params["message_id"]))
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            with self._lock:
                pending = [u for u in self.updates if u["update_id"] >= offset]
            if not pending:
                time.sleep(0.2)  # a short long-poll, so a polling client does not spin
            return pending
        return True  # answerCallbackQuery, setWebhook, deleteWebhook

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                _, bot_token, method = self.path.split("/", 2)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/json"):
                    params = json.loads(raw.decode() or "{}")
                elif content_type.startswith("multipart/form-data"):
                    params = _multipart(content_type, raw)
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                for key in ("reply_markup",):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                if bot_token != f"bot{TOKEN}":
                    status, reply = (
                        401,
                        {"ok": False, "error_code": 401, "description": "Unauthorized"},
                    )
                else:
                    try:
                        status, reply = 200, {"ok": True, "result": fake._record(method, params)}
                    except ApiRefusal as refusal:
                        description = f"Bad Request: {refusal}"
                        status, reply = (
                            400,
                            {"ok": False, "error_code": 400, "description": description},
                        )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _bot_message(params: dict[str, Any], message_id: int) -> dict[str, Any]:
    chat_id = int(params["chat_id"])
    message = {
        "message_id": message_id,
        "from": BOT_USER,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
        "text": params.get("text", ""),
    }
    if params.get("reply_markup"):
        message["reply_markup"] = params["reply_markup"]
    return message


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data body (how files are uploaded): fields as text, files as
    `UploadedFile`."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None or part.get_content_type() != "text/plain":
            params[name] = UploadedFile(filename, part.get_content_type(), content)
        else:
            params[name] = content.decode(part.get_content_charset() or "utf-8")
    return params


def _document_message(params: dict[str, Any], message_id: int) -> dict[str, Any]:
    """What Telegram answers to sendDocument: the message, with the document's details."""
    message = _bot_message(params, message_id)
    del message["text"]
    upload = params.get("document")
    if isinstance(upload, UploadedFile):
        message["document"] = {
            "file_id": f"doc-{message_id}",
            "file_unique_id": f"udoc-{message_id}",
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.content),
        }
    if params.get("caption"):
        message["caption"] = params["caption"]
    return message


_update_ids = itertools.count(1)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}


def message_update(text: str | None = None, chat_id: int = 424242, **extra: Any) -> dict[str, Any]:
    """A private-chat message as Telegram sends it (commands carry a bot_command entity)."""
    chat = {"id": chat_id, "first_name": "Ana", "type": "private"}
    if chat_id < 0:
        chat = {"id": chat_id, "title": "Patient group", "type": "group"}
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "from": _user(abs(chat_id) if chat_id > 0 else 777),
        "chat": chat,
        "date": int(time.time()),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [
                {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
            ]
    return {"update_id": next(_update_ids), "message": message}


def callback_update(
    data: str, chat_id: int = 424242, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A pressed inline button, as Telegram sends it, with the message it was attached to:
    `message` (one the fake sent, say) or a "Did you mean:" with just this button."""
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(chat_id),
            "chat_instance": "-123",
            "data": data,
            "message": message
            or {
                "message_id": next(_update_ids),
                "from": BOT_USER,
                "chat": {"id": chat_id, "first_name": "Ana", "type": "private"},
                "date": int(time.time()),
                "text": "Did you mean:",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "What is a placebo?", "callback_data": data}]]
                },
            },
        },
    }
