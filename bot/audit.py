"""The audit trail of staff changes to events and partners: who changed what, and when.

Every change made through bot/curation.py (the review app's pages, uploads and the `bot data`
commands) writes one `DataChange` in the same transaction as the row it changes, so the trail
and the data can never disagree. Values are kept as text: the trail must stay readable after
a column changes type, and staff read it, not code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import DataChange


@dataclass(frozen=True)
class Change:
    """One recorded change; `changes` maps each field to [before, after] as text (None:
    no value)."""

    table_name: str
    slug: str
    action: str
    staff: str
    changed_at: dt.datetime
    changes: dict[str, list]


def as_text(value: Any) -> str | None:
    """A value as staff read it in the trail: dates in ISO 8601, times in UTC (the same instant
    written with two offsets is one value), yes/no as true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.timezone.utc) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """{field: [before, after]} as text, for the fields whose text differs (a field missing on
    one side counts as None: a created row has nothing before)."""
    changes = {}
    for field in sorted(set(before) | set(after)):
        old, new = as_text(before.get(field)), as_text(after.get(field))
        if old != new:
            changes[field] = [old, new]
    return changes


def record(
    session: Session,
    table_name: str,
    slug: str,
    action: str,
    staff: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> None:
    """Add one DataChange for `slug` in the caller's session (its transaction commits the change
    and its record together). Nothing is written when no field differs: a save that changes
    nothing leaves no line in the trail."""
    changes = differences(before, after)
    if not changes:
        return
    session.add(
        DataChange(
            table_name=table_name,
            slug=slug,
            action=action,
            staff=staff,
            changed_at=dt.datetime.now(dt.timezone.utc),
            changes=json.dumps(changes, ensure_ascii=False, sort_keys=True),
        )
    )


def history(
    session: Session, table_name: str | None = None, slug: str | None = None, limit: int = 100
) -> list[Change]:
    """The latest `limit` changes, newest first: all of them, one table's, or one row's."""
    query = select(DataChange)
    if table_name is not None:
        query = query.where(DataChange.table_name == table_name)
    if slug is not None:
        query = query.where(DataChange.slug == slug)
    # Two changes in the same microsecond (a retire right after a save) keep their order by id.
    query = query.order_by(DataChange.changed_at.desc(), DataChange.id.desc()).limit(limit)
    return [
        Change(
            table_name=row.table_name,
            slug=row.slug,
            action=row.action,
            staff=row.staff,
            changed_at=row.changed_at,
            changes=json.loads(row.changes),
        )
        for row in session.scalars(query)
    ]
