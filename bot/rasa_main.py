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
"""

from __future__ import annotations

import functools
import logging
import os
import sys
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


def main() -> None:
    disable_telemetry()
    if sys.argv[1:3] != ["run", "actions"]:
        # The action server sends replies and never validates them; importing Rasa's core
        # there would cost it ~400 MB of memory (535 MB against 126 MB, measured).
        validate_action_replies_once()
        load_models_for_prediction()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
