"""Start the processes of `bot run` together and stop them together: the action server, the
Rasa server and the staff review app; or one of them alone (`bot run --only`, for containers
and replicas).

What each process runs, where it listens and how to tell it is up come from the process plan
(bot/processes.py); this module prepares what they need (the endpoints and credentials files,
the lock-store check, the tracker store's schema) and starts them through bot/supervisor.py.
`make run` and the end-to-end tests both use this, so what the tests start is what users run.
`bot run --scaled` (bot/scaled.py) builds on the same pieces.

The model: a caller that names one pins it (the tests, `bot eval`'s throwaway assistant, the
benchmarks). Otherwise the Rasa server runs the registry's live model (bot/model_store.py) and
follows it: it starts on the live archive when the store is on this machine (else on the
project's models/ecrin.tar.gz) and asks the review app's model server for a newer one every
MODEL_PULL_SECONDS (the `models:` section of its endpoints file; docs/models.md, "Rolling
out"). `bot run` makes a MODEL_SERVER_TOKEN for the run when none is set and gives it to both.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeVar

import yaml

from bot.model_rollout import MODEL_SERVER_PATH, TOKEN_PARAMETER
from bot.processes import (
    QUIET_ENV,
    RUN_ONLY,
    Launching,
    ProcessKind,
    SetUp,
    process,
    servers,
)
from bot.retention import RetentionSchedule
from bot.settings import PROJECT_ROOT, Settings, current
from bot.supervisor import Launch, Processes, StartError


@dataclass
class Ports:
    """Where each process of `bot run` listens (one field per process of the plan's
    SetUp.BOT_RUN). `review`: None picks a free port (what the tests get, so they never
    collide with a running `make run`), 0 leaves the review app out."""

    rasa: int = 5005
    actions: int = 5055
    review: int | None = None

    @classmethod
    def from_env(cls) -> Ports:
        """Each process's port variable, or the plan's default."""
        return cls(**{f.name: process(f.name).listen_port() for f in fields(cls)})

    def of(self, name: str) -> int | None:
        return getattr(self, name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack(Processes):
    """The processes of `bot run` (or one of them) and where they listen."""

    ports: Ports

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def review_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ports.review}" if self.ports.review else None


def endpoints_file(
    directory: Path,
    env: Mapping[str, str] | None = None,
    actions_port: int | None = None,
    model_server: Mapping[str, object] | None = None,
) -> Path:
    """endpoints.yml as this environment configures it.

    The action endpoint is ACTION_ENDPOINT_URL, or the action server on `actions_port` here;
    LOCK_STORE_URL adds a Redis lock store, which replicas sharing a tracker store need;
    FAQ_ANSWERS_DIR points the live FAQ answers (bot/nlg.py) at another folder;
    `model_server` (model_server_section) is the `models:` section the live model is pulled by.
    A bad setting stops here with the reason (SystemExit), before anything starts.
    """
    settings = Settings.from_env(env)
    config = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = settings.network.action_endpoint(actions_port)
    lock_store = settings.stores.lock_store
    if lock_store:
        config["lock_store"] = lock_store
    answers = settings.stores.faq_answers_dir
    if answers:
        config["nlg"]["answers"] = answers
    if model_server:
        config["models"] = dict(model_server)
    path = directory / "endpoints.yml"
    # It may hold the Redis password and the model server's token: this user's only.
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


TELEGRAM_CHANNEL = "bot.channels.telegram.TelegramInput"


def credentials_file(env: Mapping[str, str], directory: Path) -> Path:
    """credentials.yml, plus the Telegram channel when TELEGRAM_TOKEN is set.

    Stops with the reason (SystemExit) when the Telegram channel would run in production
    without its own pseudonym key (bot.settings.Telegram.pseudonym_secret_problem)."""
    telegram = Settings.from_env(env).telegram
    problem = telegram.pseudonym_secret_problem()
    if problem:
        raise SystemExit(problem)
    config = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    if telegram.token:
        config.setdefault(TELEGRAM_CHANNEL, None)
    path = directory / "credentials.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def model_server_section(
    env: Mapping[str, str], review_port: int | None = None
) -> dict[str, object] | None:
    """The `models:` section of Rasa's endpoints file: Rasa's own model server mechanism
    (rasa/core/agent.py), which asks MODEL_SERVER_URL (default: the review app on this host, on
    `review_port` or REVIEW_PORT) every MODEL_PULL_SECONDS with MODEL_SERVER_TOKEN as the
    `token` parameter. None without a token: nothing to show the model server, so the Rasa
    server runs the model it starts on and follows no deployment."""
    settings = Settings.from_env(env)
    server = settings.model_server
    if not server.token:
        return None
    port = review_port or settings.network.review_port
    return {
        "url": server.url or f"http://127.0.0.1:{port}{MODEL_SERVER_PATH}",
        "token": server.token,
        "token_name": TOKEN_PARAMETER,
        "wait_time_between_pulls": server.pull_seconds,
    }


def with_model_server_token(env: dict[str, str]) -> dict[str, str]:
    """`env`, with a MODEL_SERVER_TOKEN made for this run when none is set: the review app
    (the model server) and the Rasa servers started together get it from the same
    environment, and it dies with the run."""
    if Settings.from_env(env).model_server.token:
        return env
    return {**env, "MODEL_SERVER_TOKEN": secrets.token_urlsafe(32)}


def live_model_here(env: Mapping[str, str]) -> Path | None:
    """The registry's live model, when its archive is on this machine (MODEL_STORE_DIR, which
    `bot run` shares with the review app), for a Rasa server to start on; None: Rasa's
    default, the project's models/ecrin.tar.gz (a container's Rasa server has no store: the
    model server brings the live model at its first pull). Read after the migrations; a
    registry that cannot be read leaves the default, with a warning."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.model_store import live_model
    from bot.tracker_db.engine import short_lived_engine

    stores = Settings.from_env(env).stores
    try:
        with short_lived_engine(stores.tracker_store_url) as engine:
            live = live_model(engine, Path(stores.model_store_dir))
    except SQLAlchemyError as error:
        print(
            f"warning: the model registry cannot be read ({error.__class__.__name__}); the "
            "Rasa server starts on the project's model.",
            file=sys.stderr,
            flush=True,
        )
        return None
    if live is None or live.path is None or not live.path.exists():
        return None
    return live.path


