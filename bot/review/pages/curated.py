"""What the Events and Partners pages share: the lookup database, the list filters and pages,
saving a form, retiring and restoring a row, and a row's history.

These pages change the data the assistant answers from (DATABASE_URL), not the tracker store
the rest of the app reads: every change goes through bot.curation, which validates it and
records it in the audit trail in the same transaction. The assistant queries the database on
every message, so a saved change is answered at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from bot import audit, curation
from bot.countries import gazetteer
from bot.db import get_engine
from bot.models import Event, Partner
from bot.review.context import Context
from bot.review.pages.params import choice, page_number, param
from bot.tracker_db.paging import Page, clamp_page

T = TypeVar("T")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
# A ticked filter box sends "1" (our links) or "on" (a browser's default for a checkbox).
TICKED = ("", "1", "on")

Row = Event | Partner
Save = Callable[[Session, Mapping[str, str], str, str | None], Row]
# (context, the values to show, each field's message, the status, the row edited or None)
FormPage = Callable[[Context, dict[str, str], dict[str, str], int, Any], Response]


@dataclass(frozen=True)
class Curated:
    """One table staff keep current, as its pages show it."""

    model: type[Event] | type[Partner]
    path: str  # the list page; the others are below it (/events/edit, /events/history…)
    noun: str  # "event": in headings and messages
    label: Callable[[Any], str]  # a row's name in headings and messages

    @property
    def table_name(self) -> str:
        return str(self.model.__tablename__)


@contextmanager
def lookup_session(context: Context, commit: bool = False) -> Iterator[Session]:
    """A session on the lookup database (ReviewSettings.lookup_database_url). It commits at
    the end only when `commit`; otherwise, and on any error, closing it rolls everything back,
    so a page that only reads, or a form that failed, can never write."""
    engine = get_engine(context.state.settings.lookup_database_url)
    session = Session(engine, future=True)
    try:
        yield session
        if commit:
            session.commit()
    finally:
        session.close()


def ticked(context: Context, name: str) -> bool:
    """A check-box filter of the query string (absent: not ticked), or a 400."""
    return choice(context, name, TICKED, "") != ""


def country_filter(context: Context) -> str:
    """`country=` as a two-letter code ("" for any), or a 400."""
    value = (param(context, "country") or "").strip().upper()
    if value and not COUNTRY_CODE.fullmatch(value):
        raise HTTPException(400, "country must be a two-letter code like FR.")
    return value


def required_slug(context: Context) -> str:
    """The row a page is about (`slug=`), or a 400 when the link lacks it."""
    slug = (param(context, "slug") or "").strip()
    if not slug:
        raise HTTPException(400, "Which row? The address needs slug=….")
    return slug


def paged(items: Sequence[T], context: Context) -> Page[T]:
    """The page `page=` asks for of `items` (kept within range). The curated tables hold
    hundreds of rows, not millions, and the events list orders yearly days by their next
    date, which SQL cannot compute: so the rows are ordered and cut here."""
    size = context.state.settings.page_size
    number = clamp_page(page_number(context), len(items), size)
    start = (number - 1) * size
    return Page(list(items[start : start + size]), number, size, len(items))


def country_names() -> dict[str, str]:
    """ISO code → name of the countries the assistant knows, by name (form suggestions and
    the filters' labels)."""
    countries = sorted(gazetteer().countries.values(), key=lambda country: country.name)
    return {country.iso: country.name for country in countries}


def countries_in(session: Session, model: type[Event] | type[Partner]) -> list[str]:
    """The country codes the table's rows use, for its filter."""
    query = select(model.country).where(model.country.is_not(None)).distinct()
    return sorted(session.scalars(query))


def find_row(session: Session, table: Curated, slug: str) -> Any:
    """The row `slug` of `table` (retired ones too), or a 404."""
    row = session.scalars(select(table.model).where(table.model.slug == slug)).first()
    if row is None:
        raise HTTPException(404, f"There is no {table.noun} {slug[:120]!r}.")
    return row


def save_form(
    context: Context,
    table: Curated,
    save: Save,
    form: dict[str, str],
    form_page: FormPage,
    row: Any = None,
) -> Response:
    """Save `form` with `save` (row None: as a new row) and go back to the list with a
    message; on bad fields, the form again with each field's message and the values as
    entered (400), nothing written."""
    slug = row.slug if row is not None else None
    try:
        with lookup_session(context, commit=True) as session:
            label = table.label(save(session, form, context.who, slug))
    except curation.FieldErrors as error:
        return form_page(context, form, error.errors, 400, row)
    context.flash(f"Saved {label}." if slug else f"Added {label}.")
    return context.redirect(table.path)


def edit_form(
    context: Context, table: Curated, shown: Callable[[Any], dict[str, str]], form_page: FormPage
) -> Response:
    """The form for the row `slug=`, filled in with `shown(row)`."""
    with lookup_session(context) as session:
        row = find_row(session, table, required_slug(context))
        return form_page(context, shown(row), {}, 200, row)


def edit_row(
    context: Context, table: Curated, save: Save, form: dict[str, str], form_page: FormPage
) -> Response:
    """Save `form` over the row the form's `slug` names, as save_form does."""
    with lookup_session(context) as session:
        row = find_row(session, table, context.field("slug").strip())
        session.expunge(row)  # shown again, as it was, if the form has errors
    return save_form(context, table, save, form, form_page, row)


def retire_or_restore(context: Context, table: Curated, retiring: bool) -> Response:
    """Retire (hide from the assistant, restorable) or restore the row the form names."""
    slug = context.field("slug").strip()
    change = curation.retire if retiring else curation.restore
    with lookup_session(context, commit=True) as session:
        label = table.label(find_row(session, table, slug))
        change(session, table.model, slug, context.who)
    if retiring:
        context.flash(
            f"Retired {label}: the assistant no longer names it. Tick “include retired” to "
            "find it and restore it."
        )
    else:
        context.flash(f"Restored {label}: the assistant names it again.")
    return context.redirect(table.path)


def history(context: Context, table: Curated) -> Response:
    """Who changed the row, when, and each field before and after, newest first."""
    slug = required_slug(context)
    with lookup_session(context) as session:
        row = find_row(session, table, slug)
        return context.render(
            "data_history.html",
            section=table.table_name,
            table=table,
            row=row,
            label=table.label(row),
            changes=audit.history(session, table.table_name, slug),
        )
