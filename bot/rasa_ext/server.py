"""Changes inside the Rasa server (and every Rasa command but the action server).

Speed and memory (docs/benchmarks.md):

* Rasa 3.6 validates every action-server reply with `jsonschema.validate(reply, schema)`,
  which first checks the schema itself against the JSON-Schema meta-schema: 35 ms of the Rasa
  server's CPU per custom action on these machines, the largest single cost in the benchmark
  profile. The same validation with a validator built once takes 0.5 ms.
* Rasa 3.6 loads each TensorFlow model (DIET, ResponseSelector, TED) as if to train it: it
  compiles it with an optimizer, fits one example to create the weights, then overwrites them
  from the checkpoint. The optimizer's state (two copies of every weight) and the traced
  training step stay in memory for the server's whole life: 1,381 MB peak against 790 MB when
  the models are built for prediction only, and 23.6 s against 8.7 s to load (measured by
  loading models/ecrin.tar.gz both ways; predictions identical, tests/test_rasa_main.py).

Faults (docs/reliability.md):

* Rasa 3.6 wraps the tracker store in a "fail-safe" store that, when the database fails,
  starts the conversation afresh and keeps the turn in memory only, so the user reads a normal
  answer that is then lost; here a failure reaches the channel, which apologises, and nothing
  is lost silently.
* Rasa waits up to 5 minutes for a custom action while a conversation's lock lasts 60 s, so a
  slow action let the next message of the same conversation run beside it; here an action
  gets ACTION_TIMEOUT seconds and the lock several times that (bot.settings: `timeouts`).

Rasa is imported inside each function: importing this module costs nothing, and the action
server, which never calls them, never loads Rasa's core (bot.rasa_ext.apply_for).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from bot.rasa_ext.model_pulling import start_on_the_model_on_disk
from bot.rasa_ext.registry import patch

logger = logging.getLogger(__name__)


def apply_server_patches(action_timeout: int, lock_lifetime: int) -> None:
    """Every change for a Rasa command other than `rasa run actions`, in the order it needs:
    the lock lifetime before anything imports rasa.core.lock_store."""
    set_lock_lifetime(lock_lifetime)
    bound_action_calls(action_timeout)
    fail_loudly_on_tracker_store_errors()
    validate_action_replies_once()
    load_models_for_prediction()
    start_on_the_model_on_disk()


@patch(
    why="a conversation's lock must outlast its turn, actions included",
    upstream=[
        "rasa.core.lock_store._get_lock_lifetime",
        "rasa.core.lock_store.LOCK_LIFETIME",
        "rasa.core.lock_store.LockStore.lock",
        "rasa.core.agent.Agent.handle_message",
        "rasa.core.processor.MessageProcessor.handle_reminder",
    ],
    tests=[
        "tests/test_faults.py::test_the_lock_outlasts_the_actions_of_a_turn",
        "tests/test_rasa_main.py::test_the_rasa_server_gets_every_server_patch",
    ],
)
def set_lock_lifetime(seconds: int) -> None:
    """Rasa takes each message's conversation lock with `LockStore.lock`'s default lifetime,
    `LOCK_LIFETIME`, read from `TICKET_LOCK_LIFETIME` once, when rasa.core.lock_store is first
    imported (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/lock_store.py,
    `_get_lock_lifetime`; used by `Agent.handle_message` in
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/agent.py and
    `MessageProcessor.handle_reminder` in
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/processor.py): so the variable is
    set before that import."""
    os.environ["TICKET_LOCK_LIFETIME"] = str(seconds)


@patch(
    why="Rasa waits 5 minutes for an action, longer than a conversation's lock lasts",
    upstream=[
        "rasa.core.constants.DEFAULT_REQUEST_TIMEOUT",
        "rasa.core.actions.action.RemoteAction.run",
    ],
    tests=[
        "tests/test_rasa_ext.py::test_an_action_that_does_not_answer_is_given_up_in_time",
        "tests/test_rasa_main.py::test_the_rasa_server_gets_every_server_patch",
    ],
)
def bound_action_calls(seconds: int) -> None:
    """Rasa reads this module constant at each action call
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/actions/action.py, `RemoteAction.run`,
    which imports it from https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/constants.py);
    a timed-out action is logged and the turn goes on without it."""
    import rasa.core.actions.action as action_module

    action_module.DEFAULT_REQUEST_TIMEOUT = seconds


@patch(
    why="a database failure must reach the user as an apology, not as an answer then lost",
    upstream=["rasa.core.agent.Agent._create_tracker_store"],
    tests=["tests/test_faults.py::test_rasa_gets_the_tracker_store_itself_not_a_fail_safe_wrapper"],
)
def fail_loudly_on_tracker_store_errors() -> None:
    """Give Rasa's Agent the configured tracker store itself, not wrapped in
    `FailSafeTrackerStore` (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/agent.py,
    `Agent._create_tracker_store`)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore

    def create_tracker_store(store: TrackerStore | None, domain: Any) -> TrackerStore:
        if store is None:  # none configured: Rasa's in-memory default, as before
            return InMemoryTrackerStore(domain)
        store.domain = domain
        return store

    Agent._create_tracker_store = staticmethod(create_tracker_store)


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
    error.message += ". Failed to validate Action server response from API (bot.rasa_ext.server)."
    raise error


@patch(
    why="Rasa re-checks the reply schema against the meta-schema on every action: 35 ms each",
    upstream=[
        "rasa.core.actions.action.RemoteAction._validate_action_result",
        "rasa.core.actions.action.RemoteAction.action_response_format_spec",
    ],
    tests=["tests/test_rasa_main.py::test_action_replies_are_validated_as_rasa_does"],
)
def validate_action_replies_once() -> None:
    """Replace `RemoteAction._validate_action_result`
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/actions/action.py) with the same
    validation by a validator built once for Rasa's own schema."""
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


@patch(
    why="Rasa builds each model as if to train it: 1,381 MB and 23.6 s against 790 MB and 8.7 s",
    upstream=["rasa.utils.tensorflow.models.RasaModel.load"],
    tests=[
        "tests/test_rasa_main.py::test_models_loaded_for_prediction_only_predict_exactly_as_rasas_loading"
    ],
)
def load_models_for_prediction() -> None:
    """Replace `RasaModel.load`
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/utils/tensorflow/models.py), which
    compiles and fits each model before restoring its weights, with `_load_for_prediction`;
    Rasa's own stays in `_rasa_load` for fine-tuning and for a checkpoint that does not match.
    """
    global _rasa_load
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.__dict__["load"].__func__
    if current is not _load_for_prediction:
        _rasa_load = current
        RasaModel.load = classmethod(_load_for_prediction)
