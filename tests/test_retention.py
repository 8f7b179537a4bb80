"""Retention runs on a schedule inside `bot run` and deletes messages by their own age
(bot.retention.RetentionSchedule, bot.tracker_db.erasure.purge_conversations), on SQLite and
PostgreSQL.
The whole `bot run` with its schedule is exercised in tests/test_supervisor.py."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.retention import RetentionSchedule
from bot.serve import upgrade_tracker_store
from bot.settings import Settings
from bot.tracker_db import erasure

DAY = 86_400


def _event(url: str, sender: str, days_ago: float) -> None:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) "
                    "VALUES (:s, 'user', :t, :d)"
                ),
                {"s": sender, "t": time.time() - days_ago * DAY, "d": json.dumps({"text": "x"})},
            )
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id")
            )
            return dict(rows.all())
    finally:
        engine.dispose()


@pytest.fixture
def tracker(empty_database: str) -> str:
    upgrade_tracker_store({"TRACKER_STORE_URL": empty_database})
    return empty_database


def test_the_schedule_purges_old_messages_again_and_again(tracker: str) -> None:
    _event(tracker, "ongoing", days_ago=40)
    _event(tracker, "ongoing", days_ago=1)
    _event(tracker, "gone", days_ago=31)
    schedule = RetentionSchedule(tracker, days=30, interval=0.2).start()
    try:
        deadline = time.monotonic() + 10
        while schedule.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts(tracker) == {"ongoing": 1}
        _event(tracker, "later", days_ago=60)  # arrives (e.g. restored) after the first run
        runs = schedule.runs
        while schedule.runs < runs + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts(tracker) == {"ongoing": 1}
        assert schedule.deleted == 3
    finally:
        schedule.stop()


def test_a_failing_database_is_reported_and_tried_again(capsys: pytest.CaptureFixture) -> None:
    from bot.serve import free_port

    schedule = RetentionSchedule(f"postgresql://postgres@127.0.0.1:{free_port()}/x", 30, 0.1)
    schedule.purge_once()
    assert schedule.runs == 1 and schedule.deleted == 0
    assert "Retention purge failed, trying again later" in capsys.readouterr().err


def test_purge_command_reports_a_database_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from bot.serve import free_port

    monkeypatch.setenv("TRACKER_STORE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert main(["privacy", "purge", "--older-than", "30d"]) == 1
    assert "Nothing was purged" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (180.0, 3600.0)),
        ({"RETENTION_DAYS": "30", "PURGE_INTERVAL": "15m"}, (30.0, 900.0)),
        ({"RETENTION_DAYS": "0"}, (0.0, 3600.0)),
        ({"PURGE_INTERVAL": "2h"}, (180.0, 7200.0)),
        ({"PURGE_INTERVAL": "90"}, (180.0, 90.0)),
    ],
)
def test_retention_settings(env: dict, expected: tuple[float, float]) -> None:
    retention = Settings.from_env(env).retention
    assert (retention.days, retention.interval) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"RETENTION_DAYS": "-1"},
        {"RETENTION_DAYS": "forever"},
        {"PURGE_INTERVAL": "0"},
        {"PURGE_INTERVAL": "hourly"},
    ],  # fmt: skip
)
def test_bad_retention_settings_stop_with_the_reason(env: dict) -> None:
    with pytest.raises(SystemExit, match="RETENTION_DAYS|PURGE_INTERVAL"):
        Settings.from_env(env)


def test_retention_days_0_turns_the_schedule_off() -> None:
    assert RetentionSchedule.from_env({"RETENTION_DAYS": "0"}) is None


def test_purge_of_a_database_without_events_is_a_no_op(empty_database: str) -> None:
    assert erasure.purge_conversations(erasure.parse_age("1d"), empty_database) == (0, 0)
