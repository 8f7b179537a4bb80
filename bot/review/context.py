"""What every page of the review app is given, and the rules every request passes first.

`guarded()` is where the rules live, once:

* a page needs a logged-in staff member (anonymous → 303 to /login), admin pages need the
  admin role (→ 403);
* every POST must carry the session's CSRF token in its form (→ 403 without it);
* the page itself is plain synchronous code run in a worker thread, so database work (bounded
  in time, bot.tracker_db.engine) never blocks the event loop.

The pages (bot.review.pages) take a `Context` and return a response; bot.review.app builds
the route table from them with `page()`. This module imports no page and not the app.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jinja2
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.review.accounts import Staff, get_staff
from bot.review.config import ReviewSettings
from bot.review.nlu import NluInbox
from bot.tracker_db.store import ConversationStore

# The form field that carries the session's CSRF token (templates: {{ CSRF_FIELD }}).
CSRF_FIELD = "csrf_token"


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
    """One request, as a page sees it."""

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
    view: View, *, admin: bool = False, editor: bool = False, anonymous: bool = False
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
            if editor and not staff.can_edit:
                raise HTTPException(403, "Only editors and administrators may change this data.")
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


def page(path: str, view: View, methods: tuple[str, ...] = ("GET",), **rules: bool) -> Route:
    """The route serving `view` at `path` through `guarded` with `rules` (admin=True: for
    administrators only; editor=True: for editors and administrators; anonymous=True: no login
    needed)."""
    return Route(path, guarded(view, **rules), methods=list(methods), name=view.__name__)
