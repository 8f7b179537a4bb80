"""Load the curated seed files in `data/db/` into the database, idempotently.

Rows are matched by `slug`: re-running updates them and never duplicates them. Everything is
written in one transaction, so a bad row leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Partner, PartnerKind
from bot.settings import PROJECT_ROOT

SEED_DIR = PROJECT_ROOT / "data" / "db"

PARTNER_FIELDS = {
    "slug",
    "kind",
    "name",
    "acronym",
    "country",
    "city",
    "website",
    "contact",
    "ecrin_status",
    "status_since",
    "source_url",
    "last_checked",
}
REQUIRED_PARTNER_FIELDS = {"slug", "kind", "name", "country", "source_url", "last_checked"}


class SeedError(ValueError):
    """A seed row is invalid; the message names the file, the row and the field."""


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _check_partner(row: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(row) - PARTNER_FIELDS
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    missing = {f for f in REQUIRED_PARTNER_FIELDS if not row.get(f)}
    if missing:
        raise SeedError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    if row["kind"] not in PartnerKind.ALL:
        raise SeedError(f"{where}: kind must be one of {', '.join(PartnerKind.ALL)}")
    country = str(row["country"])
    if len(country) != 2 or not country.isupper():
        raise SeedError(f"{where}: country must be an ISO 3166-1 code like 'FR', got {country!r}")
    for date_field in ("status_since", "last_checked"):
        value = row.get(date_field)
        if value is not None and not isinstance(value, dt.date):
            raise SeedError(f"{where}: {date_field} must be a date (YYYY-MM-DD)")
    return {field: row.get(field) for field in PARTNER_FIELDS} | {"country": country}


def seed_partners(session: Session, path: Path = SEED_DIR / "partners.yml") -> SeedReport:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["partners"]
    report = SeedReport()
    seen: set[str] = set()
    for index, row in enumerate(rows, start=1):
        values = _check_partner(row, f"{path.name}, partner {index} ({row.get('slug')})")
        if values["slug"] in seen:
            raise SeedError(f"{path.name}: slug {values['slug']!r} appears twice")
        seen.add(values["slug"])
        existing = session.scalars(select(Partner).where(Partner.slug == values["slug"])).first()
        if existing is None:
            session.add(Partner(**values))
            report.created += 1
        elif any(getattr(existing, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(existing, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report
