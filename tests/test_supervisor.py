"""`bot run` supervises its processes: a crashed one is restarted with backoff while the others
keep answering, and only a crash loop stops everything (bot.supervisor.Processes.watch).

The first tests supervise tiny Python processes; the last one starts the real `bot run` (action
server, Rasa server, review app), kills the action server and checks that the Rasa server
keeps answering politely, that the action server comes back and answers again, and that the
scheduled retention purge ran (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.channels.rest import APOLOGY
from bot.processes import QUIET_ENV
from bot.serve import free_port
from bot.settings import PROJECT_ROOT
from bot.supervisor import Launch, Processes, StartError
from tests.conftest import seed_database

# Every test here starts processes and waits through their restarts (seconds each).
pytestmark = pytest.mark.slow

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_a_crashed_process_is_restarted_with_growing_backoff_and_the_others_keep_running(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    processes = Processes(log_dir=tmp_path, backoff=0.2, backoff_max=0.8, max_crashes=100)
    try:
        steady = processes.start("steady", SLEEP)
        processes.start("flaky", CRASH)
        result = processes.watch(poll=0.05, until=lambda: processes.restarts.get("flaky", 0) >= 4)
        assert result == 0
        assert processes.processes["steady"] is steady and steady.poll() is None
    finally:
        processes.stop()
    err = capsys.readouterr().err
    assert "flaky stopped unexpectedly (exit code 3); restarting it in 0.2 s" in err
    assert "restarting it in 0.4 s" in err and "restarting it in 0.8 s" in err
    assert "steady" not in err
    assert [processes.restart_delay(n) for n in (1, 2, 3, 4, 5)] == [0.2, 0.4, 0.8, 0.8, 0.8]


def test_a_crash_loop_stops_everything_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    processes = Processes(log_dir=tmp_path, backoff=0.05, backoff_max=0.1)  # 5 crashes / 60 s
    try:
        processes.start("steady", SLEEP)
        processes.start("flaky", CRASH)
        started = time.monotonic()
        assert processes.watch(poll=0.05) == 1
        assert time.monotonic() - started < 10
        assert processes.restarts["flaky"] == 4  # 5 crashes: the first start and 4 restarts
    finally:
        processes.stop()
    assert processes.processes["steady"].poll() is not None  # stopped with the rest
    assert (
        "flaky stopped unexpectedly 5 times within 60 s (last exit code 3): a crash loop; "
        "stopping the rest." in capsys.readouterr().err
    )


def test_crashes_older_than_the_window_do_not_count(tmp_path: Path) -> None:
    processes = Processes(log_dir=tmp_path, backoff=0.05, max_crashes=3, crash_window=0.3)
    try:
        processes.start("flaky", [sys.executable, "-c", "import time; time.sleep(0.4)"])
        # A process that dies every 0.4 s never has 3 crashes within 0.3 s.
        assert (
            processes.watch(poll=0.05, until=lambda: processes.restarts.get("flaky", 0) >= 4) == 0
        )
    finally:
        processes.stop()


def test_a_restarted_process_appends_to_its_log(tmp_path: Path) -> None:
    processes = Processes(log_dir=tmp_path, backoff=0.05, max_crashes=100)
    command = [sys.executable, "-c", "print('started', flush=True)"]
    try:
        processes.start("echo", command)
        processes.watch(poll=0.05, until=lambda: processes.restarts.get("echo", 0) >= 2)
        time.sleep(0.5)
    finally:
        processes.stop()
    assert (tmp_path / "echo.log").read_text().count("started") >= 3


def _http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_start_all_waits_for_every_process_and_names_the_one_that_exits(tmp_path: Path) -> None:
    """How every form of `bot run` starts the plan's processes (bot.supervisor.start_all)."""
    first, second = free_port(), free_port()
    processes = Processes(log_dir=tmp_path)
    try:
        processes.start_all(
            [
                Launch("one", _http_server(first), f"http://127.0.0.1:{first}/"),
                Launch("two", _http_server(second), f"http://127.0.0.1:{second}/"),
            ],
            timeout=30,
        )
        for port in (first, second):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                assert reply.status == 200
    finally:
        processes.stop()
    processes = Processes(log_dir=tmp_path)
    try:
        with pytest.raises(StartError, match="flaky exited with code 3 while starting"):
            processes.start_all(
                [
                    Launch("steady", _http_server(first), f"http://127.0.0.1:{first}/"),
                    Launch("flaky", CRASH, f"http://127.0.0.1:{free_port()}/"),
                ],
                timeout=30,
            )
    finally:
        processes.stop()
    with pytest.raises(StartError, match=r"silent did not answer .* within 1 s"):
        try:
            processes = Processes(log_dir=tmp_path)
            processes.start_all([Launch("silent", SLEEP, f"http://127.0.0.1:{free_port()}/")], 1)
        finally:
            processes.stop()


