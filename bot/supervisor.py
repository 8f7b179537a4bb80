"""Child processes started together, supervised, and stopped together.

Every form of `bot run` (bot/serve.py, bot/scaled.py) starts its processes through
`Processes` and supervises them with `Processes.watch`: a process that stops by itself is
restarted with exponential backoff while the others keep running, and only a crash loop stops
everything (docs/reliability.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.processes import QUIET_ENV
from bot.settings import PROJECT_ROOT

# Supervision (`watch`): a process that stops by itself is restarted after RESTART_BACKOFF
# seconds, doubling with each crash in the last CRASH_WINDOW seconds up to RESTART_BACKOFF_MAX;
# the MAX_CRASHES-th crash within CRASH_WINDOW is a crash loop, and everything stops.
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
RESTART_BACKOFF = 1.0
RESTART_BACKOFF_MAX = 30.0


class StartError(RuntimeError):
    """A process exited while starting, or did not answer in time."""


@dataclass(frozen=True)
class Launch:
    """One child process to start, and the URL that answers 200 once it is up."""

    name: str
    command: list[str]
    health_url: str
    # On top of the environment all the processes share.
    env: Mapping[str, str] | None = None


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

    def start_all(self, launches: list[Launch], timeout: float) -> None:
        """Start every one of `launches` at once, then wait until each answers, in order.

        At once because loading the model takes each Rasa server 20 to 30 s of CPU: one after
        the other, the waits would add up. All within `timeout` seconds (StartError if not).
        """
        for launch in launches:
            self.start(launch.name, launch.command, launch.env)
        deadline = time.monotonic() + timeout
        for launch in launches:
            remaining = max(1.0, deadline - time.monotonic())
            self.wait_until_up(launch.name, launch.health_url, remaining)

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
