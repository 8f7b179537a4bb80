"""Rasa started through bot.rasa_main: it sends nothing anywhere whatever the environment, each
Rasa command gets the changes of bot/rasa_ext it needs, and those changes keep Rasa's results
(action-reply validation, model predictions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.processes import rasa_cli as command

# Each test starts Rasa in a subprocess (seconds to load each time).
pytestmark = pytest.mark.slow

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
    prepare = "import bot.rasa_ext; bot.rasa_ext.apply_for(['train'])"
    assert _reporting(prepare=prepare, home=tmp_path) == "False False"


def test_the_wrapper_passes_arguments_to_rasa() -> None:
    result = subprocess.run(
        command("--version"), capture_output=True, text=True, check=True, timeout=120
    )
    assert "Rasa Version" in result.stdout
    assert "3.6." in result.stdout


# Applies the changes for the command in argv, as bot.rasa_main does, then prints what Rasa
# (or rasa-sdk) will find when it starts.
WHAT_RASA_FINDS = """
import inspect, json, os, sys
from bot.rasa_ext import apply_for

apply_for(sys.argv[1:])
found = {"telemetry": os.environ["RASA_TELEMETRY_ENABLED"], "core": "rasa.core" in sys.modules}
if sys.argv[1:3] == ["run", "actions"]:
    from rasa_sdk.executor import ActionExecutor

    found["threads"] = getattr(ActionExecutor.register_function, "runs_plain_actions_in_threads",
                               False)
else:
    import rasa.core.actions.action as action
    import rasa.core.lock_store as lock_store
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.tensorflow.models import RasaModel

    import rasa.core.agent as agent
    from bot.rasa_ext import model_pulling, server

    store = InMemoryTrackerStore(Domain.empty())
    lock = inspect.signature(lock_store.LockStore.lock).parameters["lock_lifetime"].default
    found.update(
        action_timeout=action.DEFAULT_REQUEST_TIMEOUT,
        lock_lifetime=[lock_store.LOCK_LIFETIME, lock],
        store_itself=Agent._create_tracker_store(store, Domain.empty()) is store,
        validated_once=action.RemoteAction._validate_action_result
        is server._validate_action_result,
        lean_models=RasaModel.load.__func__ is server._load_for_prediction,
        starts_on_disk=agent.load_agent is model_pulling._load_agent,
    )
print(json.dumps(found))
"""


def _what_rasa_finds(*argv: str, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", WHAT_RASA_FINDS, *argv],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "true", **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_rasa_server_gets_every_server_patch() -> None:
    found = _what_rasa_finds("run", "--enable-api", ACTION_TIMEOUT="7")
    assert found == {
        "telemetry": "false",
        "core": True,
        "action_timeout": 7,
        "lock_lifetime": [28, 28],  # read by Rasa when its lock store was first imported
        "store_itself": True,
        "validated_once": True,
        "lean_models": True,
        "starts_on_disk": True,
    }


def test_the_action_server_gets_its_patch_and_never_loads_rasas_core() -> None:
    found = _what_rasa_finds("run", "actions", "--actions", "actions")
    assert found == {"telemetry": "false", "core": False, "threads": True}


def test_timeouts_that_cannot_work_stop_any_rasa_command_with_the_reason() -> None:
    result = subprocess.run(
        command("--version"), capture_output=True, text=True, timeout=120,
        env={**os.environ, "ACTION_TIMEOUT": "10", "TICKET_LOCK_LIFETIME": "30"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "must be at least 4 times ACTION_TIMEOUT" in result.stderr
    assert "Rasa Version" not in result.stdout


def test_action_replies_are_validated_as_rasa_does() -> None:
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_ext.server import _validate_action_result

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
from bot.rasa_ext.server import load_models_for_prediction
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


def _predictions(way: str, model: Path) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", PREDICTIONS, way, str(model), *QUESTIONS],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_models_loaded_for_prediction_only_predict_exactly_as_rasas_loading(
    trained_model: Path,
) -> None:
    rasa, lean = _predictions("rasa", trained_model), _predictions("lean", trained_model)
    assert lean["parses"] == rasa["parses"]
    assert {name.rstrip("0123456789") for name in lean["optimizer"]} == {
        "DIETClassifier",
        "ResponseSelector",
    }
    # The memory saved: Rasa's way keeps an optimizer with two slots per weight.
    assert all(count > 0 for count in rasa["optimizer"].values())
    assert all(count == 0 for count in lean["optimizer"].values())
