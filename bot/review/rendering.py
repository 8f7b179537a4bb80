"""The review app's Jinja environment: the templates in bot/review/templates/, autoescaped,
with the filters and globals they use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2

from bot.i18n import languages
from bot.review.context import CSRF_FIELD
from bot.tracker_db.inbox import short_id

TEMPLATES = Path(__file__).resolve().parent / "templates"


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


def _language(code: str | None) -> str:
    """A message's language as staff read it: "fr" with its name as a tooltip elsewhere;
    "—" when the NLU could not tell (a short message, a name) or before issue 22."""
    return code or "—"


def _language_options() -> list[tuple[str, str]]:
    """(code, name) of each language of data/languages.yml, for the filters' selects."""
    return [(code, language.name) for code, language in languages().items()]


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        when=_when, confidence=_confidence, short_id=short_id, language=_language
    )
    environment.globals.update(
        query=_query, CSRF_FIELD=CSRF_FIELD, language_options=_language_options
    )
    return environment
