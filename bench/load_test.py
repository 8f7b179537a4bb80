"""Load test of the scaled set-up: do replicas lose, repeat or reorder messages under load?

Starts exactly what `make run-scaled` starts (bot.scaled.running_scaled: 2 Rasa servers and
2 action servers behind nginx, PostgreSQL, Redis) on temporary PostgreSQL databases made for
the run and dropped afterwards, and a Redis key prefix of its own. Then USERS simulated users
talk at once through nginx's REST webhook, MESSAGES messages each (a mix of FAQ, partner,
events and small-talk questions, each user waiting for every reply), and afterwards it checks
in PostgreSQL, in Rasa's `events` table, that

* every user message was stored exactly once, in the order sent, in its own conversation;
* every bot reply that the HTTP responses carried was stored exactly once, right after the
  message it answered, in order (and that stored order agrees with the timestamps);
* no request failed (HTTP 200, a non-empty reply, not the channel's apology);
* both Rasa replicas served requests (nginx's access log, which names the upstream).

    .venv/bin/python bench/load_test.py [--users 50] [--messages 20] [--concurrency USERS]
                                        [--seed 7] [--keep-logs DIR]

PostgreSQL: TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names the
server; Redis: --redis (default redis://127.0.0.1:6379/0). Exits 1 when a check fails.
tests/test_scale_out.py runs the same checks on a small load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import LoadResult, Reply, run_load
from bot.channels.rest import APOLOGY
from bot.masking import mask_personal_data
from bot.scaled import (
    ScaledPorts,
    ScaledStack,
    create_database_if_missing,
    drop_database,
    running_scaled,
)
from bot.settings import PROJECT_ROOT
from bot.supervisor import StartError

MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = "redis://127.0.0.1:6379/0"

# What users ask, by kind, with no personal data (the tracker store would mask it; the check
# masks the same way, but plain messages keep the comparison obvious).
MESSAGES: dict[str, list[str]] = {
    "faq": [
        "What is ECRIN?",
        "What is a placebo?",
        "What is a clinical trial?",
        "What is EUPATI?",
        "What is informed consent?",
        "Can I leave a clinical trial whenever I want?",
        "How do I find a clinical trial to join?",
        "What are the phases of a clinical trial?",
        "Is it safe to take part in a trial?",
        "Who pays for my travel to the study site?",
    ],
    "partners": [
        "Who is the ECRIN partner in France?",
        "Who is the ECRIN partner in Ireland?",
        "who is the ecrin partner in Spain",
        "I'm in Dublin, who can help me?",
        "Which organisation represents ECRIN in Italy?",
        "Is there a EUPATI national platform in Germany?",
    ],
    "events": [
        "When's the next clinical trials day?",
        "any webinars in May?",
        "show me past events",
        "trainings for researchers next month",
        "are there upcoming events?",
    ],
    "small_talk": [
        "hello",
        "hi there",
        "thanks!",
        "thank you so much",
        "good morning",
        "who are you?",
    ],
}
# How often each kind comes up in a conversation.
WEIGHTS = {"faq": 5, "partners": 3, "events": 2, "small_talk": 2}


def conversations(users: int, messages: int, seed: int, run_id: str) -> dict[str, list[str]]:
    """`users` conversations of `messages` messages, reproducible from `seed`: a greeting,
    then questions drawn by WEIGHTS, and thanks at the end."""
    kinds = list(WEIGHTS)
    plans: dict[str, list[str]] = {}
    for number in range(users):
        rng = random.Random(f"{seed}-{number}")
        plan = [rng.choice(["hello", "hi there", "good morning"])]
        while len(plan) < messages - 1:
            kind = rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
            plan.append(rng.choice(MESSAGES[kind]))
        plan.append(rng.choice(["thanks!", "thank you so much"]))
        plans[f"load-{run_id}-{number:03d}"] = plan[:messages]
    return plans


@contextmanager
def temporary_stores(
    postgres_url: str = POSTGRES_URL, redis_url: str = REDIS_URL
) -> Iterator[dict[str, str]]:
    """DATABASE_URL, TRACKER_STORE_URL and LOCK_STORE_URL for one run: two new PostgreSQL
    databases on `postgres_url`'s server, dropped afterwards, and a Redis key prefix of the
    run's own (its keys deleted afterwards), so runs never see each other's data."""
    import redis
    from sqlalchemy.engine import make_url

    tag = uuid.uuid4().hex[:10]
    server = make_url(postgres_url)
    urls = [
        server.set(database=f"ecrin_load_{tag}{suffix}").render_as_string(hide_password=False)
        for suffix in ("", "_tracker")
    ]
    prefix = f"load{tag}"
    try:
        for url in urls:
            create_database_if_missing(url)
        yield {
            "DATABASE_URL": urls[0],
            "TRACKER_STORE_URL": urls[1],
            "LOCK_STORE_URL": f"{redis_url}?key_prefix={prefix}",
        }
    finally:
        for url in urls:
            drop_database(url)
        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@dataclass
class Check:
    """One pass/fail line of the report."""

    name: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        return f"  [{'ok' if self.ok else 'FAILED'}] {self.name}" + (
            f": {self.detail}" if self.detail else ""
        )


@dataclass
class Turn:
    """A stored user message and the bot messages stored after it, before the next one."""

    user: str
    bot: list[str]


def stored_turns(
    tracker_url: str, senders: Iterable[str]
) -> tuple[dict[str, list[Turn]], list[str]]:
    """Each sender's turns as Rasa stored them (in insertion order, `events.id`), and the
    senders whose user and bot events are not in timestamp order, which is the order Rasa
    reads them back in."""
    import sqlalchemy as sa

    query = sa.text(
        "SELECT sender_id, type_name, timestamp, data FROM events "
        "WHERE sender_id IN :senders AND type_name IN ('user', 'bot') ORDER BY id"
    ).bindparams(sa.bindparam("senders", expanding=True))
    engine = sa.create_engine(tracker_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query, {"senders": list(senders)}).all()
    finally:
        engine.dispose()
    turns: dict[str, list[Turn]] = defaultdict(list)
    last_time: dict[str, float] = {}
    out_of_time_order: set[str] = set()
    for sender, kind, timestamp, data in rows:
        if timestamp < last_time.get(sender, float("-inf")):
            out_of_time_order.add(sender)
        last_time[sender] = timestamp
        text = json.loads(data).get("text")
        if kind == "user":
            turns[sender].append(Turn(text, []))
        elif text and turns[sender]:
            turns[sender][-1].bot.append(text)
        elif text:  # a bot message before any user message: not an answer to anyone
            turns[sender].append(Turn("", [text]))
    return turns, sorted(out_of_time_order)


def _expected(reply: Reply) -> Turn:
    """What the tracker store must hold for one request: both sides masked as it masks them."""
    return Turn(mask_personal_data(reply.message), [mask_personal_data(t) for t in reply.texts])


def _sample(problems: list[str], limit: int = 3) -> str:
    shown = "; ".join(problems[:limit])
    return shown + (f"; … {len(problems) - limit} more" if len(problems) > limit else "")


def check_tracker_store(
    tracker_url: str, replies: list[Reply], ordered: bool = True
) -> list[Check]:
    """Compare what the HTTP responses said with what PostgreSQL holds, per conversation.

    `ordered`: each user sent its messages one after another, so the stored user messages
    must be exactly the sent ones in the sent order. Otherwise (messages for one user sent
    at the same time) the order is up to the server, but each must still be stored exactly
    once and directly followed by the replies that its response carried.
    """
    by_user: dict[str, list[Reply]] = defaultdict(list)
    for reply in sorted(replies, key=lambda r: (r.user, r.index)):
        by_user[reply.user].append(reply)
    stored, out_of_time_order = stored_turns(tracker_url, by_user)
    message_problems: list[str] = []
    reply_problems: list[str] = []
    for user, sent in by_user.items():
        expected = [_expected(reply) for reply in sent]
        turns = stored.get(user, [])
        stored_users = [turn.user for turn in turns]
        wanted_users = [turn.user for turn in expected]
        same = (
            stored_users == wanted_users
            if ordered
            else Counter(stored_users) == Counter(wanted_users)
        )
        if not same:
            message_problems.append(f"{user}: stored {stored_users}, sent {wanted_users}")
            continue
        if ordered:
            pairs = zip(turns, expected, strict=True)
        else:  # unordered messages are told apart by their text (send distinct ones)
            answers = {turn.user: turn for turn in expected}
            pairs = ((turn, answers[turn.user]) for turn in turns)
        for turn, wanted in pairs:
            if turn.bot != wanted.bot:
                reply_problems.append(
                    f"{user}, after {turn.user!r}: stored {turn.bot}, answered {wanted.bot}"
                )
    senders = len(by_user)
    how = "in the order sent" if ordered else "in some order"
    return [
        Check(
            f"user messages stored exactly once, {how} ({len(replies)} in {senders} conversations)",
            not message_problems,
            _sample(message_problems),
        ),
        Check(
            "bot replies stored exactly once, right after their message, in order",
            not reply_problems,
            _sample(reply_problems),
        ),
        Check(
            "stored order agrees with the timestamps",
            not out_of_time_order,
            _sample(out_of_time_order),
        ),
    ]


def check_requests(replies: list[Reply]) -> Check:
    """No request failed: HTTP 200 with some text, and not the channel's apology (which it
    sends when the assistant produced nothing, e.g. an unreachable action server)."""
    failed = [r for r in replies if r.failed or APOLOGY in r.texts]
    problems = [
        f"{r.user} #{r.index} {r.message!r}: {r.error or r.texts or 'no text'}" for r in failed
    ]
    return Check(
        f"no request failed ({len(failed)} of {len(replies)} did)", not failed, _sample(problems)
    )


def check_replicas(stack: ScaledStack) -> Check:
    """Every Rasa replica served some of the webhook requests."""
    served = stack.requests_per_replica()
    replicas = [f"127.0.0.1:{port}" for port in stack.ports.rasa]
    counts = ", ".join(f"{replica}: {served.get(replica, 0)}" for replica in replicas)
    return Check(
        f"all {len(replicas)} Rasa replicas served requests",
        all(served.get(r) for r in replicas),
        counts,
    )


def report(result: LoadResult, stack: ScaledStack, checks: list[Check]) -> str:
    """The numbers and the checks, for a terminal."""
    actions = stack.requests_per_replica("/webhook", "actions-access.log")
    lines = [
        f"requests        {len(result.replies)} ({len(result.failures)} failed)",
        f"wall time       {result.wall_seconds:.1f} s",
        f"throughput      {result.throughput:.1f} replies/s",
        "latency         "
        + ", ".join(f"p{p} {result.latency_ms(p):.0f} ms" for p in (50, 95, 99))
        + f", max {max((r.seconds for r in result.replies), default=0) * 1000:.0f} ms",
        "Rasa replicas   "
        + ", ".join(f"{k}: {v}" for k, v in sorted(stack.requests_per_replica().items())),
        "action servers  " + (", ".join(f"{k}: {v}" for k, v in sorted(actions.items())) or "-"),
        "checks",
        *map(str, checks),
    ]
    return "\n".join(lines)


def _print_log_tails(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace")[-2000:]
        print(f"\n--- {log.name} (last 2000 characters) ---\n{tail}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per user")
    parser.add_argument("--concurrency", type=int, help="users at once (default: all)")
    parser.add_argument("--seed", type=int, default=7, help="which messages each user sends")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis server for the lock store")
    parser.add_argument("--keep-logs", type=Path, help="copy the processes' logs here")
    args = parser.parse_args(argv)
    if args.users < 1 or args.messages < 1:
        parser.error("--users and --messages must be at least 1")
    if not MODEL.exists():
        print(f"{MODEL} is missing: `make train` builds it.", file=sys.stderr)
        return 2
    plans = conversations(args.users, args.messages, args.seed, uuid.uuid4().hex[:6])
    with tempfile.TemporaryDirectory(prefix="ecrin-load-") as scratch:
        logs = Path(scratch)
        try:
            with temporary_stores(redis_url=args.redis) as stores:
                print("Starting 2 Rasa servers, 2 action servers and nginx…", flush=True)
                with running_scaled(
                    ScaledPorts.free(), env=stores, model=MODEL, log_dir=logs
                ) as stack:
                    total = args.users * args.messages
                    print(f"Sending {total} messages from {args.users} users…", flush=True)
                    result = run_load(
                        f"{stack.url}/webhooks/rest/webhook", plans, args.concurrency or args.users
                    )
                    checks = [check_requests(result.replies), check_replicas(stack)]
                    checks += check_tracker_store(stores["TRACKER_STORE_URL"], result.replies)
                    print(report(result, stack, checks), flush=True)
        except StartError as error:
            print(f"Could not start the scaled set-up: {error}", file=sys.stderr)
            _print_log_tails(logs)
            return 1
        finally:
            if args.keep_logs:
                shutil.copytree(logs, args.keep_logs, dirs_exist_ok=True)
        if not all(check.ok for check in checks):
            _print_log_tails(logs)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
