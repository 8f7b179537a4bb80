"""Reading the query string and form numbers of a request, with a 400 that says what is
wrong: a value given twice, an unknown choice, a page or id that is not a number."""

from __future__ import annotations

from starlette.exceptions import HTTPException

from bot.i18n import languages
from bot.review.context import Context
from bot.tracker_db.filters import InboxFilters

# The inbox's filters in the query string (bot.tracker_db.filters.InboxFilters).
FILTER_PARAMS = (
    "from",
    "to",
    "channel",
    "intent",
    "low_confidence",
    "fallback",
    "handoff",
    "rating",
    "stuck",
    "status",
    "tag",
    "q",
    "language",
)
MAX_PAGE = 1_000_000
# Row ids are the databases' 64-bit integers: a larger number is no row (and would make the
# driver fail rather than find nothing).
LARGEST_ID = 2**63 - 1


def param(context: Context, name: str) -> str | None:
    """A query parameter given at most once (None when absent), or a 400 with the reason."""
    values = context.params.getlist(name)
    if len(values) > 1:
        raise HTTPException(
            400, f"The parameter {name} is given {len(values)} times: give it once."
        )
    return values[0] if values else None


def choice(context: Context, name: str, allowed: tuple[str, ...], default: str) -> str:
    """A query parameter that must be one of `allowed` (absent: `default`), or a 400."""
    value = param(context, name)
    if value is None:
        return default
    if value not in allowed:
        raise HTTPException(
            400, f"Unknown {name} {value[:40]!r}: expected one of {', '.join(allowed)}."
        )
    return value


def language_choice(context: Context) -> str:
    """`language=` as a code of data/languages.yml ("" when absent: every language), or a
    400 naming the codes."""
    return choice(context, "language", ("", *languages()), "")


def page_number(context: Context) -> int:
    """`page=` as a whole number from 1 (absent: 1), or a 400; a page past the last one shows
    the last one."""
    raw = param(context, "page")
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw[:8]) <= MAX_PAGE:
        raise HTTPException(400, f"page must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)


def inbox_filters(context: Context) -> InboxFilters:
    """The inbox filters of the query string, or a 400 naming each value that is wrong (an
    export that silently dropped a filter would hand out more conversations than asked)."""
    for name in FILTER_PARAMS:
        param(context, name)
    filters, problems = InboxFilters.from_params(context.params)
    if problems:
        raise HTTPException(400, " ".join(problems))
    return filters


def integer(value: str) -> int:
    """A form's row id as a number, or a 400."""
    try:
        number = int(value)
    except ValueError as error:
        raise HTTPException(400, "Expected a number.") from error
    if abs(number) > LARGEST_ID:
        raise HTTPException(400, "Expected a number.")
    return number
