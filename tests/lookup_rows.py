"""Made-up events and partners for the data-care tests (link checks, data health, `bot data`),
in a real SQLite lookup database migrated with bot.db.upgrade. None of them reaches data/db."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bot import db
from bot.models import Event, Partner

UTC = dt.timezone.utc


def lookup_database(directory: Path, name: str = "lookup.db") -> str:
    """A new, migrated, empty lookup database in `directory`; its URL."""
    url = f"sqlite:///{directory / name}"
    db.upgrade(url)
    return url


def event(slug: str, starts: dt.date | None = None, **fields: Any) -> Event:
    """An event starting on `starts` (None: self-paced), 09:00 to 17:00 UTC."""
    values: dict[str, Any] = {
        "slug": slug,
        "title": f"Test event {slug}",
        "kind": "webinar",
        "organiser": "Test organiser",
        "audience": "everyone",
        "online": True,
        "attendance": "online",
        "source_url": f"https://example.org/events/{slug}",
    }
    if starts is not None:
        values["starts_at"] = dt.datetime.combine(starts, dt.time(9), tzinfo=UTC)
        values["ends_at"] = dt.datetime.combine(starts, dt.time(17), tzinfo=UTC)
    return Event(**(values | fields))


def partner(slug: str, last_checked: dt.date, **fields: Any) -> Partner:
    values: dict[str, Any] = {
        "slug": slug,
        "kind": "ecrin_partner",
        "name": f"Test partner {slug}",
        "country": "FR",
        "source_url": f"https://example.org/partners/{slug}",
        "last_checked": last_checked,
    }
    return Partner(**(values | fields))


def retired() -> dict[str, dt.datetime]:
    """The field that retires a row, for `event(..., **retired())`."""
    return {"retired_at": dt.datetime(2026, 11, 1, tzinfo=UTC)}
