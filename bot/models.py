"""ORM models for the facts that change over time: partner organisations and events.

The schema is owned by the Alembic migrations in `bot/migrations/`; these classes describe it
for queries. Only public, organisational contact routes are stored — never a private person.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, String, Text, TypeDecorator
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
    contact = Column(Text)
    ecrin_status = Column(String(20))
    status_since = Column(Date)
    source_url = Column(String(500), nullable=False)
    last_checked = Column(Date, nullable=False)

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
    online = Column(Boolean, nullable=False, default=False)
    location = Column(String(200))
    country = Column(String(2))
    url = Column(String(500))
    description = Column(Text)
    source_url = Column(String(500), nullable=False)
    # Times are stored in UTC; this offset shows them in the event's own local time.
    utc_offset_minutes = Column(Integer)

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        if moment is None or self.utc_offset_minutes is None:
            return moment
        return moment.astimezone(dt.timezone(dt.timedelta(minutes=self.utc_offset_minutes)))
