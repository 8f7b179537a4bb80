"""ORM models for the facts that change over time: partner organisations and events.

The schema is owned by the Alembic migrations in `bot/migrations/`; these classes describe it
for queries. Only public, organisational contact routes are stored — never a private person.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: events need a timezone")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.timezone.utc)


class PartnerKind:
    ECRIN_PARTNER = "ecrin_partner"
    EUPATI_PLATFORM = "eupati_platform"
    ECRIN_OFFICE = "ecrin_office"
    ALL = (ECRIN_PARTNER, EUPATI_PLATFORM, ECRIN_OFFICE)


class Attendance:
    """How people take part in an event (schema.org's eventAttendanceMode: offline, online,
    mixed). One value, not an `online` flag plus a `hybrid` flag that could contradict it."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"
    ALL = (IN_PERSON, ONLINE, HYBRID)


class Partner(Base):
    """An organisation people can contact: an ECRIN national partner, a EUPATI platform…"""

    __tablename__ = "partners"

    id = Column(Integer, primary_key=True)
    slug = Column(String(80), unique=True, nullable=False)
    kind = Column(String(32), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    acronym = Column(String(40))
    country = Column(String(2), nullable=False, index=True)
    city = Column(String(100))
    website = Column(String(300))
    # The organisation's own page for getting in touch, when a source shows one (0003).
    contact_url = Column(String(500))
    contact = Column(Text)
    ecrin_status = Column(String(20))
    status_since = Column(Date)
    source_url = Column(String(500), nullable=False)
    last_checked = Column(Date, nullable=False)
    # Set when staff retire the row (0005): hidden from the assistant, kept for restoring.
    retired_at = Column(UTCDateTime)

    @property
    def display_name(self) -> str:
        if self.acronym and self.acronym not in self.name:
            return f"{self.acronym} ({self.name})"
        return self.name


class Event(Base):
    """A real, announced event; made-up events never reach this table outside tests."""

    __tablename__ = "events"

    id = Column(Integer, primary_key=True)
    slug = Column(String(120), unique=True, nullable=False)
    title = Column(String(300), nullable=False)
    kind = Column(String(32), nullable=False, index=True)
    organiser = Column(String(200), nullable=False)
    audience = Column(String(32), nullable=False, default="everyone")
    starts_at = Column(UTCDateTime, index=True)
    ends_at = Column(UTCDateTime)
    # True for online-only events; kept for the importers and queries that use it.
    online = Column(Boolean, nullable=False, default=False)
    # in_person, online or hybrid (Attendance); `online` is True exactly when this is online.
    attendance = Column(String(16), nullable=False, default=Attendance.IN_PERSON)
    location = Column(String(200))
    country = Column(String(2))
    url = Column(String(500))
    description = Column(Text)
    source_url = Column(String(500), nullable=False)
    # Times are stored in UTC; this offset shows them in the event's own local time.
    utc_offset_minutes = Column(Integer)
    # The organisers' IANA time zone ("Europe/Brussels"), when known (0003): it names the
    # zone ("CEST") and follows summer time, where the fixed offset above cannot.
    timezone = Column(String(64))
    # An iCalendar RRULE for a day held every year ("FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20"),
    # starting from starts_at (0005); bot/recurrence.py lists its occurrences.
    recurrence = Column(String(200))
    # Set when staff retire the row (0005): hidden from the assistant, kept for restoring.
    retired_at = Column(UTCDateTime)
    # The day someone last confirmed the row against its source (0005); None: never.
    last_checked = Column(Date)

    @property
    def zone(self) -> dt.tzinfo | None:
        if self.timezone:
            return ZoneInfo(self.timezone)
        if self.utc_offset_minutes is not None:
            return dt.timezone(dt.timedelta(minutes=self.utc_offset_minutes))
        return None

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        zone = self.zone
        if moment is None or zone is None:
            return moment
        return moment.astimezone(zone)


class CrisisLine(Base):
    """A checked crisis line for one country, named to people who mention self-harm.

    Only lines found on a public page are stored; `source_url` names that page and
    `last_checked` the day someone read it (docs/safety.md says how staff update them).
    """

    __tablename__ = "crisis_lines"

    id = Column(Integer, primary_key=True)
    slug = Column(String(80), unique=True, nullable=False)
    country = Column(String(2), nullable=False, index=True)
    # Order within the country: 1 is named first.
    rank = Column(Integer, nullable=False, default=1)
    name = Column(String(200), nullable=False)
    # Digits and spaces, one number or "113 or 0800 0113", as people dial it in the country.
    phone = Column(String(80), nullable=False)
    # Said to the user after the number: "free, 24 hours a day".
    hours = Column(String(200))
    # For staff only: caveats found while checking (funding, changes announced…).
    notes = Column(Text)
    website = Column(String(300))
    source_url = Column(String(500), nullable=False)
    last_checked = Column(Date, nullable=False)


class DataChange(Base):
    """One change staff made to an event or a partner: who, when, and each field's before and
    after (JSON), so every row's history can be read back (bot/audit.py)."""

    __tablename__ = "data_changes"
    __table_args__ = (Index("ix_data_changes_row", "table_name", "slug"),)

    id = Column(Integer, primary_key=True)
    table_name = Column(String(32), nullable=False)
    slug = Column(String(120), nullable=False)
    # create, update, retire, restore
    action = Column(String(16), nullable=False)
    staff = Column(String(80), nullable=False)
    changed_at = Column(UTCDateTime, nullable=False, index=True)
    changes = Column(Text, nullable=False)


class LinkCheck(Base):
    """The last answer of one published address (bot/link_check.py), for the dashboard."""

    __tablename__ = "link_checks"

    url = Column(String(500), primary_key=True)
    checked_at = Column(UTCDateTime, nullable=False)
    ok = Column(Boolean, nullable=False)
    # The HTTP status, when the server answered at all.
    status = Column(Integer)
    error = Column(Text)
