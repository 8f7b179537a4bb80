"""Telemetry and crash reports off in every Rasa process the project starts.

Rasa 3.6 sends usage telemetry and, with a key shipped inside the package, crash reports to
Sentry unless `RASA_TELEMETRY_ENABLED=false` is set or `rasa telemetry disable` was run for
this user; on its first run it switches both on for the user (~/.config/rasa/global.yml).
`make` exports the variable, but `bot eval`, `bot run` or a benchmark started from a plain
shell would not; a stack trace can carry a user's words about their health, and this
assistant promises that nothing leaves the machine.
"""

from __future__ import annotations

import os

from bot.rasa_ext.registry import patch


@patch(
    why="a crash report can carry a user's words about their health; nothing leaves the machine",
    upstream=[
        "rasa.telemetry.TELEMETRY_ENABLED_ENVIRONMENT_VARIABLE",
        "rasa.telemetry.is_telemetry_enabled",
        "rasa.telemetry.initialize_telemetry",
        "rasa.telemetry.ensure_telemetry_enabled",
        "rasa.telemetry.initialize_error_reporting",
    ],
    tests=[
        "tests/test_rasa_main.py::test_plain_rasa_would_report_by_default",
        "tests/test_rasa_main.py::test_through_the_wrapper_rasa_reports_nothing",
    ],
)
def disable_telemetry() -> None:
    """Switch telemetry and Sentry off, whatever the user's Rasa configuration says.

    Rasa lets the variable override the user's configuration, and reads it at each report,
    the Sentry set-up included (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/telemetry.py,
    `is_telemetry_enabled`, `ensure_telemetry_enabled`, `initialize_error_reporting`), so
    setting it before Rasa's own start-up is enough."""
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
