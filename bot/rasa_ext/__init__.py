"""Everything the project changes inside Rasa at run time, one module per concern.

PATCHES.md (next to this file) lists each change: what Rasa does, what we do instead and why,
the Rasa code it replaces and the test that covers it. Each change registers itself
(bot.rasa_ext.registry) and tests/test_rasa_ext.py fails when the installed Rasa is not the
release they were written for, or when any Rasa function they replace or rely on has changed.

* telemetry: telemetry and crash reports off, in every Rasa process;
* server: the Rasa server's changes (fail loudly, action timeout and lock lifetime, action
  replies validated once, models loaded for prediction only);
* model_pulling: the Rasa server starts on the model on disk, then follows the live model
  through the model server;
* action_server: rasa-sdk's action server (plain actions in worker threads);
* tracker_store, lock_store, nlg: the classes endpoints.yml, `bot run` and config.yml name.

Importing this package imports no Rasa: the action server must not load Rasa's core.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from bot.rasa_ext.registry import PATCHES, Patch

# Every module that registers patches, for the checks that need all of them.
MODULES = (
    "bot.rasa_ext.telemetry",
    "bot.rasa_ext.server",
    "bot.rasa_ext.model_pulling",
    "bot.rasa_ext.action_server",
    "bot.rasa_ext.tracker_store",
    "bot.rasa_ext.lock_store",
    "bot.rasa_ext.nlg",
    "bot.rasa_ext.language",
)


def apply_for(argv: Sequence[str]) -> None:
    """Apply the changes the Rasa command `rasa ARGV` needs, before Rasa starts.

    Every command gets telemetry off, and a bad setting (bot.settings: ACTION_TIMEOUT,
    TICKET_LOCK_LIFETIME, any other) stops it with the reason before Rasa starts; `run
    actions` gets the action-server change only, every other command the Rasa server's."""
    from bot.rasa_ext.telemetry import disable_telemetry
    from bot.settings import current

    disable_telemetry()
    timeouts = current().timeouts
    if list(argv[:2]) == ["run", "actions"]:
        from bot.rasa_ext.action_server import run_plain_actions_in_threads

        run_plain_actions_in_threads()
    else:
        from bot.rasa_ext.server import apply_server_patches

        apply_server_patches(timeouts.action, timeouts.lock_lifetime)


def all_patches() -> dict[str, Patch]:
    """Every registered patch, by name (imports every module of the package, Rasa with it)."""
    for module in MODULES:
        importlib.import_module(module)
    return dict(PATCHES)
