"""GET /model/live.tar.gz: the live model's archive, for the Rasa servers only.

Every Rasa server asks here every MODEL_PULL_SECONDS (the `models:` section of its
endpoints file, written by bot/serve.py; Rasa's own model server protocol, see
bot/model_rollout.py) and loads what it gets, so a deployment or a rollback on the Models page
reaches every replica without a restart.

Why here: the review app is where the registry's truth is read (bot/model_store.py, the
tracker database) and where the store (MODEL_STORE_DIR) is mounted, and there is one per
deployment; the Rasa servers already reach it on the internal network (Compose's `review`,
Kubernetes' `ecrin-review` Service).

Who may ask: whoever shows MODEL_SERVER_TOKEN, compared in constant time. A staff session
opens nothing here (the route is outside `guarded`): the archive is for the servers, and a
model's weights are no staff member's business. Answers, all plain text but the archive:

* 401 without a token, 403 with a wrong one or when the app has none (MODEL_SERVER_TOKEN
  unset: the model server is off);
* 404 when no model is live (no registry row and no models/ecrin.tar.gz): Rasa logs it and
  keeps its model;
* 304 Not Modified, with the ETag, when `If-None-Match` names the live model: what every pull
  gets between deployments, one registry read and no file touched;
* 503 when the live model's archive is missing from the store or the registry cannot be read
  (Rasa keeps its model and asks again at the next pull), never a 500;
* 200 with the archive, streamed from the file in 64 KB chunks (Starlette's FileResponse; an
  archive is 30-70 MB), `ETag: "<model id>"` and a `filename` header Rasa names the download
  by. HEAD answers the same headers without the body.
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from bot.model_rollout import TOKEN_PARAMETER, client_has, entity_tag
from bot.model_store import live_model
from bot.review.context import ReviewState

logger = logging.getLogger(__name__)

ARCHIVE_TYPE = "application/gzip"
# How long a Rasa server should wait before asking again after a 503.
RETRY_SECONDS = "30"


@dataclass(frozen=True)
class LiveArchive:
    """The live model, and its archive's file status (None: the file is missing)."""

    model_id: str
    path: str | None
    stat: os.stat_result | None


def _plain(reason: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(reason, status_code=status, headers=headers)


def token_refusal(given: str | None, expected: str | None) -> Response | None:
    """Why a request may not have the archive (401 no token, 403 a wrong one or the model
    server off), or None when it shows the token. The comparison takes the same time wherever
    the two differ (hmac.compare_digest), so the token cannot be guessed a character at a
    time."""
    if not given:
        return _plain(
            f"The model server is for the Rasa servers: give the `{TOKEN_PARAMETER}` parameter "
            "(MODEL_SERVER_TOKEN).",
            401,
            {"WWW-Authenticate": f'Token realm="model server", parameter="{TOKEN_PARAMETER}"'},
        )
    if not expected:
        return _plain("The model server is off: MODEL_SERVER_TOKEN is not set here.", 403)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _plain("Wrong token for the model server.", 403)
    return None


def find_live_archive(state: ReviewState) -> LiveArchive | None:
    """The live model and its archive's status (blocking: the registry, the file system)."""
    live = live_model(state.engine, state.settings.model_store_dir)
    if live is None:
        return None
    path = str(live.path) if live.path else None
    try:
        stat = os.stat(path) if path else None
    except FileNotFoundError:
        stat = None
    return LiveArchive(live.id, path, stat)


async def live_model_archive(request: Request) -> Response:
    """The route: the checks above in order, the registry read in a worker thread."""
    state: ReviewState = request.app.state.review
    refused = token_refusal(
        request.query_params.get(TOKEN_PARAMETER), state.settings.model_server_token
    )
    if refused is not None:
        return refused
    try:
        live = await run_in_threadpool(find_live_archive, state)
    except (SQLAlchemyError, OSError) as error:
        logger.error("The model server cannot read the live model: %s", error)
        return _plain(
            "The model registry cannot be read right now; ask again later.",
            503,
            {"Retry-After": RETRY_SECONDS},
        )
    if live is None:
        return _plain("No model is live: train one (make train, or the Models page).", 404)
    tag = {"ETag": entity_tag(live.model_id)}
    if client_has(request.headers.get("if-none-match"), live.model_id):
        return Response(status_code=304, headers=tag)
    if live.path is None or live.stat is None:
        logger.error("The live model %s has no archive at %s", live.model_id, live.path)
        return _plain(
            f"The archive of the live model {live.model_id} is missing from the model store.",
            503,
            {"Retry-After": RETRY_SECONDS},
        )
    return FileResponse(
        live.path,
        stat_result=live.stat,
        media_type=ARCHIVE_TYPE,
        # Rasa saves the download under this name (`filename`, default model.tar.gz).
        headers={**tag, "filename": f"{live.model_id}.tar.gz"},
    )
