"""The review app's ASGI middleware: security headers on every response, and the client
address by the chat channels' rule (for login throttling)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ratelimit import client_address

# Nothing is loaded from elsewhere and nothing runs inline; the app cannot be framed.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Pages show conversations: no copies in shared or browser caches.
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (pure ASGI, so streaming responses too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    header for header in SECURITY_HEADERS if header[0] not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ClientAddress:
    """Sets the request's client address by bot.ratelimit.client_address, the rule the chat
    channels use: X-Forwarded-For / Forwarded only from TRUSTED_PROXIES, so login throttling
    cannot be dodged by sending a header. (uvicorn must not rewrite the address itself:
    `bot review serve` runs it with proxy_headers off.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = scope.get("client")
            headers = scope.get("headers", [])
            address = client_address(
                peer[0] if peer else None,
                [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"],
                [v.decode("latin-1") for k, v in headers if k == b"forwarded"],
            )
            scope = {**scope, "client": (address, peer[1] if peer else 0)}
        await self.app(scope, receive, send)