# --- The real `bot run` -----------------------------------------------------------------------


def _post(url: str, sender: str, message: str) -> tuple[int, list[dict]]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                )
        except (OSError, ValueError, IndexError):
            continue
    return found


def _old_event(tracker: Path, sender: str, days_ago: float) -> None:
    with sqlite3.connect(tracker) as connection:
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
            (sender, time.time() - days_ago * 86400, json.dumps({"event": "user", "text": "old"})),
        )


@pytest.mark.e2e
def test_bot_run_restarts_a_killed_action_server_and_keeps_answering(
    tmp_path: Path, trained_model: Path
) -> None:
    """`bot run` serves models/ecrin.tar.gz, the model `trained_model` checks is there."""
    from bot.serve import upgrade_tracker_store

    rasa_port, actions_port, review_port = free_port(), free_port(), free_port()
    tracker = tmp_path / "tracker.db"
    env = {
        **os.environ,
        **QUIET_ENV,
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "REVIEW_PORT": str(review_port),
        "DATABASE_URL": seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}"),
        "TRACKER_STORE_URL": f"sqlite:///{tracker}",
        "RETENTION_DAYS": "30",
        "PURGE_INTERVAL": "2s",
        "LOCK_STORE_URL": "",
    }
    upgrade_tracker_store(env)
    _old_event(tracker, "retention-old", days_ago=31)
    _old_event(tracker, "retention-new", days_ago=29)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
    reader.start()
    webhook = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    health = f"http://127.0.0.1:{actions_port}/health"
    lookup = "Who is the ECRIN partner in France?"
    try:
        banner = ""
        while "Ctrl-C stops everything" not in banner:
            line = process.stdout.readline()
            assert line, f"bot run ended: {banner}{''.join(errors)}"
            banner += line
        status, replies = _post(webhook, "supervised", lookup)
        assert status == 200 and "France" in replies[0]["text"], replies

        [actions] = [pid for pid, cmd in _children(process.pid).items() if "actions" in cmd]
        os.kill(actions, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _up(health) and time.monotonic() < deadline:
            time.sleep(0.1)

        # The action server is down: the Rasa server still answers, politely, not silently.
        down_at = time.monotonic()
        status, replies = _post(webhook, "supervised-2", lookup)
        assert status == 200 and replies, replies
        texts = " ".join(r.get("text", "") for r in replies)
        assert texts and ("Sorry" in texts or "France" in texts), texts
        polite = texts

        deadline = time.monotonic() + 120
        while not _up(health):
            assert time.monotonic() < deadline, "the action server did not come back"
            assert process.poll() is None, "".join(errors)
            time.sleep(0.2)
        back_after = time.monotonic() - down_at
        status, replies = _post(webhook, "supervised-3", lookup)
        assert status == 200 and "France" in replies[0]["text"], replies
        assert process.poll() is None  # never stopped

        deadline = time.monotonic() + 30
        with sqlite3.connect(tracker) as connection:
            while True:
                senders = {
                    s for (s,) in connection.execute("SELECT DISTINCT sender_id FROM events")
                }
                if "retention-old" not in senders or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        assert "retention-old" not in senders and "retention-new" in senders

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)
    reader.join(timeout=5)
    log = "".join(errors)
    assert "actions stopped unexpectedly (exit code -9); restarting it in 1 s" in log, log
    assert "actions restarted." in log
    print(
        f"\nwhile the action server was down: {polite!r}; back and answering after "
        f"{back_after:.1f} s; APOLOGY used: {polite == APOLOGY}"
    )
