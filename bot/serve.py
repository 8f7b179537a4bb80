"""Start the action server, the Rasa server and the staff review app together, and stop them
together; or one of them alone (`bot run --only`, for containers and replicas).

`make run` and the end-to-end tests both use this, so what the tests start is what users run.
`bot run --scaled` (bot/scaled.py) builds on the same pieces.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TypeVar

import yaml

from bot.rasa_main import command as rasa_cli
from bot.settings import (
    PROJECT_ROOT,
    action_endpoint_url,
    faq_answers_dir,
    lock_store_url,
    port,
    redis_lock_store,
    tracker_store_url,
)

# Rasa phones home unless told not to; the network here is closed and users' privacy matters.
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    # TensorFlow's oneDNN kernels cost the Rasa server ~125 MB of memory and were no faster
    # for these small models (docs/benchmarks.md: 1,524 → 1,399 MB peak, 21.8 → 25.9 msg/s).
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

# What `bot run --only` can start.
PROCESS_NAMES = ("rasa", "actions", "review")


@dataclass
class Ports:
    """Where each process listens. `review`: None picks a free port (what the tests get, so
    they never collide with a running `make run`), 0 leaves the review app out."""

    rasa: int = 5005
    actions: int = 5055
    review: int | None = None

    @classmethod
    def from_env(cls) -> Ports:
        return cls(
            rasa=port("RASA_PORT", 5005),
            actions=port("ACTIONS_PORT", 5055),
            review=port("REVIEW_PORT", 8080),
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(kw_only=True)
class Processes:
    """Child processes started together and stopped together.

    `env` is the complete environment they get (the caller's, QUIET_ENV, overrides); with
    `log_dir` each one writes to NAME.log there, otherwise to this terminal.
    """

    env: dict[str, str] = field(default_factory=lambda: {**os.environ, **QUIET_ENV})
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False, repr=False)

    def start(
        self, name: str, command: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        """Start `command` in the project directory, with `env` on top of `self.env`."""
        output = None
        if self.log_dir:
            output = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop)
            self._logs.append(output)
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**self.env, **(env or {})},
            stdout=output,
            stderr=output,
        )
        self.processes[name] = process
        return process

    def wait_until_up(self, name: str, url: str, timeout: float) -> None:
        """Block until `name` answers 200 at `url`; raise if it exits or `timeout` passes."""
        _wait_until_up(url, self.processes[name], name, timeout)

    def stop(self) -> None:
        """SIGTERM every process, then SIGKILL those still running after 15 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def watch(self) -> int:
        """Wait until one of the processes stops by itself (then 1, after saying which) or
        Ctrl-C / SIGTERM interrupts (KeyboardInterrupt propagates)."""
        while all(p.poll() is None for p in self.processes.values()):
            time.sleep(1)
        stopped = [name for name, p in self.processes.items() if p.poll() is not None]
        print(f"Stopped unexpectedly: {', '.join(stopped)}; stopping the rest.", file=sys.stderr)
        return 1


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
    directory: Path, env: Mapping[str, str] | None = None, actions_port: int | None = None
) -> Path:
    """endpoints.yml as this environment configures it.

    The action endpoint is ACTION_ENDPOINT_URL, or the action server on `actions_port` here;
    LOCK_STORE_URL adds a Redis lock store, which replicas sharing a tracker store need;
    FAQ_ANSWERS_DIR points the live FAQ answers (bot/nlg.py) at another folder.
    A bad LOCK_STORE_URL stops here with the reason (SystemExit), before anything starts.
    """
    config = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = action_endpoint_url(env, actions_port)
    lock_url = lock_store_url(env)
    if lock_url:
        config["lock_store"] = redis_lock_store(lock_url)
    answers = faq_answers_dir(env)
    if answers:
        config["nlg"]["answers"] = answers
    path = directory / "endpoints.yml"
    # It may hold the Redis password: readable by this user only.
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


TELEGRAM_CHANNEL = "bot.channels.telegram.TelegramInput"


def credentials_file(env: Mapping[str, str], directory: Path) -> Path:
    """credentials.yml, plus the Telegram channel when TELEGRAM_TOKEN is set."""
    config = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    if env.get("TELEGRAM_TOKEN"):
        config.setdefault(TELEGRAM_CHANNEL, None)
    path = directory / "credentials.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def check_lock_store(env: Mapping[str, str]) -> None:
    """Stop with a reason when LOCK_STORE_URL names a Redis that does not answer.

    Rasa connects to Redis only at the first message, and then every message fails: better
    to refuse to start.
    """
    url = lock_store_url(env)
    if not url:
        return
    import redis

    section = redis_lock_store(url)
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

    upgrade(env.get("TRACKER_STORE_URL") or tracker_store_url())


class StartError(RuntimeError):
    """A process exited while starting, or did not answer in time."""


