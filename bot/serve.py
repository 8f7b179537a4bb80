"""Start the action server, the Rasa server and the staff review app together, and stop them
together.

`make run` and the end-to-end tests both use this, so what the tests start is what users run.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT, port, tracker_store_url

# Rasa phones home unless told not to; the network here is closed and users' privacy matters.
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


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


@dataclass
class Stack:
    """The running processes; `stop()` ends every one of them."""

    ports: Ports
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def review_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ports.review}" if self.ports.review else None

    def stop(self) -> None:
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


def endpoints_file(ports: Ports, directory: Path) -> Path:
    """endpoints.yml with the action server URL for `ports.actions`."""
    config = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = f"http://127.0.0.1:{ports.actions}/webhook"
    path = directory / "endpoints.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


TELEGRAM_CHANNEL = "bot.channels.telegram.TelegramInput"


def credentials_file(env: dict[str, str], directory: Path) -> Path:
    """credentials.yml, plus the Telegram channel when TELEGRAM_TOKEN is set."""
    config = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    if env.get("TELEGRAM_TOKEN"):
        config.setdefault(TELEGRAM_CHANNEL, None)
    path = directory / "credentials.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _wait_until_up(url: str, process: subprocess.Popen, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{name} did not answer {url} within {timeout:.0f} s")


def _rasa(*args: str) -> list[str]:
    return [sys.executable, "-m", "rasa", *args]


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
    stack = Stack(ports)
    if ports.review:
        from bot.review.database import upgrade

        upgrade(process_env.get("TRACKER_STORE_URL") or tracker_store_url())
    with tempfile.TemporaryDirectory(prefix="ecrin-run-") as scratch:
        endpoints = endpoints_file(ports, Path(scratch))
        credentials = credentials_file(process_env, Path(scratch))

        def start(name: str, command: list[str]) -> subprocess.Popen:
            output = open(log_dir / f"{name}.log", "wb") if log_dir else None  # noqa: SIM115
            process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=process_env, stdout=output, stderr=output
            )
            stack.processes[name] = process
            return process

        try:
            actions = start(
                "actions",
                _rasa("run", "actions", "--actions", "actions", "--port", str(ports.actions)),
            )
            rasa = start(
                "rasa",
                _rasa(
                    "run",
                    "--port",
                    str(ports.rasa),
                    "--interface",
                    process_env.get("RASA_INTERFACE", "127.0.0.1"),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(credentials),
                    "--model",
                    str(model or PROJECT_ROOT / "models"),
                ),
            )
            if ports.review:
                review = start(
                    "review",
                    [
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "review",
                        "serve",
                        "--no-upgrade",
                        "--port",
                        str(ports.review),
                        "--host",
                        process_env.get("REVIEW_INTERFACE", "127.0.0.1"),
                    ],
                )
                _wait_until_up(f"{stack.review_url}/health", review, "review app", timeout)
            _wait_until_up(
                f"http://127.0.0.1:{ports.actions}/health", actions, "action server", timeout
            )
            _wait_until_up(f"{stack.rasa_url}/", rasa, "Rasa server", timeout)
            yield stack
        finally:
            stack.stop()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # `kill`, `docker stop` and systemd send SIGTERM: stop the children as Ctrl-C does,
    # instead of leaving them running.
    raise KeyboardInterrupt


def serve_forever() -> int:
    """`bot run`: start everything in the foreground until Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    ports = Ports.from_env()
    with running(ports) as stack:
        base = f"http://localhost:{ports.rasa}"
        review = f"http://localhost:{ports.review}/"
        lines = [
            "The ECRIN assistant is running. Ctrl-C stops everything.",
            f"  web chat      {base}/webhooks/web/",
            f"  REST webhook  {base}/webhooks/rest/webhook",
        ]
        if os.environ.get("TELEGRAM_TOKEN"):
            lines.append(f"  Telegram      {base}/webhooks/telegram/webhook")
        lines.append(f"  action server http://localhost:{ports.actions}/health")
        lines.append(f"  staff review  {review}")
        if not _has_staff():
            lines.append("                (no accounts yet: bot staff add NAME --role admin)")
        print("\n" + "\n".join(lines) + "\n", flush=True)
        try:
            while all(p.poll() is None for p in stack.processes.values()):
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping…", flush=True)
            return 0
        stopped = [name for name, p in stack.processes.items() if p.poll() is not None]
        print(f"Stopped unexpectedly: {', '.join(stopped)}; stopping the rest.", file=sys.stderr)
        return 1


def _has_staff() -> bool:
    from bot.review.accounts import list_staff
    from bot.review.database import get_engine

    try:
        return bool(list_staff(get_engine()))
    finally:
        get_engine().dispose()