def on_the_live_model(prepared: Launching, env: Mapping[str, str]) -> Launching:
    """`prepared`, with the live model's archive as the Rasa server's model when no model was
    pinned (call it once the tracker store is migrated: the registry is in it)."""
    if prepared.endpoints is None or prepared.model is not None:
        return prepared
    return replace(prepared, model=live_model_here(env))


def check_lock_store(env: Mapping[str, str]) -> None:
    """Stop with a reason when LOCK_STORE_URL names a Redis that does not answer.

    Rasa connects to Redis only at the first message, and then every message fails: better
    to refuse to start.
    """
    section = Settings.from_env(env).stores.lock_store
    if not section:
        return
    import redis

    client = redis.Redis(
        host=section["url"],
        port=section["port"],
        db=section["db"],
        username=section.get("username"),
        password=section.get("password"),
        ssl=section["use_ssl"],
        socket_connect_timeout=3,
        socket_timeout=3,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        where = f"{section['url']}:{section['port']}/{section['db']}"
        raise SystemExit(
            f"The Redis lock store (LOCK_STORE_URL) at {where} does not answer: {error}"
        ) from error
    finally:
        client.close()


def upgrade_tracker_store(env: Mapping[str, str]) -> None:
    """Migrate the tracker store (Rasa's events table, our indexes, the review tables) before
    any Rasa server or review app starts, so they never race to create tables; replicas
    starting together take turns (bot.db.migration_lock)."""
    from bot.review.database import upgrade

    upgrade(Settings.from_env(env).stores.tracker_store_url)


def prepared_for(
    kinds: list[ProcessKind],
    directory: Path,
    env: Mapping[str, str],
    actions_port: int | None = None,
    model: Path | None = None,
    review_port: int | None = None,
) -> Launching:
    """What `kinds` need before they start: for a Rasa server, the endpoints and credentials
    files written from `env` into `directory`, and a lock store that answers (SystemExit
    with the reason otherwise, before anything starts). Without a pinned `model`, the Rasa
    server follows the live model through the model server (model_server_section)."""
    if not any(kind.needs_rasa_files for kind in kinds):
        return Launching(model=model)
    model_server = None
    if model is None:
        model_server = model_server_section(env, review_port)
        if model_server is None:
            print(
                "warning: MODEL_SERVER_TOKEN is not set: the Rasa server will not follow "
                "deployments (docs/models.md, Rolling out).",
                file=sys.stderr,
                flush=True,
            )
    endpoints = endpoints_file(directory, env, actions_port, model_server)
    credentials = credentials_file(env, directory)
    check_lock_store(env)
    return Launching(endpoints=endpoints, credentials=credentials, model=model)


@contextmanager
def _started(
    stack: Stack, kinds: list[ProcessKind], model: Path | None, timeout: float
) -> Iterator[Stack]:
    """Start `kinds` on `stack.ports` as the plan says; stop them all on exit.

    The tracker store is migrated first, in this process, when one of them needs it: before
    Rasa starts, so Rasa and the review app never race to create the events table.
    """
    with tempfile.TemporaryDirectory(prefix="ecrin-run-") as scratch:
        env = stack.env
        ports = stack.ports
        prepared = prepared_for(kinds, Path(scratch), env, ports.actions, model, ports.review)
        if any(kind.migrates_tracker_store for kind in kinds):
            upgrade_tracker_store(env)
        prepared = on_the_live_model(prepared, env)
        launches = []
        for kind in kinds:
            listen = stack.ports.of(kind.name)
            assert listen, kind.name
            command = kind.command(listen, kind.interface(env), prepared)
            launches.append(Launch(kind.name, command, kind.health_url(listen)))
        try:
            stack.start_all(launches, timeout)
            yield stack
        finally:
            stack.stop()


@contextmanager
def running(
    ports: Ports,
    model: Path | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    timeout: float = 180,
) -> Iterator[Stack]:
    """Start the processes of `bot run` (the action server, the Rasa server and the review
    app, unless its port is 0); stop them all on exit. `model` pins the Rasa server's model;
    None: the live model, followed through the review app's model server."""
    process_env = {**os.environ, **QUIET_ENV, **(env or {})}
    if ports.review is None:
        ports = replace(ports, review=free_port())
    if ports.review:
        process_env = with_model_server_token(process_env)
    kinds = [kind for kind in servers(SetUp.BOT_RUN) if ports.of(kind.name)]
    with _started(Stack(ports, env=process_env, log_dir=log_dir), kinds, model, timeout) as stack:
        yield stack


@contextmanager
def running_one(
    name: str,
    ports: Ports,
    model: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> Iterator[Stack]:
    """`bot run --only NAME`: one process of the stack, configured as `running` does it.

    For containers and replicas, where each process runs on its own: the Rasa server and the
    review app migrate the tracker store first (taking turns, see bot.db.migration_lock); the
    action server needs nothing but DATABASE_URL, migrated by `bot db upgrade`.
    """
    if name not in RUN_ONLY:
        raise SystemExit(f"--only takes one of {', '.join(RUN_ONLY)}, not {name!r}")
    kind = process(name)
    if not ports.of(name):
        ports = replace(ports, **{name: kind.default_port})
    process_env = {**os.environ, **QUIET_ENV, **(env or {})}
    with _started(Stack(ports, env=process_env), [kind], model, timeout) as stack:
        yield stack


def _runs_retention(processes: Processes) -> bool:
    """The whole stack, or the review app alone (one per deployment), purges; a Rasa or
    action server alone (replicas) leaves it to them."""
    names = set(processes.processes)
    return "review" in names or len(names) > 1


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # `kill`, `docker stop` and systemd send SIGTERM: stop the children as Ctrl-C does,
    # instead of leaving them running.
    raise KeyboardInterrupt


P = TypeVar("P", bound="Processes")


def in_foreground(starting: AbstractContextManager[P], banner: Callable[[P], list[str]]) -> int:
    """Run what `starting` starts until Ctrl-C or SIGTERM (0) or until a process dies (1).

    Shared by every form of `bot run`: a process that fails to start, or a bad setting,
    ends with one line saying why instead of a traceback.
    """
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with starting as processes:
            print("\n" + "\n".join(banner(processes)) + "\n", flush=True)
            schedule = None
            if _runs_retention(processes):
                schedule = RetentionSchedule.from_env(processes.env)
            try:
                if schedule:
                    schedule.start()
                return processes.watch()
            except KeyboardInterrupt:
                print("\nStopping…", flush=True)
                return 0
            finally:
                if schedule:
                    schedule.stop()
    except KeyboardInterrupt:  # while starting: everything started is stopped by now
        print("\nStopped.", flush=True)
        return 0
    except StartError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1


def serve_forever(only: str | None = None) -> int:
    """`bot run [--only NAME]`: start everything (or NAME) in the foreground until Ctrl-C.
    A bad setting (RETENTION_DAYS, a port…) stops it here, with the reason."""
    ports = Ports.from_env()
    if only:
        starting: AbstractContextManager[Stack] = running_one(only, ports)
    else:
        starting = running(ports)
    return in_foreground(starting, lambda _: _banner(ports, only))


def _banner(ports: Ports, only: str | None) -> list[str]:
    base = f"http://localhost:{ports.rasa}"
    if only:
        what = {
            "rasa": f"The Rasa server is running: web chat {base}/webhooks/web/, REST webhook "
            f"{base}/webhooks/rest/webhook",
            "actions": f"The action server is running: http://localhost:{ports.actions}/webhook",
            "review": f"The staff review app is running: http://localhost:{ports.review}/",
        }[only]
        return [f"{what}. Ctrl-C stops it."]
    lines = [
        "The ECRIN assistant is running. Ctrl-C stops everything.",
        f"  web chat      {base}/webhooks/web/",
        f"  REST webhook  {base}/webhooks/rest/webhook",
    ]
    if current().telegram.token:
        lines.append(f"  Telegram      {base}/webhooks/telegram/webhook")
    lines.append(f"  action server http://localhost:{ports.actions}/health")
    lines.append(f"  staff review  http://localhost:{ports.review}/")
    if not _has_staff():
        lines.append("                (no accounts yet: bot staff add NAME --role admin)")
    return lines


def _has_staff() -> bool:
    from bot.review.accounts import list_staff
    from bot.tracker_db.engine import get_engine

    try:
        return bool(list_staff(get_engine()))
    finally:
        get_engine().dispose()
