"""`python -m bot.rasa_main ARGS`: Rasa's own command line, with telemetry and crash reports
off whatever the caller's environment says, and action-server replies validated without
re-checking the schema each time.

Rasa 3.6 sends usage telemetry and, with a key shipped inside the package, crash reports to
Sentry unless `RASA_TELEMETRY_ENABLED=false` is set or `rasa telemetry disable` was run for
this user. `make` exports the variable, but `bot eval`, `bot run` or a benchmark started from
a plain shell would not; a stack trace can carry a user's words about their health, and this
assistant promises that nothing leaves the machine. So every Rasa process the project starts
goes through here.

Rasa 3.6 validates every action-server reply with `jsonschema.validate(reply, schema)`, which
first checks the schema itself against the JSON-Schema meta-schema: 35 ms of the Rasa
server's CPU per custom action on these machines, the largest single cost in the benchmark
profile (docs/benchmarks.md). The same validation with a validator built once takes 0.5 ms.

Rasa 3.6 loads each TensorFlow model (DIET, ResponseSelector, TED) as if to train it: it
compiles it with an optimizer, fits one example to create the weights, then overwrites them
from the checkpoint. The optimizer's state (two copies of every weight) and the traced
training step stay in memory for the server's whole life: 1,381 MB peak against 790 MB when
the models are built for prediction only, and 23.6 s against 8.7 s to load (measured by
loading models/ecrin.tar.gz both ways; predictions identical, tests/test_rasa_main.py).

Faults (docs/reliability.md): Rasa 3.6 wraps the tracker store in a "fail-safe" store that,
when the database fails, starts the conversation afresh and keeps the turn in memory only, so
the user reads a normal answer that is then lost; here a failure reaches the channel, which
apologises, and nothing is lost silently. Rasa waits up to 5 minutes for a custom action
while a conversation's lock lasts 60 s, so a slow action let the next message of the same
conversation run beside it; here an action gets ACTION_TIMEOUT seconds and the lock several
times that. rasa-sdk runs plain (not async) actions on its event loop, where one slow
database look-up stalls every conversation; here they run in worker threads.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)


def command(*args: str) -> list[str]:
    """The command line that runs `rasa ARGS` this way, with this interpreter."""
    return [sys.executable, "-m", "bot.rasa_main", *args]


def disable_telemetry() -> None:
    """Rasa reads the variable at each report (telemetry and Sentry set-up alike)."""
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"


@functools.cache
def _action_reply_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of once per reply
    return validator_class(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the same outcome (True, or Rasa's
    ValidationError with Rasa's message) from a validator built once."""
    from jsonschema.exceptions import best_match

    error = best_match(_action_reply_validator().iter_errors(result))
    if error is None:
        return True
    error.message += ". Failed to validate Action server response from API (bot.rasa_main)."
    raise error


def validate_action_replies_once() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result


def _load_for_prediction(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """`RasaModel.load` for a model that only predicts: weights restored, no optimizer.

    TensorFlow restores each weight from the checkpoint as the model creates it (deferred
    restoration); one prediction creates them all. If any weight the model created found no
    value in the checkpoint, Rasa's own way is used instead, so nothing predicts with
    untrained weights. Fine-tuning (`rasa train --finetune`) always takes Rasa's way.
    """
    if finetune_mode or predict_data_example is None:
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example,
                          finetune_mode, *args, **kwargs)  # fmt: skip
    model = cls(*args, **kwargs)
    restored = model.load_weights(model_file_name)
    model.run_inference(predict_data_example)
    try:
        restored.assert_existing_objects_matched()
    except AssertionError as error:
        logger.warning("%s: loading the training way (%s)", cls.__name__, error)
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example,
                          finetune_mode, *args, **kwargs)  # fmt: skip
    restored.expect_partial()  # the optimizer's state stays in the file
    return model


_rasa_load: Any = None  # Rasa's RasaModel.load, kept for the cases it stays right


