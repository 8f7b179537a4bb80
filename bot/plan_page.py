"""The plan page a researcher keeps, rebuilt from the payload that offered it.

After a plan, the assistant's message carries `{"involvement_plan": {"query": …, "made": …}}`
(actions/involvement.py `say_plan`): the situation as a link query and the day the plan was
made. The channels turn it into the page to keep: the web chat serves it at a link, Telegram
sends it as a document. Both rebuild it here, with the contacts looked up afresh.

Bad input (an unknown stage, a date in the future, a payload that is not one) raises
`PlanRequestError`, a ValueError whose message says what is wrong; a database that cannot be
reached gives a plan without contacts, and a log line.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from bot import dates, partners
from bot.countries import gazetteer
from bot.involvement import Guidance, Plan, Situation, build_plan

logger = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"

PAYLOAD_KEY = "involvement_plan"
# A plan link names at most four stages, a kind, four populations, a country and five help
# topics: far shorter than this.
MAX_QUERY_CHARS = 1_000


class PlanRequestError(ValueError):
    """The plan cannot be rebuilt from what was given; the message says why."""


def parse_made(made: str | None, today: dt.date | None = None) -> dt.date:
    """The day the plan was made: an ISO date (YYYY-MM-DD) not after `today`; default today."""
    today = today or dates.today()
    if made is None or not made.strip():
        return today
    try:
        day = dt.date.fromisoformat(made.strip())
    except ValueError:
        raise PlanRequestError(f"made must be a date like 2026-12-06 (got {made[:20]!r})") from None
    if day > today:
        raise PlanRequestError(f"made must not be in the future (got {day.isoformat()})")
    return day


def parse_situation(query: str) -> Situation:
    if len(query) > MAX_QUERY_CHARS:
        raise PlanRequestError(f"the plan link is longer than {MAX_QUERY_CHARS} characters")
    try:
        return Situation.from_query(query)
    except ValueError as error:
        raise PlanRequestError(str(error)) from error


def plan_from_payload(
    query: str | None,
    made: str | None,
    today: dt.date | None = None,
    data: Guidance | None = None,
) -> Plan:
    """The plan a payload (or a plan link) stands for; `PlanRequestError` if it is bad.

    `query` may also carry `made=` (a plan link does); `made` is what counts. `data` is the
    guidance to build from (default: data/involvement/guidance.yml)."""
    if not isinstance(query, str):
        raise PlanRequestError("query must be a string")
    if made is not None and not isinstance(made, str):
        raise PlanRequestError("made must be a date string like 2026-12-06")
    situation = parse_situation(query)
    day = parse_made(made, today)
    country = gazetteer().resolve(situation.country) if situation.country else None
    return build_plan(situation, partners.contacts(country), day, data)


def plan_from_custom(custom: Any, today: dt.date | None = None) -> Plan | None:
    """The plan in a message's custom payload; None if the payload is about something else,
    `PlanRequestError` if it is an involvement plan that cannot be read."""
    if not isinstance(custom, Mapping) or PAYLOAD_KEY not in custom:
        return None
    payload = custom[PAYLOAD_KEY]
    if not isinstance(payload, Mapping):
        raise PlanRequestError(f"{PAYLOAD_KEY} must be an object with a query and a date")
    return plan_from_payload(payload.get("query"), payload.get("made"), today)


def plan_html(plan: Plan) -> str:
    """The page to keep: every step, its sources, the contacts and the date it was made."""
    return render_html(plan)


def plan_filename(plan: Plan) -> str:
    return download_name(plan)


# --- The page -----------------------------------------------------------------------------------


def download_name(plan: Plan) -> str:
    return f"patient-involvement-plan-{plan.made.isoformat()}.html"


_URL = re.compile(r"https?://[^\s)]+[^\s).,;]")


def linkify(text: str) -> Markup:
    """Escaped text whose web addresses are links."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        parts += [escape(text[last : match.start()]), Markup('<a href="{0}">{0}</a>').format(url)]
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@lru_cache(maxsize=1)
def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    environment.filters["linkify"] = linkify
    return environment


def render_html(plan: Plan) -> str:
    """The plan as a page to keep: every step, its sources, and the date it was made."""
    return (
        _templates()
        .get_template("involvement_plan.html")
        .render(
            plan=plan,
            title=f"Patient-involvement plan: {plan.situation.describe()}",
            source_numbers={source.key: n for n, source in enumerate(plan.sources, 1)},
        )
    )
