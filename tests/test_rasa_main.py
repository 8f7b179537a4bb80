"""Rasa started through bot.rasa_main sends nothing anywhere, whatever the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.rasa_main import command

# What Rasa's own start-up (rasa/__main__.py) does before running any command.
RASA_START_UP = """
import rasa.telemetry, sentry_sdk
{prepare}
rasa.telemetry.initialize_telemetry()
rasa.telemetry.initialize_error_reporting()
print(rasa.telemetry.is_telemetry_enabled(), sentry_sdk.Hub.current.client is not None)
"""


def _reporting(prepare: str, home: Path) -> str:
    # A user who never ran `rasa telemetry disable` and has no variable set: Rasa's default.
    env = {k: v for k, v in os.environ.items() if k != "RASA_TELEMETRY_ENABLED"}
    env["HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", RASA_START_UP.format(prepare=prepare)],
        capture_output=True, text=True, check=True, timeout=120, env=env,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def test_plain_rasa_would_report_by_default(tmp_path: Path) -> None:
    # Why the wrapper exists: on its first run Rasa switches telemetry on for the user (in
    # ~/.config/rasa/global.yml), and with it the Sentry crash reporter.
    assert _reporting(prepare="", home=tmp_path) == "True True"


def test_through_the_wrapper_rasa_reports_nothing(tmp_path: Path) -> None:
    prepare = "import bot.rasa_main; bot.rasa_main.disable_telemetry()"
    assert _reporting(prepare=prepare, home=tmp_path) == "False False"


def test_the_wrapper_passes_arguments_to_rasa() -> None:
    result = subprocess.run(
        command("--version"), capture_output=True, text=True, check=True, timeout=120
    )
    assert "Rasa Version" in result.stdout
    assert "3.6." in result.stdout


def test_action_replies_are_validated_as_rasa_does() -> None:
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_main import _validate_action_result

    action = RemoteAction("action_find_partner", None)
    valid = {"events": [{"event": "slot", "name": "country", "value": "France"}], "responses": []}
    invalid = {"events": [{"name": "no event type"}], "responses": []}
    assert action._validate_action_result(valid) is True  # Rasa's own
    assert _validate_action_result(action, valid) is True
    with pytest.raises(jsonschema.ValidationError) as rasa_error:
        action._validate_action_result(invalid)
    with pytest.raises(jsonschema.ValidationError) as our_error:
        _validate_action_result(action, invalid)
    assert our_error.value.path == rasa_error.value.path
    assert our_error.value.validator == rasa_error.value.validator
