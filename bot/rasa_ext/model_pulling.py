"""The Rasa server's side of the rollout: start on the model on disk, then follow the live one.

Rasa 3.6 pulls models from a model server (the `models:` section of endpoints.yml,
https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/agent.py: `load_agent`,
`load_from_server`, `_pull_model_and_fingerprint`): every `wait_time_between_pulls` seconds it
sends its model's fingerprint as `If-None-Match`, and on a 200 loads the archive and keeps the
`ETag` as the new fingerprint. The review app answers it (bot/review/model_server.py) with the
registry id as the ETag. Two things of Rasa's own way do not suit replicas that must keep
answering:

* with a model server configured, `load_agent` ignores `--model`: it loads only what the server
  sends, so a Rasa server started while the review app is down (a restart of both, a Compose
  `up`, a review pod being rescheduled) has no model and answers nobody until the server
  comes back;
* the first fingerprint is a random one, so every start downloads and loads the live model
  even when it is the very model on disk.

So `load_agent` is replaced here: the model on disk (`--model`) gets its registry id as its
fingerprint ("initial" for the project's models/ecrin.tar.gz, else the store's `<id>.tar.gz`
name); the model server is asked once, with that fingerprint and at most STARTUP_PULL_SECONDS;
a newer model it sends is loaded, else (304, unreachable, an error, a download that does not
load) the model on disk; then Rasa's own pulling is scheduled as Rasa does it. Either way Rasa
loads one model, through its own `load_agent`. Without a model server (a pinned model: the
tests, `bot eval`), only the fingerprint changes, so the web channel's /version still names the
model.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from pathlib import Path
from typing import Any

from bot.model_rollout import entity_tag
from bot.rasa_ext.registry import patch

logger = logging.getLogger(__name__)

# The first ask at start: long enough to download an archive on a local network, short enough
# that an unreachable server (a black-holed address) delays the start by no more than this.
# Rasa itself would wait up to DEFAULT_REQUEST_TIMEOUT, five minutes.
STARTUP_PULL_SECONDS = 60.0

_rasa_load_agent: Any = None  # Rasa's own load_agent, which loads the one model chosen here


def archive_model_id(archive: Path) -> str:
    """The registry id of a model archive on disk: "initial" for the project's
    models/ecrin.tar.gz (as bot.model_store presents it before adopting it), else the name
    the store gives archives, `<id>.tar.gz`, without its suffix."""
    from bot.model_store import INITIAL_ID, PROJECT_MODEL

    if archive.resolve() == PROJECT_MODEL.resolve():
        return INITIAL_ID
    return archive.name.removesuffix(".tar.gz")


def archive_on_disk(model_path: str | Path | None) -> Path | None:
    """The archive Rasa would load for `--model` (the newest one in a folder), if any."""
    from rasa.exceptions import ModelNotFound
    from rasa.model import get_local_model

    if not model_path:
        return None
    try:
        return Path(get_local_model(str(model_path)))
    except ModelNotFound:
        return None


async def _newer_model(server: Any, fingerprint: str, directory: str) -> str | None:
    """Ask the model server once, as Rasa's pulling does: the ETag of a newer model it saved
    into `directory`, else None (304, 404, another status, unreachable, too slow)."""
    from rasa.core.agent import _pull_model_and_fingerprint

    try:
        pull = _pull_model_and_fingerprint(server, fingerprint, directory)
        return await asyncio.wait_for(pull, STARTUP_PULL_SECONDS)
    except Exception as error:  # a timeout, a URL aiohttp refuses: the model on disk will do
        logger.warning("The model server %s did not answer at start: %r", server.url, error)
        return None


async def _load_agent(
    model_path: str | None = None,
    model_server: Any = None,
    remote_storage: str | None = None,
    endpoints: Any = None,
    loop: Any = None,
) -> Any:
    """`rasa.core.agent.load_agent`, starting on the newest of the model on disk and the model
    server's (see the module's docstring); Rasa's own for anything else (remote storage, no
    model on disk)."""
    from rasa.core.agent import _schedule_model_pulling
    from rasa.utils.common import TempDirectoryPath, get_temp_dir_name

    server = endpoints.model if endpoints is not None and endpoints.model else model_server
    archive = archive_on_disk(model_path)
    if archive is None or remote_storage is not None:
        return await _rasa_load_agent(model_path, model_server, remote_storage, endpoints, loop)
    on_disk = entity_tag(archive_model_id(archive))
    # The endpoints without the model server: Rasa then loads the path it is given.
    local = copy.copy(endpoints)
    if local is not None:
        local.model = None
    with TempDirectoryPath(get_temp_dir_name()) as download:
        pulled = await _newer_model(server, on_disk, download) if server is not None else None
        chosen = download if pulled else str(archive)
        agent = await _rasa_load_agent(chosen, None, None, local, loop)
        if pulled and not agent.is_ready():
            logger.error("The model the model server sent does not load: starting on %s", archive)
            pulled = None
            agent = await _rasa_load_agent(str(archive), None, None, local, loop)
    if agent.is_ready():
        # Rasa gave it a random fingerprint; the next pull must send the id it runs.
        agent.fingerprint = pulled or on_disk
        logger.info("Running model %s (%s)", agent.fingerprint, "pulled" if pulled else archive)
    if server is not None:
        agent.model_server = server
        wait_time_between_pulls = server.kwargs.get("wait_time_between_pulls", 100)
        if wait_time_between_pulls:
            await _schedule_model_pulling(server, int(wait_time_between_pulls), agent)
    return agent


@patch(
    why="with a model server Rasa ignores the model on disk: a replica whose model server is "
    "down starts with no model, and every start downloads the model it already has",
    upstream=[
        "rasa.core.agent.load_agent",
        "rasa.core.agent.load_from_server",
        "rasa.core.agent._update_model_from_server",
        "rasa.core.agent._pull_model_and_fingerprint",
        "rasa.core.agent._schedule_model_pulling",
        "rasa.core.agent._run_model_pulling_worker",
        "rasa.core.agent.Agent._set_fingerprint",
        "rasa.core.agent.Agent.is_ready",
        "rasa.core.run.load_agent_on_start",
        "rasa.model.get_local_model",
        "rasa.utils.endpoints.EndpointConfig.combine_parameters",
        "rasa.utils.endpoints.EndpointConfig.session",
    ],
    tests=[
        "tests/test_rollout_replicas.py::test_a_replica_starts_on_its_model_while_the_model_server_is_down_then_follows_it",
        "tests/test_rollout_replicas.py::test_both_replicas_follow_a_deployment_and_a_rollback",
    ],
)
def start_on_the_model_on_disk() -> None:
    """Replace `load_agent` (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/agent.py),
    which `load_agent_on_start` (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/core/run.py)
    calls through the module when the server starts, with `_load_agent`; Rasa's own stays in
    `_rasa_load_agent` and loads the model chosen. The pulling that follows is Rasa's own:
    `_pull_model_and_fingerprint`, `_update_model_from_server` and the token sent as a query
    parameter by `EndpointConfig.combine_parameters`
    (https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/utils/endpoints.py); the archive on disk
    is found as Rasa finds it (`get_local_model`,
    https://github.com/RasaHQ/rasa/blob/3.6.21/rasa/model.py)."""
    global _rasa_load_agent
    import rasa.core.agent as agent_module

    current = agent_module.load_agent
    if current is not _load_agent:
        _rasa_load_agent = current
        agent_module.load_agent = _load_agent