def load_models_for_prediction() -> None:
    global _rasa_load
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.__dict__["load"].__func__
    if current is not _load_for_prediction:
        _rasa_load = current
        RasaModel.load = classmethod(_load_for_prediction)


# How long the Rasa server waits for one custom action (ours end in well under a second; a
# look-up gives up on the database after bot.db's timeouts), and how long a conversation's
# lock lasts at least: long enough for a turn that runs several slow actions.
DEFAULT_ACTION_TIMEOUT_SECONDS = 20
LOCK_LIFETIME_PER_ACTION_TIMEOUT = 4


def timeouts(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(action timeout, lock lifetime) in seconds, from `ACTION_TIMEOUT` and Rasa's own
    `TICKET_LOCK_LIFETIME`; a lock lifetime too short for the action timeout is refused."""
    env = os.environ if env is None else env
    action = _whole_seconds(env, "ACTION_TIMEOUT", DEFAULT_ACTION_TIMEOUT_SECONDS)
    shortest_lock = action * LOCK_LIFETIME_PER_ACTION_TIMEOUT
    lock = _whole_seconds(env, "TICKET_LOCK_LIFETIME", shortest_lock)
    if lock < shortest_lock:
        raise SystemExit(
            f"TICKET_LOCK_LIFETIME ({lock} s) must be at least {LOCK_LIFETIME_PER_ACTION_TIMEOUT}"
            f" times ACTION_TIMEOUT ({action} s): a conversation's lock must outlast its turn"
        )
    return action, lock


def _whole_seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of seconds (1 or more), got {raw!r}")
    return int(raw)


def bound_action_calls(seconds: int) -> None:
    """Rasa reads this module constant at each action call (rasa/core/actions/action.py,
    `RemoteAction.run`); a timed-out action is logged and the turn goes on without it."""
    import rasa.core.actions.action as action_module

    action_module.DEFAULT_REQUEST_TIMEOUT = seconds


def fail_loudly_on_tracker_store_errors() -> None:
    """Give Rasa's Agent the configured tracker store itself, not wrapped in
    `FailSafeTrackerStore` (rasa/core/agent.py, `Agent._create_tracker_store`)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore

    def create_tracker_store(store: TrackerStore | None, domain: Any) -> TrackerStore:
        if store is None:  # none configured: Rasa's in-memory default, as before
            return InMemoryTrackerStore(domain)
        store.domain = domain
        return store

    Agent._create_tracker_store = staticmethod(create_tracker_store)


def _in_worker_thread(run: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(run)
    async def threaded(dispatcher: Any, tracker: Any, domain: Any) -> Any:
        return await asyncio.to_thread(run, dispatcher, tracker, domain)

    return threaded


def run_plain_actions_in_threads() -> None:
    """rasa-sdk's `ActionExecutor.register_function` (rasa_sdk/executor.py), registering a
    plain `run` as a coroutine that runs it in a worker thread; async ones are unchanged."""
    from rasa_sdk.executor import ActionExecutor

    register = ActionExecutor.register_function
    if getattr(register, "runs_plain_actions_in_threads", False):
        return

    def register_function(self: ActionExecutor, name: str, run: Callable[..., Any]) -> None:
        if not inspect.iscoroutinefunction(run):
            run = _in_worker_thread(run)
        register(self, name, run)

    register_function.runs_plain_actions_in_threads = True  # type: ignore[attr-defined]
    ActionExecutor.register_function = register_function


def main() -> None:
    disable_telemetry()
    action_timeout, lock_lifetime = timeouts()
    if sys.argv[1:3] == ["run", "actions"]:
        run_plain_actions_in_threads()
    else:
        # Rasa reads it once, when rasa.core.lock_store is first imported.
        os.environ["TICKET_LOCK_LIFETIME"] = str(lock_lifetime)
        bound_action_calls(action_timeout)
        fail_loudly_on_tracker_store_errors()
        # The action server sends replies and never validates them; importing Rasa's core
        # there would cost it ~400 MB of memory (535 MB against 126 MB, measured).
        validate_action_replies_once()
        load_models_for_prediction()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
