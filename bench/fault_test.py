"""Fault injection under load: PostgreSQL and Redis go away in the middle of a 50-user load
and come back. Is any message lost, is any failure left unexplained to its user?

Starts what `make run-scaled` starts (bot.scaled.running_scaled: 2 Rasa servers and 2 action
servers behind nginx) on two new PostgreSQL databases and a private Redis, then USERS
simulated users talk at once (MESSAGES each, a short pause between messages, as people type).
During the load:

* **PostgreSQL stops** once a fifth of the messages are answered, for OUTAGE seconds. We do
  not stop the machine's shared PostgreSQL server: every process reaches it through
  `FaultProxy`, a TCP proxy that, when down, cuts every open connection and refuses new ones,
  which is what a client sees when the server stops (its transactions are rolled back, as
  they would be). Both databases (conversations, and events and partners) go away at once.
* **Redis stops** (the lock store and the shared rate limits) once half of the messages are
  answered and at least 15 s after PostgreSQL's return, for OUTAGE seconds: a private
  `redis-server` that is killed (SIGKILL) and started again empty, as Redis keeps nothing on
  disk here.

Afterwards each user asks one more question, and the checks are:

* every request got HTTP 200 with a reply (no 5xx, no silence);
* every apology (bot.channels.rest.APOLOGY) was sent while a service was down, or within
  GRACE seconds of its return: none is unexplained;
* no message lost: every message that got a real answer is stored exactly once in
  PostgreSQL, with the replies it got, in order; a message that got the apology is not
  stored (its user was asked to send it again);
* recovery: after both services are back, every user's last question gets a real answer;
* every process is still running (none crashed).

    .venv/bin/python bench/fault_test.py [--users 50] [--messages 20] [--outage 4]
                                         [--seed 11] [--keep-logs DIR]

tests/test_faults.py runs it with 50 users. Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import Reply, run_load
from bench.load_test import (
    MODEL,
    POSTGRES_URL,
    Check,
    conversations,
    stored_turns,
    temporary_stores,
)
from bot.channels.rest import APOLOGY
from bot.masking import mask_personal_data
from bot.scaled import ScaledPorts, running_scaled
from bot.serve import free_port
from bot.supervisor import StartError

# An apology this long after a service came back still counts as explained: requests that
# were already waiting (for a lock, a connection) finish with the error they met.
GRACE_SECONDS = 5.0
# What each user asks after the load, once both services are back.
LAST_QUESTION = "What is a placebo?"


class FaultProxy:
    """A TCP proxy to a real server that can be taken down (`down`) and brought back (`up`).

    Down, it closes its listening socket (new connections are refused) and cuts every open
    connection in both directions: to its clients the server has stopped.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            _cut(connection)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by down()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _cut(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    _cut(client)
                    _cut(server)
                    return
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _cut(source)
            _cut(sink)


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


class RedisServer:
    """A private `redis-server` on a free port of loopback, keeping nothing on disk."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (Debian's redis-server package).")
        self.port = free_port()
        self.command = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no"]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.kill()


def through(proxy: FaultProxy, url: str) -> str:
    """`url` with its host and port replaced by the proxy's."""
    from sqlalchemy.engine import make_url

    moved = make_url(url).set(host="127.0.0.1", port=proxy.port)
    return moved.render_as_string(hide_password=False)


@dataclass
class Outage:
    """One service away, on `time.perf_counter()`'s clock."""

    service: str
    began: float
    ended: float = float("inf")

    def covers(self, reply: Reply, grace: float = GRACE_SECONDS) -> bool:
        """The request was in flight while the service was away (or just after)."""
        return reply.started <= self.ended + grace and reply.started + reply.seconds >= self.began


@dataclass
class FaultInjector:
    """Takes each service down when `share` of the `total` replies have come back, and at
    least `apart` seconds after the previous one came back, for `seconds`, from a thread of
    its own (so no apology can be explained by two outages at once)."""

    total: int
    seconds: float
    plan: list[tuple[float, str, Callable[[], None], Callable[[], None]]]
    apart: float = 3 * GRACE_SECONDS
    outages: list[Outage] = field(default_factory=list)
    _done: int = 0
    _progress: threading.Condition = field(default_factory=threading.Condition)
    _finished: bool = False

    def count(self, _reply: Reply) -> None:
        with self._progress:
            self._done += 1
            self._progress.notify_all()

    def finish(self) -> None:
        with self._progress:
            self._finished = True
            self._progress.notify_all()

    def run(self) -> None:
        for share, service, down, up in self.plan:
            with self._progress:
                self._progress.wait_for(
                    lambda share=share: self._finished or self._done >= share * self.total
                )
                if self._finished:
                    return
            if self.outages:
                time.sleep(max(0.0, self.outages[-1].ended + self.apart - time.perf_counter()))
            outage = Outage(service, time.perf_counter())
            self.outages.append(outage)
            down()
            time.sleep(self.seconds)
            up()
            outage.ended = time.perf_counter()


@dataclass
class FaultResult:
    replies: list[Reply]
    last: list[Reply]
    outages: list[Outage]
    storage: Storage
    crashed: list[str]

    def apologies(self, replies: list[Reply] | None = None) -> list[Reply]:
        return [r for r in (self.replies if replies is None else replies) if APOLOGY in r.texts]

    def unexplained(self) -> list[Reply]:
        return [
            reply
            for reply in self.apologies()
            if not any(outage.covers(reply) for outage in self.outages)
        ]

    def recovery_seconds(self, outage: Outage) -> float | None:
        """From the service's return to the first real answer that started after it."""
        after = [
            r.started + r.seconds
            for r in self.replies + self.last
            if r.started >= outage.ended and not r.failed and APOLOGY not in r.texts
        ]
        return min(after) - outage.ended if after else None

    def checks(self) -> list[Check]:
        everything = self.replies + self.last
        failed = [r for r in everything if r.failed]
        unexplained = self.unexplained()
        last_failed = [r for r in self.last if r.failed or APOLOGY in r.texts]
        return [
            Check(
                f"every request got HTTP 200 with a reply ({len(failed)} of "
                f"{len(everything)} did not)",
                not failed,
                "; ".join(f"{r.user} #{r.index}: {r.error or 'no text'}" for r in failed[:3]),
            ),
            Check(
                f"every apology sent while a service was away ({len(unexplained)} of "
                f"{len(self.apologies())} were not)",
                not unexplained,
                "; ".join(f"{r.user} #{r.index} {r.message!r}" for r in unexplained[:3]),
            ),
            Check(
                f"no message lost: every real answer stored once, in order, with its replies "
                f"({len(self.storage.lost)} lost)",
                not self.storage.lost and not self.storage.problems,
                "; ".join(self.storage.problems[:3]),
            ),
            Check(
                f"after recovery, every user's question answered ({len(last_failed)} of "
                f"{len(self.last)} were not)",
                not last_failed,
            ),
            Check(
                "no process crashed",
                not self.crashed,
                ", ".join(self.crashed),
            ),
        ]

    def report(self) -> str:
        answered = [r for r in self.replies + self.last if APOLOGY not in r.texts]
        lines = [
            f"requests         {len(self.replies) + len(self.last)} "
            f"({len(self.replies)} during the load, {len(self.last)} after it)",
            f"real answers     {len(answered)}",
            f"messages lost    {len(self.storage.lost)} (answered, not stored)",
            f"apologised       {len(self.apologies())}, of which stored anyway "
            f"{len(self.storage.stored_after_apology)}",
        ]
        for outage in self.outages:
            during = [r for r in self.apologies() if outage.covers(r)]
            kept = [r for r in self.storage.stored_after_apology if outage.covers(r)]
            recovered = self.recovery_seconds(outage)
            lines.append(
                f"{outage.service:<16} away {outage.ended - outage.began:.1f} s, "
                f"{len(during)} apologies ({len(kept)} stored anyway), first real answer "
                + (f"{recovered:.1f} s after its return" if recovered is not None else "never")
            )
        lines += ["checks", *map(str, self.checks())]
        return "\n".join(lines)


def run_with_faults(
    users: int = 50,
    messages: int = 20,
    outage_seconds: float = 4.0,
    seed: int = 11,
    pause: float = 1.0,
    log_dir: Path | None = None,
) -> FaultResult:
    """The whole run (see the module's docstring); raises StartError if the set-up does not
    start."""
    from sqlalchemy.engine import make_url

    plans = conversations(users, messages, seed, uuid.uuid4().hex[:6])
    server = make_url(POSTGRES_URL)
    with (
        private_redis() as redis_server,
        temporary_stores(POSTGRES_URL, redis_server.url) as stores,
        tempfile.TemporaryDirectory(prefix="ecrin-faults-") as scratch,
    ):
        proxy = FaultProxy(server.host or "127.0.0.1", server.port or 5432)
        env = {
            **stores,
            "DATABASE_URL": through(proxy, stores["DATABASE_URL"]),
            "TRACKER_STORE_URL": through(proxy, stores["TRACKER_STORE_URL"]),
        }
        injector = FaultInjector(
            total=users * messages,
            seconds=outage_seconds,
            plan=[
                (0.2, "PostgreSQL", proxy.down, proxy.up),
                (0.5, "Redis", redis_server.kill, redis_server.start),
            ],
        )
        logs = log_dir or Path(scratch)
        try:
            with running_scaled(ScaledPorts.free(), env=env, model=MODEL, log_dir=logs) as stack:
                url = f"{stack.url}/webhooks/rest/webhook"
                thread = threading.Thread(target=injector.run, daemon=True)
                thread.start()
                result = run_load(url, plans, users, on_reply=injector.count, pause=pause)
                injector.finish()
                thread.join()
                last = run_load(url, {user: [LAST_QUESTION] for user in plans}, users)
                # Numbered after the user's other messages, for the order check.
                last.replies = [dataclasses.replace(r, index=messages) for r in last.replies]
                crashed = sorted(
                    name for name, process in stack.processes.items() if process.poll() is not None
                )
                storage = compare_with_database(
                    stores["TRACKER_STORE_URL"], result.replies + last.replies
                )
        finally:
            proxy.down()
    return FaultResult(result.replies, last.replies, injector.outages, storage, crashed)


@dataclass
class Storage:
    """What the database holds, against what each user was told."""

    # Got a real answer, not stored: what must never happen.
    lost: list[Reply] = field(default_factory=list)
    # Got the apology, stored anyway (the user was asked to send it again, so it may come
    # twice): when a connection is cut after PostgreSQL committed but before the client heard
    # it, the client cannot know the outcome.
    stored_after_apology: list[Reply] = field(default_factory=list)
    # Stored in another order, with other replies, or never sent.
    problems: list[str] = field(default_factory=list)


def compare_with_database(tracker_url: str, replies: list[Reply]) -> Storage:
    """Walk each conversation as stored (in order) beside what its user sent and was told:
    each real answer must be the next stored turn, with the same replies; an apologised
    message may be stored, only where the stored turns outnumber the answers left."""
    result = Storage()
    users = sorted({reply.user for reply in replies})
    stored, _ = stored_turns(tracker_url, users)
    for user in users:
        sent = sorted((r for r in replies if r.user == user), key=lambda r: r.index)
        turns = stored.get(user, [])
        position = 0
        for number, reply in enumerate(sent):
            answered = APOLOGY not in reply.texts
            text = mask_personal_data(reply.message)
            here = turns[position] if position < len(turns) else None
            if not answered:
                answers_left = sum(APOLOGY not in r.texts for r in sent[number:])
                if here and here.user == text and len(turns) - position > answers_left:
                    result.stored_after_apology.append(reply)
                    position += 1
                continue
            if here is None or here.user != text:
                result.lost.append(reply)
                continue
            if here.bot != [mask_personal_data(t) for t in reply.texts]:
                result.problems.append(f"{user} #{reply.index}: stored {here.bot}")
            position += 1
        if position < len(turns):
            extra = [turn.user for turn in turns[position:]]
            result.problems.append(f"{user}: stored but not matched to what was sent: {extra}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per user")
    parser.add_argument("--outage", type=float, default=4.0, help="seconds each service is away")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here")
    args = parser.parse_args(argv)
    if args.users < 1 or args.messages < 4 or args.outage <= 0:
        parser.error("--users ≥ 1, --messages ≥ 4 and --outage > 0")
    if not MODEL.exists():
        print(f"{MODEL} is missing: `make train` builds it.", file=sys.stderr)
        return 2
    if args.keep_logs:
        args.keep_logs.mkdir(parents=True, exist_ok=True)
    print(f"Starting the scaled set-up; {args.users} users, {args.messages} messages each…")
    try:
        result = run_with_faults(
            args.users, args.messages, args.outage, args.seed, log_dir=args.keep_logs
        )
    except StartError as error:
        print(f"Could not start the scaled set-up: {error}", file=sys.stderr)
        return 1
    print(result.report(), flush=True)
    return 0 if all(check.ok for check in result.checks()) else 1


if __name__ == "__main__":
    sys.exit(main())
