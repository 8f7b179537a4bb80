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
import threading
import time
import urllib.request
from collections import deque
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


# Supervision (`watch`): a process that stops by itself is restarted after RESTART_BACKOFF
# seconds, doubling with each crash in the last CRASH_WINDOW seconds up to RESTART_BACKOFF_MAX;
# the MAX_CRASHES-th crash within CRASH_WINDOW is a crash loop, and everything stops.
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
RESTART_BACKOFF = 1.0
RESTART_BACKOFF_MAX = 30.0


@dataclass(kw_only=True)
class Processes:
    """Child processes started together, supervised, and stopped together.

    `env` is the complete environment they get (the caller's, QUIET_ENV, overrides); with
    `log_dir` each one writes to NAME.log there (a restarted process appends), otherwise to
    this terminal.
    """

    env: dict[str, str] = field(default_factory=lambda: {**os.environ, **QUIET_ENV})
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    max_crashes: int = MAX_CRASHES
    crash_window: float = CRASH_WINDOW
    backoff: float = RESTART_BACKOFF
    backoff_max: float = RESTART_BACKOFF_MAX
    # How often each process was restarted by `watch`.
    restarts: dict[str, int] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False, repr=False)
    _log_of: dict[str, IO[bytes]] = field(default_factory=dict, init=False, repr=False)
    _commands: dict[str, tuple[list[str], Mapping[str, str] | None]] = field(
        default_factory=dict, init=False, repr=False
    )

    def start(
        self, name: str, command: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        """Start `command` in the project directory, with `env` on top of `self.env`."""
        output = self._log_of.get(name)
        if self.log_dir and output is None:
            output = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop)
            self._logs.append(output)
            self._log_of[name] = output
        self._commands[name] = (command, env)
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
        self._log_of.clear()

    def restart_delay(self, recent_crashes: int) -> float:
        """Seconds to wait before restarting after the `recent_crashes`-th recent crash."""
        return min(self.backoff_max, self.backoff * 2 ** max(0, recent_crashes - 1))

    def watch(self, poll: float = 0.5, until: Callable[[], bool] | None = None) -> int:
        """Supervise until Ctrl-C / SIGTERM (KeyboardInterrupt propagates), a crash loop
        (then 1, after saying which process), or `until()` returns True (then 0; tests).

        A process that stops by itself is restarted with exponential backoff while the others
        keep running: the Rasa server answers politely while the action server is away
        (bot.channels.rest.APOLOGY), and the action server comes back. Only `max_crashes`
        crashes of one process within `crash_window` seconds stop everything.
        """
        crashes: dict[str, deque[float]] = {}
        due: dict[str, float] = {}  # process name → when to restart it
        while until is None or not until():
            now = time.monotonic()
            for name, process in list(self.processes.items()):
                code = process.poll()
                if name in due or code is None:
                    continue
                recent = crashes.setdefault(name, deque())
                recent.append(now)
                while recent and now - recent[0] > self.crash_window:
                    recent.popleft()
                if len(recent) >= self.max_crashes:
                    print(
                        f"{name} stopped unexpectedly {len(recent)} times within "
                        f"{self.crash_window:.0f} s (last exit code {code}): a crash loop; "
                        f"stopping the rest. See its log.",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
                delay = self.restart_delay(len(recent))
                print(
                    f"{name} stopped unexpectedly (exit code {code}); restarting it in "
                    f"{delay:g} s while the others keep running.",
                    file=sys.stderr,
                    flush=True,
                )
                due[name] = now + delay
            for name, when in list(due.items()):
                if time.monotonic() >= when:
                    del due[name]
                    command, env = self._commands[name]
                    self.start(name, command, env)
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    print(f"{name} restarted.", file=sys.stderr, flush=True)
            time.sleep(poll)
        return 0


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
    """credentials.yml, plus the Telegram channel when TELEGRAM_TOKEN is set.

    Stops with the reason (SystemExit) when the Telegram channel would run in production
    without its own pseudonym key (bot.privacy.pseudonym_secret_problem)."""
    from bot.privacy import pseudonym_secret_problem

    problem = pseudonym_secret_problem(env)
    if problem:
        raise SystemExit(problem)
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


# --- Retention, on a schedule -------------------------------------------------------------------

RETENTION_DAYS = 180
PURGE_INTERVAL = 3600.0
_INTERVAL = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def retention_settings(env: Mapping[str, str]) -> tuple[float, float]:
    """(RETENTION_DAYS, PURGE_INTERVAL in seconds) from `env`; 0 days turns the scheduled
    purge off. PURGE_INTERVAL is seconds, or a number with s, m, h or d. A bad value stops
    here with the reason (SystemExit)."""
    import re

    days_text = (env.get("RETENTION_DAYS") or str(RETENTION_DAYS)).strip()
    interval_text = (env.get("PURGE_INTERVAL") or f"{PURGE_INTERVAL:g}").strip().lower()
    try:
        days = float(days_text)
        if days < 0:
            raise ValueError
    except ValueError:
        raise SystemExit(
            f"RETENTION_DAYS must be a number of days (0: keep), not {days_text!r}"
        ) from None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", interval_text)
    if not match or float(match.group(1)) <= 0:
        raise SystemExit(f"PURGE_INTERVAL must be e.g. 3600, 30m or 1h, not {interval_text!r}")
    return days, float(match.group(1)) * _INTERVAL[match.group(2)]


class RetentionSchedule:
    """Purges messages older than RETENTION_DAYS every PURGE_INTERVAL, in a thread of the
    `bot run` process (bot.privacy.purge_conversations: per message age), first at start.

    A purge that fails (database down) is reported and tried again at the next interval.
    """

    def __init__(self, url: str, days: float, interval: float) -> None:
        self.url, self.days, self.interval = url, days, interval
        self.runs = 0
        self.deleted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSchedule | None:
        days, interval = retention_settings(env)
        if not days:
            return None
        return cls(env.get("TRACKER_STORE_URL") or tracker_store_url(), days, interval)

    def start(self) -> RetentionSchedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def purge_once(self) -> None:
        import datetime as dt

        from bot.privacy import ErasureError, purge_conversations

        try:
            emptied, events = purge_conversations(dt.timedelta(days=self.days), self.url)
        except ErasureError as error:
            print(f"Retention purge failed, trying again later: {error}", file=sys.stderr,
                  flush=True)  # fmt: skip
            return
        finally:
            self.runs += 1
        self.deleted += events
        if events:
            print(
                f"Retention: deleted {events} message event(s) older than {self.days:g} days "
                f"({emptied} conversation(s) emptied).",
                flush=True,
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.purge_once()
            self._stop.wait(self.interval)


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
    """`bot run [--only NAME]`: start everything (or NAME) in the foreground until Ctrl-C."""
    ports = Ports.from_env()
    retention_settings(os.environ)  # a bad RETENTION_DAYS / PURGE_INTERVAL stops here
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
