"""The staff review web app: Starlette routes, sessions, CSRF, roles and security headers.

Every route goes through `guarded()`, which is where the rules live, once:

* a page needs a logged-in staff member (anonymous → 303 to /login), admin pages need the
  admin role (→ 403);
* every POST must carry the session's CSRF token in its form (→ 403 without it);
* the handler itself is plain synchronous code run in a worker thread, so database work
  never blocks the event loop.

The views are in `bot.review.views`; this module wires them up.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ratelimit import client_address
from bot.review.accounts import Staff, get_staff
from bot.review.config import ReviewSettings
from bot.review.conversations import ConversationStore, short_id
from bot.review.database import get_engine
from bot.review.nlu import NluInbox

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "review_session"
CSRF_FIELD = "csrf_token"

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


@dataclass
class ReviewState:
    """What every request needs, built once per app."""

    settings: ReviewSettings
    engine: Engine
    store: ConversationStore
    nlu: NluInbox
    templates: jinja2.Environment


@dataclass
class Context:
    """One request, as a view sees it."""

    request: Request
    state: ReviewState
    staff: Staff | None
    form: FormData | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def session(self) -> dict[str, Any]:
        return self.request.session

    @property
    def params(self) -> Any:
        return self.request.query_params

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def who(self) -> str:
        return self.staff.username if self.staff else ""

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default) if self.form is not None else default
        return value if isinstance(value, str) else default

    def flash(self, message: str, kind: str = "info") -> None:
        self.session["flash"] = [*self.session.get("flash", []), [kind, message]]

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        flashes = self.session.pop("flash", [])
        html = self.state.templates.get_template(template).render(
            request=self.request,
            staff=self.staff,
            csrf_token=self.session.get("csrf", ""),
            flashes=flashes,
            settings=self.state.settings,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=self.headers or None)

    def redirect(self, path: str, **params: Any) -> RedirectResponse:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


View = Callable[[Context], Response]


def guarded(
    view: View, *, admin: bool = False, anonymous: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for `view`: session, role and CSRF checks, then the view in a thread."""

    async def endpoint(request: Request) -> Response:
        _check_text(request.query_params.multi_items(), "The address")
        state: ReviewState = request.app.state.review
        session = request.session
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        staff: Staff | None = None
        if not anonymous:
            staff_id = session.get("staff_id")
            if isinstance(staff_id, int):
                staff = await run_in_threadpool(get_staff, state.engine, staff_id)
            if staff is None:
                # Removed accounts lose their sessions at the next request.
                session.pop("staff_id", None)
                login = "/login"
                if request.method == "GET" and request.url.path != "/":
                    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    login += "?" + urlencode({"next": back})
                return RedirectResponse(login, status_code=303)
            if admin and not staff.is_admin:
                raise HTTPException(403, "This page is for administrators.")
        form = None
        if request.method == "POST":
            form = await request.form()
            _check_text(form.multi_items(), "The form")
            token = form.get(CSRF_FIELD)
            if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), session["csrf"].encode()
            ):
                raise HTTPException(
                    403, "The form was missing its security token. Reload the page and retry."
                )
        context = Context(request, state, staff, form)
        return await run_in_threadpool(view, context)

    endpoint.__name__ = view.__name__
    return endpoint


def _check_text(items: list[tuple[str, Any]], where: str) -> None:
    """400 for a NUL character in a parameter: PostgreSQL cannot store or compare it (it would
    be a 500), and no form or link of ours sends one."""
    for name, value in items:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise HTTPException(400, f"{where} contains a NUL character.")


async def health(_: Request) -> Response:
    # For `bot run` to know the app is up; says nothing about the data.
    return PlainTextResponse("ok")


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    state: ReviewState = request.app.state.review
    # Messages from a redirect that ended here (e.g. "that conversation does not exist").
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    html = state.templates.get_template("error.html").render(
        request=request,
        staff=None,
        csrf_token="",
        flashes=flashes,
        status=error.status_code,
        message=error.detail,
    )
    return HTMLResponse(html, status_code=error.status_code, headers=error.headers)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
    return f"{moment:%Y-%m-%d %H:%M}"


def _confidence(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _query(params: dict[str, str], **changes: Any) -> str:
    """A query string: `params` with `changes` applied (None removes a key)."""
    merged = {**params, **{k: str(v) for k, v in changes.items() if v is not None}}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
    return urlencode({k: v for k, v in merged.items() if v != ""})


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(when=_when, confidence=_confidence, short_id=short_id)
    environment.globals.update(query=_query, CSRF_FIELD=CSRF_FIELD)
    return environment


def create_app(settings: ReviewSettings | None = None) -> Starlette:
    """The review app for `settings` (default: from the environment)."""
    from bot.review import views

    settings = settings or ReviewSettings.from_env()
    engine = get_engine(settings.database_url)
    state = ReviewState(
        settings=settings,
        engine=engine,
        store=ConversationStore(engine, settings.low_confidence),
        nlu=NluInbox(engine, settings.low_confidence),
        templates=template_environment(),
    )

    def page(path: str, view: View, methods: tuple[str, ...] = ("GET",), **rules: bool) -> Route:
        return Route(path, guarded(view, **rules), methods=list(methods), name=view.__name__)

    post = ("POST",)
    routes = [
        Route("/health", health, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        page("/login", views.login_form, anonymous=True),
        page("/login", views.login, post, anonymous=True),
        page("/logout", views.logout, post),
        page("/", views.inbox),
        page("/export.csv", views.export_csv),
        page("/export.json", views.export_json),
        page("/conversation", views.conversation),
        page("/conversation/status", views.conversation_status, post),
        page("/conversation/tags/add", views.conversation_tag_add, post),
        page("/conversation/tags/remove", views.conversation_tag_remove, post),
        page("/conversation/notes", views.conversation_note, post),
        page("/conversation/flag", views.conversation_flag, post),
        page("/conversation/erase", views.conversation_erase, post, admin=True),
        page("/nlu", views.nlu_inbox),
        page("/nlu/label", views.nlu_label, post),
        page("/nlu/export.yml", views.nlu_export),
        page("/handoffs", views.handoffs),
        page("/dashboard", views.dashboard),
        page("/staff", views.staff_page, admin=True),
        page("/staff/add", views.staff_add, post, admin=True),
        page("/staff/remove", views.staff_remove, post, admin=True),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(ClientAddress),
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=settings.session_hours * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={HTTPException: http_error},
        max_body_size=1_000_000,
    )
    app.state.review = state
    return app