def _wait_until_up(url: str, process: subprocess.Popen, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"{name} exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise StartError(f"{name} did not answer {url} within {timeout:.0f} s")


def actions_command(actions_port: int) -> list[str]:
    """The action server (rasa-sdk listens on every interface; it has no option for one)."""
    return rasa_cli("run", "actions", "--actions", "actions", "--port", str(actions_port))


def rasa_command(
    rasa_port: int, interface: str, endpoints: Path, credentials: Path, model: Path | None
) -> list[str]:
    """A Rasa server with our channels, endpoints and the trained model."""
    return rasa_cli(
        "run",
        "--port",
        str(rasa_port),
        "--interface",
        interface,
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
        "--model",
        str(model or PROJECT_ROOT / "models"),
    )


def review_command(review_port: int, host: str) -> list[str]:
    """The review app, its migrations already done by the caller."""
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "review",
        "serve",
        "--no-upgrade",
        "--port",
        str(review_port),
        "--host",
        host,
    ]


@contextmanager
def running(
    ports: Ports,
    model: Path | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    timeout: float = 180,
) -> Iterator[Stack]:
    """Start the action server, the Rasa server and the review app; stop them all on exit.

    The review tables are migrated first, in this process: before Rasa starts, so the two
    never race to create the events table in a new database.
    """
    process_env = {**os.environ, **QUIET_ENV, **(env or {})}
    if ports.review is None:
        ports = replace(ports, review=free_port())
    stack = Stack(ports, env=process_env, log_dir=log_dir)
    with tempfile.TemporaryDirectory(prefix="ecrin-run-") as scratch:
        endpoints = endpoints_file(Path(scratch), process_env, ports.actions)
        credentials = credentials_file(process_env, Path(scratch))
        check_lock_store(process_env)
        if ports.review:
            upgrade_tracker_store(process_env)
        try:
            stack.start("actions", actions_command(ports.actions))
            interface = process_env.get("RASA_INTERFACE", "127.0.0.1")
            stack.start("rasa", rasa_command(ports.rasa, interface, endpoints, credentials, model))
            if ports.review:
                host = process_env.get("REVIEW_INTERFACE", "127.0.0.1")
                stack.start("review", review_command(ports.review, host))
                stack.wait_until_up("review", f"{stack.review_url}/health", timeout)
            stack.wait_until_up("actions", f"http://127.0.0.1:{ports.actions}/health", timeout)
            stack.wait_until_up("rasa", f"{stack.rasa_url}/", timeout)
            yield stack
        finally:
            stack.stop()


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
    if name not in PROCESS_NAMES:
        raise SystemExit(f"--only takes one of {', '.join(PROCESS_NAMES)}, not {name!r}")
    process_env = {**os.environ, **QUIET_ENV, **(env or {})}
    stack = Stack(ports, env=process_env)
    with tempfile.TemporaryDirectory(prefix="ecrin-run-") as scratch:
        if name == "rasa":
            endpoints = endpoints_file(Path(scratch), process_env, ports.actions)
            credentials = credentials_file(process_env, Path(scratch))
            check_lock_store(process_env)
        if name in ("rasa", "review"):
            upgrade_tracker_store(process_env)
        try:
            if name == "actions":
                stack.start(name, actions_command(ports.actions))
                health = f"http://127.0.0.1:{ports.actions}/health"
            elif name == "rasa":
                interface = process_env.get("RASA_INTERFACE", "127.0.0.1")
                stack.start(
                    name, rasa_command(ports.rasa, interface, endpoints, credentials, model)
                )
                health = f"{stack.rasa_url}/"
            else:
                host = process_env.get("REVIEW_INTERFACE", "127.0.0.1")
                stack.start(name, review_command(ports.review or 8080, host))
                health = f"http://127.0.0.1:{ports.review or 8080}/health"
            stack.wait_until_up(name, health, timeout)
            yield stack
        finally:
            stack.stop()


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
            try:
                return processes.watch()
            except KeyboardInterrupt:
                print("\nStopping…", flush=True)
                return 0
    except KeyboardInterrupt:  # while starting: everything started is stopped by now
        print("\nStopped.", flush=True)
        return 0
    except StartError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1


def serve_forever(only: str | None = None) -> int:
    """`bot run [--only NAME]`: start everything (or NAME) in the foreground until Ctrl-C."""
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
    if os.environ.get("TELEGRAM_TOKEN"):
        lines.append(f"  Telegram      {base}/webhooks/telegram/webhook")
    lines.append(f"  action server http://localhost:{ports.actions}/health")
    lines.append(f"  staff review  http://localhost:{ports.review}/")
    if not _has_staff():
        lines.append("                (no accounts yet: bot staff add NAME --role admin)")
    return lines


def _has_staff() -> bool:
    from bot.review.accounts import list_staff
    from bot.review.database import get_engine

    try:
        return bool(list_staff(get_engine()))
    finally:
        get_engine().dispose()
