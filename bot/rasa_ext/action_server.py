"""Changes inside rasa-sdk's action server (`rasa run actions`).

rasa-sdk runs plain (not async) actions on its event loop, where one slow database look-up
stalls every conversation of the action server (docs/reliability.md, "Faults"); here they
run in worker threads. Only rasa_sdk is imported: loading Rasa's core here would cost the
action server ~400 MB of memory (535 MB against 126 MB, measured).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

from bot.rasa_ext.registry import patch


def _in_worker_thread(run: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(run)
    async def threaded(dispatcher: Any, tracker: Any, domain: Any) -> Any:
        return await asyncio.to_thread(run, dispatcher, tracker, domain)

    return threaded


@patch(
    why="a plain action's slow look-up on the event loop stalls every conversation",
    upstream=[
        "rasa_sdk.executor.ActionExecutor.register_action",
        "rasa_sdk.executor.ActionExecutor.register_function",
        "rasa_sdk.executor.ActionExecutor.run",
    ],
    tests=["tests/test_faults.py::test_plain_actions_run_off_the_action_servers_event_loop"],
)
def run_plain_actions_in_threads() -> None:
    """Wrap `ActionExecutor.register_function`
    (https://github.com/RasaHQ/rasa-sdk/blob/3.6.2/rasa_sdk/executor.py), through which
    `register_action` registers every action's `run`: a plain `run` is registered as a
    coroutine that runs it in a worker thread, which `ActionExecutor.run` awaits like any
    async action; async ones are unchanged."""
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
