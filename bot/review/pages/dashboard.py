"""The dashboard: the numbers of the last 7, 30, 90 or 365 days, drawn as SVG charts."""

from __future__ import annotations

from starlette.responses import Response

from bot.review.charts import daily_bars, horizontal_bars
from bot.review.context import Context
from bot.review.pages.params import choice

DASHBOARD_RANGES = (7, 30, 90, 365)


def dashboard(context: Context) -> Response:
    ranges = tuple(str(days) for days in DASHBOARD_RANGES)
    days = int(choice(context, "days", ranges, "30"))
    numbers = context.state.store.dashboard(days)
    charts = {
        "conversations": daily_bars("New conversations per day", numbers.conversations_per_day),
        "messages": daily_bars("User messages per day", numbers.messages_per_day),
        "fallback": daily_bars(
            "Share of messages that fell back, per day",
            numbers.fallback_rate_per_day,
            percent=True,
            colour="#b5542f",
        ),
        "handoffs": daily_bars(
            "Requests for a person per day", numbers.handoffs_per_day, colour="#6b4fa0"
        ),
        "satisfaction": daily_bars(
            "Share of ratings that were helpful, per day (days without ratings have no bar)",
            numbers.satisfaction_per_day,
            percent=True,
            colour="#2e7d32",
            top=1.0,
            no_data="No ratings in this period.",
        ),
        "intents": horizontal_bars("Most frequent intents", numbers.top_intents),
        "plans_by_stage": horizontal_bars(
            "Involvement plans by research stage", numbers.plans.by_stage, empty="No plans yet."
        ),
        "plans_by_situation": horizontal_bars(
            "Involvement plans by kind of study and population",
            numbers.plans.by_situation,
            empty="No plans yet.",
            label_width=420,  # "Trial of a medicine · Rare disease + Children and young people"
        ),
    }
    return context.render(
        "dashboard.html",
        section="dashboard",
        numbers=numbers,
        charts=charts,
        days=days,
        ranges=DASHBOARD_RANGES,
    )
