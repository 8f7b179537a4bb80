"""How current the assistant's events and partners are: what staff should look at next.

The assistant is only as good as its data, and data goes stale without anyone noticing: a row
nobody compared with its source for half a year, a link that died, a calendar whose last dated
event is next month. `data_health` gathers these for the review dashboard and
`bot data health`; each problem comes with a warning worded as what to do about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.link_check import RowRef, published_urls
from bot.models import Event, LinkCheck, Partner

STALE_AFTER_DAYS = 180
HORIZON_DAYS = 90
# A scheduled check runs weekly or monthly (docs/data.md); older than this, it has stopped.
LINK_CHECK_MAX_AGE_DAYS = 30


@dataclass(frozen=True)
class StaleRow:
    """A live row nobody has compared with its source for too long (None: never)."""

    table: str  # "events" or "partners"
    slug: str
    name: str
    last_checked: dt.date | None


@dataclass(frozen=True)
class FailedLink:
    """A published address whose last check failed, with the rows that show it."""

    url: str
    status: int | None
    error: str | None
    checked_at: dt.datetime
    used_by: tuple[RowRef, ...]

    @property
    def problem(self) -> str:
        return self.error or f"HTTP {self.status}"


@dataclass(frozen=True)
class DataHealth:
    """The state of the lookup data on `today`; `warnings` first, worded as what to do."""

    today: dt.date
    stale_after_days: int
    horizon_days: int
    live_events: int
    live_partners: int
    stale_rows: tuple[StaleRow, ...]
    links_published: int
    links_checked: int
    failed_links: tuple[FailedLink, ...]
    # The day the last dated, non-recurring upcoming event starts (its own local date).
    last_dated_event: dt.date | None
    last_link_check: dt.datetime | None
    warnings: tuple[str, ...]

    @property
    def horizon(self) -> dt.date:
        """The day the calendar should reach beyond."""
        return self.today + dt.timedelta(days=self.horizon_days)

    def summary(self) -> list[str]:
        """The figures as lines of text (`bot data health`), warnings first."""
        lines = [f"Warning: {warning}" for warning in self.warnings]
        last_event = self.last_dated_event.isoformat() if self.last_dated_event else "none"
        last_check = (
            f"{self.last_link_check:%Y-%m-%d %H:%M} UTC" if self.last_link_check else "never"
        )
        lines += [
            f"Live rows: {self.live_events} event(s), {self.live_partners} partner(s).",
            f"Not checked for more than {self.stale_after_days} days: {len(self.stale_rows)}.",
            f"Links: {self.links_published} published, {self.links_checked} checked, "
            f"{len(self.failed_links)} failed.",
            f"Last dated upcoming event: {last_event}.",
            f"Last link check: {last_check}.",
        ]
        return lines


def data_health(
    session: Session,
    today: dt.date,
    stale_after_days: int = STALE_AFTER_DAYS,
    horizon_days: int = HORIZON_DAYS,
) -> DataHealth:
    """The data's health on `today`: stale rows among the events people can still be told
    about (upcoming, self-paced or recurring) and the partners, failed links among the
    published ones, how far the dated calendar reaches, and when links were last checked."""
    events = _current_events(session, today)
    partners = list(session.scalars(select(Partner).where(Partner.retired_at.is_(None))))
    stale_before = today - dt.timedelta(days=stale_after_days)
    stale = [StaleRow("events", e.slug, e.title, e.last_checked) for e in events]
    stale += [StaleRow("partners", p.slug, p.display_name, p.last_checked) for p in partners]
    stale = [row for row in stale if row.last_checked is None or row.last_checked < stale_before]
    # Never checked first, then the oldest.
    stale.sort(key=lambda r: (r.last_checked is not None, r.last_checked or today, r.name))

    used_by = published_urls(session)
    answers = {
        row.url: row
        for row in session.scalars(select(LinkCheck).where(LinkCheck.url.in_(list(used_by))))
    }
    failed = [
        FailedLink(url, row.status, row.error, row.checked_at, tuple(used_by[url]))
        for url, row in sorted(answers.items())
        if not row.ok
    ]
    health = DataHealth(
        today=today,
        stale_after_days=stale_after_days,
        horizon_days=horizon_days,
        live_events=session.scalar(
            select(func.count()).select_from(Event).where(Event.retired_at.is_(None))
        )
        or 0,
        live_partners=len(partners),
        stale_rows=tuple(stale),
        links_published=len(used_by),
        links_checked=len(answers),
        failed_links=tuple(failed),
        last_dated_event=_last_dated_event(events),
        last_link_check=session.scalar(select(func.max(LinkCheck.checked_at))),
        warnings=(),
    )
    return _with_warnings(health)


def _current_events(session: Session, today: dt.date) -> list[Event]:
    """Live events people can still be told about: upcoming or running, self-paced, or
    recurring (a yearly day whose first date is long past still comes back)."""
    start_of_today = dt.datetime.combine(today, dt.time.min, tzinfo=dt.timezone.utc)
    query = select(Event).where(
        Event.retired_at.is_(None),
        or_(
            Event.recurrence.is_not(None),
            Event.starts_at.is_(None),
            func.coalesce(Event.ends_at, Event.starts_at) >= start_of_today,
        ),
    )
    return list(session.scalars(query.order_by(Event.starts_at, Event.slug)))


def _last_dated_event(events: list[Event]) -> dt.date | None:
    """The start day of the last dated event among `events`; recurring rows do not count:
    they never run out, so they would hide a calendar that does."""
    dated = [e for e in events if e.starts_at is not None and not e.recurrence]
    if not dated:
        return None
    last = max(dated, key=lambda e: e.starts_at)
    return last.local(last.starts_at).date()


def _with_warnings(health: DataHealth) -> DataHealth:
    warnings: list[str] = []
    if health.last_dated_event is None or health.last_dated_event <= health.horizon:
        warnings.append(
            f"No dated event after {health.horizon.isoformat()}: add the next ones in Events."
        )
    if health.stale_rows:
        warnings.append(
            f"{len(health.stale_rows)} row(s) not checked against their source for more than "
            f"{health.stale_after_days} days: check each one and save it."
        )
    if health.failed_links:
        warnings.append(
            f"{len(health.failed_links)} link(s) failed their last check: fix or retire the "
            "rows that use them."
        )
    if health.last_link_check is None:
        warnings.append("Links have never been checked: run `bot data check-links`.")
    elif (health.today - health.last_link_check.date()).days > LINK_CHECK_MAX_AGE_DAYS:
        warnings.append(
            f"Links were last checked on {health.last_link_check.date().isoformat()}, more than "
            f"{LINK_CHECK_MAX_AGE_DAYS} days ago: run `bot data check-links` (docs/data.md "
            "shows how to schedule it)."
        )
    return replace(health, warnings=tuple(warnings))
