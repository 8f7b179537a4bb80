"""The dashboard: the health of the events and partners data first (what staff should fix),
then the numbers of the last 7, 30, 90 or 365 days, drawn as SVG charts."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot import dates
from bot.data_health import DataHealth, data_health
from bot.db import get_engine
from bot.model_store import list_deployments
from bot.review.charts import ChartMarker, daily_bars, horizontal_bars
from bot.review.context import Context
from bot.review.pages.params import choice
from bot.tracker_db.filters import DAY, day_start

logger = logging.getLogger(__name__)

DASHBOARD_RANGES = (7, 30, 90, 365)
# Rows shown per data-health list; `bot data health` prints them all.
HEALTH_LIST_LIMIT = 10


def lookup_health(context: Context) -> DataHealth | None:
    """The lookup data's health, or None when its database cannot be read: the dashboard's
    conversation numbers come from another database and must still show."""
    try:
        with Session(get_engine(context.state.settings.lookup_database_url)) as session:
            return data_health(session, dates.today())
    except SQLAlchemyError as error:
        logger.warning("Data health unavailable: %s: %s", type(error).__name__, error)
        return None


def deployment_markers(
    context: Context, first_day: dt.date, last_day: dt.date
) -> list[ChartMarker]:
    """The models put live (deployed or rolled back to) in the period: marked on the daily
    charts, so staff see their effect on the fall-back and satisfaction rates."""
    since, until = day_start(first_day), day_start(last_day) + DAY
    return [
        ChartMarker(
            deployment.day,
            f"{deployment.deployed:%Y-%m-%d %H:%M} UTC: {deployment.action} of model "
            f"{deployment.model_id} by {deployment.deployed_by}",
        )
        for deployment in list_deployments(context.engine, since, until)
    ]


def dashboard(context: Context) -> Response:
    ranges = tuple(str(days) for days in DASHBOARD_RANGES)
    days = int(choice(context, "days", ranges, "30"))
    numbers = context.state.store.dashboard(days)
    markers = deployment_markers(context, numbers.first_day, numbers.last_day)
    charts = {
        "conversations": daily_bars(
            "New conversations per day", numbers.conversations_per_day, markers=markers
        ),
        "messages": daily_bars("User messages per day", numbers.messages_per_day, markers=markers),
        "fallback": daily_bars(
            "Share of messages that fell back, per day",
            numbers.fallback_rate_per_day,
            percent=True,
            colour="#b5542f",
            markers=markers,
        ),
        "handoffs": daily_bars(
            "Requests for a person per day",
            numbers.handoffs_per_day,
            colour="#6b4fa0",
            markers=markers,
        ),
        "satisfaction": daily_bars(
            "Share of ratings that were helpful, per day (days without ratings have no bar)",
            numbers.satisfaction_per_day,
            percent=True,
            colour="#2e7d32",
            top=1.0,
            no_data="No ratings in this period.",
            markers=markers,
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
        health=lookup_health(context),
        health_limit=HEALTH_LIST_LIMIT,
        days=days,
        ranges=DASHBOARD_RANGES,
        markers=markers,
    )
