"""Rasa started through bot.rasa_main sends nothing anywhere, whatever the environment."""

from __future__ import annotations

import json
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


# Loads the trained model one way or the other and prints what it predicts for a few
# questions (intents, answers, confidences) and how many optimizer variables each
# TensorFlow model holds.
PREDICTIONS = """
import asyncio, json, sys
from bot.rasa_main import load_models_for_prediction
if sys.argv[1] == "lean":
    load_models_for_prediction()
from rasa.core.agent import Agent

agent = Agent.load(sys.argv[2])
models = {
    name.split("_", 1)[1]: node._component.model
    for name, node in agent.processor.graph_runner._instantiated_nodes.items()
    if getattr(node._component, "model", None) is not None
}

async def run():
    parses = []
    for text in sys.argv[3:]:
        parse = await agent.parse_message(text)
        selector = parse["response_selector"]["default"]["response"]
        parses.append([parse["intent"]["name"], round(parse["intent"]["confidence"], 7),
                       selector["intent_response_key"], round(selector["confidence"], 7),
                       [round(r["confidence"], 7) for r in parse["intent_ranking"]]])
    return parses

optimizer_variables = {
    n: len(m.optimizer.variables()) if m.optimizer else 0 for n, m in sorted(models.items())
}
print(json.dumps({"parses": asyncio.run(run()), "optimizer": optimizer_variables}))
"""
QUESTIONS = [
    "hello",
    "what is a placebo",
    "can i stop being in a trial whenever i want",
    "who is the ecrin partner in spain",
    "what does eupati do",
    "thanks, bye",
]


def _predictions(way: str) -> dict:
    from tests.conftest import MODEL

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", PREDICTIONS, way, str(MODEL), *QUESTIONS],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_models_loaded_for_prediction_only_predict_exactly_as_rasas_loading() -> None:
    rasa, lean = _predictions("rasa"), _predictions("lean")
    assert lean["parses"] == rasa["parses"]
    assert {name.rstrip("0123456789") for name in lean["optimizer"]} == {
        "DIETClassifier",
        "ResponseSelector",
    }
    # The memory saved: Rasa's way keeps an optimizer with two slots per weight.
    assert all(count > 0 for count in rasa["optimizer"].values())
    assert all(count == 0 for count in lean["optimizer"].values())
