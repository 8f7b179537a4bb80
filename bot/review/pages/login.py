"""Logging in (with throttling: 429 and Retry-After after too many failures) and out."""

from __future__ import annotations

import math
import secrets

from starlette.responses import Response

from bot.review.accounts import LoginOutcome, authenticate
from bot.review.context import Context


def _safe_next(target: str) -> str:
    """Only our own paths: never an absolute or protocol-relative URL (open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_form(context: Context) -> Response:
    if context.session.get("staff_id"):
        return context.redirect("/")
    return context.render("login.html", next=_safe_next(context.params.get("next", "/")), error="")


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def login(context: Context) -> Response:
    settings = context.state.settings
    username = context.field("username")
    target = _safe_next(context.field("next", "/"))
    client = context.request.client
    outcome, staff, retry_after = authenticate(
        context.engine,
        username,
        context.field("password"),
        ip=client.host if client else "unknown",
        max_failures=settings.max_login_failures,
        window_seconds=settings.login_window_seconds,
    )
    if outcome is LoginOutcome.THROTTLED:
        context.headers["Retry-After"] = str(retry_after)
        return context.render(
            "login.html",
            status_code=429,
            next=target,
            username=username,
            error=f"Too many failed attempts. Try again in {_duration(retry_after)}.",
        )
    if outcome is LoginOutcome.WRONG or staff is None:
        return context.render(
            "login.html",
            status_code=401,
            next=target,
            username=username,
            error="Wrong username or password.",
        )
    # A new session on login: nothing set before it (by anyone) survives into it.
    context.session.clear()
    context.session["staff_id"] = staff.id
    context.session["csrf"] = secrets.token_urlsafe(32)
    return context.redirect(target)


def logout(context: Context) -> Response:
    context.session.clear()
    return context.redirect("/login")
