"""How fast is the review inbox on a big tracker store?

Generates ~100,000 events (~5,000 conversations) shaped exactly as Rasa stores them (Rasa's
own event classes, serialised and masked as our tracker store does), in a temporary SQLite
database and — when reachable — a temporary PostgreSQL database, then times inbox pages
through the real app (Starlette's TestClient, logged in), printing p50/p95 per page.

    .venv/bin/python bench/review_inbox.py [--events 100000] [--requests 20] [--no-postgres]
                                           [--without-indexes]

PostgreSQL: TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test, trust
auth); a database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    SessionStarted,
    UserUttered,
)
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from bot.masking import mask_event
from bot.review.accounts import add_staff
from bot.review.app import create_app
from bot.review.config import ReviewSettings
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import EVENT_INDEXES, events

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PAGES = {
    "first page": "/",
    "search 'placebo'": "/?q=placebo",
    "filter: fell back": "/?fallback=1",
    "filter: telegram + low confidence": "/?channel=telegram&low_confidence=1",
    "filter: stuck": "/?stuck=1",
    "filter: rated not helpful": "/?rating=not_helpful",
    "page 50": "/?page=50",
}
INTENTS = [
    # (intent, response key, share, confidence range, what people typed)
    ("faq_trials", "faq_trials/placebo", 12, (0.55, 1.0), "What is a placebo? is it a fake pill"),
    ("faq_trials", "faq_trials/costs", 8, (0.5, 1.0), "does it cost anything to take part"),
    ("faq_ecrin", "faq_ecrin/what_is_ecrin", 10, (0.6, 1.0), "what is ECRIN exactly"),
    ("faq_eupati", "faq_eupati/toolbox", 6, (0.5, 1.0), "where is the eupati toolbox"),
    ("faq_ppi", "faq_ppi/what_is_ppi", 5, (0.5, 1.0), "what does patient involvement mean"),
    ("ask_partner", None, 10, (0.7, 1.0), "who is the partner in France?"),
    ("ask_events", None, 7, (0.7, 1.0), "any webinars next month?"),
    ("greet", None, 14, (0.9, 1.0), "hello there"),
    ("thank", None, 8, (0.9, 1.0), "thanks a lot"),
    ("plan_involvement", None, 4, (0.6, 1.0), "how do I involve patients in my study"),
    ("handoff", None, 3, (0.7, 1.0), "can I talk to a real person"),
    ("nlu_fallback", None, 8, (0.45, 0.45), "zzqx blorf wibble asdf"),
    ("trial_treatment", None, 3, (1.0, 1.0), "can I take ibuprofen with my study drug"),
    ("feedback_negative", None, 2, (0.6, 1.0), "that's not what I asked"),
]
# After an answer, how often people click 👍 / 👎 (and which).
RATED_SHARE = 0.15
HELPFUL_SHARE = 0.7
THANKS = {
    "feedback_positive": "Thank you, I'm glad it helped!",
    "feedback_negative": "Sorry about that. Could you tell me what you were looking for?",
}
ANSWER = (
    "A placebo is a dummy treatment that looks like the real one but has no active "
    "ingredient. Comparing the two shows whether the treatment itself works. "
    "Learn more: https://www.ecrin.org/clinical-research/placebo"
)


def _parse_data(random_: random.Random, intent: str, key: str | None, confidence: float) -> dict:
    names = [name for name, *_ in INTENTS]
    ranking = [{"name": intent, "confidence": confidence}] + [
        {"name": name, "confidence": random_.random() * (1 - confidence) / 3}
        for name in random_.sample(names, 9)
    ]
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "intent_ranking": ranking,
        "response_selector": {
            "all_retrieval_intents": ["faq_trials", "faq_ppi", "faq_eupati", "faq_ecrin"],
            "default": {
                "response": {
                    "responses": [{"text": ANSWER}],
                    "confidence": random_.random(),
                    "intent_response_key": key or "faq_trials/after_trial",
                    "utter_action": f"utter_{key or 'faq_trials/after_trial'}",
                },
                "ranking": [
                    {"confidence": random_.random() / 5, "intent_response_key": f"faq_trials/k{i}"}
                    for i in range(10)
                ],
            },
        },
    }


def _answer(intent: str, key: str | None) -> str:
    """The same answer for the same question (so asking twice in a row repeats it, as the
    assistant would), a different one for another."""
    return f"{ANSWER} ({key or intent})"


def conversation(random_: random.Random, sender: str, start: float, turns: int) -> list[Event]:
    channel = random_.choices(["web", "telegram", "rest"], weights=[60, 25, 15])[0]
    metadata = {"model_id": "c342558c13714ca083f259b5c79c578b", "assistant_id": "ecrin"}
    found: list[Event] = [
        ActionExecuted("action_session_start", timestamp=start, metadata=metadata),
        SessionStarted(timestamp=start, metadata=metadata),
        ActionExecuted("action_listen", timestamp=start, metadata=metadata),
    ]
    weights = [share for _, _, share, _, _ in INTENTS]
    at = start
    for _ in range(turns):
        at += random_.uniform(5, 120)
        intent, key, _, (low, high), text = random_.choices(INTENTS, weights=weights)[0]
        confidence = random_.uniform(low, high)
        found += [
            UserUttered(
                f"{text} #{random_.randint(1, 9999)}",
                intent={"name": intent, "confidence": confidence},
                parse_data=_parse_data(random_, intent, key, confidence),
                input_channel=channel,
                timestamp=at,
                metadata=metadata,
            ),
            DefinePrevUserUtteredFeaturization(False, timestamp=at, metadata=metadata),
            ActionExecuted(
                "action_two_stage_fallback" if intent == "nlu_fallback" else f"utter_{intent}",
                policy="RulePolicy",
                confidence=1.0,
                timestamp=at + 0.01,
                metadata=metadata,
            ),
            BotUttered(
                _answer(intent, key),
                data={"buttons": None},
                timestamp=at + 0.02,
                metadata=metadata,
            ),
            ActionExecuted("action_listen", timestamp=at + 0.03, metadata=metadata),
        ]
        if random_.random() < RATED_SHARE:  # a click on 👍 / 👎 under the answer
            at += random_.uniform(2, 30)
            rating = (
                "feedback_positive" if random_.random() < HELPFUL_SHARE else "feedback_negative"
            )
            found += [
                UserUttered(
                    f"/{rating}",
                    intent={"name": rating, "confidence": 1.0},
                    parse_data={
                        "intent": {"name": rating, "confidence": 1.0},
                        "entities": [],
                        "intent_ranking": [{"name": rating, "confidence": 1.0}],
                        "text": f"/{rating}",
                    },
                    input_channel=channel,
                    timestamp=at,
                    metadata=metadata,
                ),
                ActionExecuted(
                    f"utter_{rating}", policy="RulePolicy", timestamp=at + 0.01, metadata=metadata
                ),
                BotUttered(
                    THANKS[rating], data={"buttons": None}, timestamp=at + 0.02, metadata=metadata
                ),
                ActionExecuted("action_listen", timestamp=at + 0.03, metadata=metadata),
            ]
    return found


def generate(url: str, total_events: int, seed: int = 42) -> tuple[int, int]:
    """Fill `url`'s events table with at least `total_events` events, in whole
    conversations spread over the last 180 days; returns (conversations, events)."""
    random_ = random.Random(seed)
    engine = get_engine(url)
    now = time.time()
    rows: list[dict] = []
    conversations = inserted = 0
    with engine.begin() as connection:
        while inserted + len(rows) < total_events:
            sender = str(uuid.UUID(int=random_.getrandbits(128)))  # as the web chat's ids
            start = now - random_.uniform(0, 180 * 86_400)
            for event in conversation(random_, sender, start, random_.randint(1, 6)):
                data = mask_event(event.as_dict())  # as bot.rasa_ext.tracker_store stores it
                rows.append(
                    {
                        "sender_id": sender,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            conversations += 1
            if len(rows) >= 5_000:
                connection.execute(events.insert(), rows)
                inserted, rows = inserted + len(rows), []
        if rows:
            connection.execute(events.insert(), rows)
            inserted += len(rows)
    return conversations, inserted


def _drop_indexes(url: str) -> None:
    with get_engine(url).begin() as connection:
        for name in EVENT_INDEXES:
            connection.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))


def _analyse(url: str) -> None:
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def time_pages(url: str, requests: int) -> dict[str, tuple[float, float, int]]:
    engine = get_engine(url)
    add_staff(engine, "bench", "bench password 1", "admin")
    settings = ReviewSettings(database_url=url, secret_key="b" * 48)
    client = TestClient(create_app(settings))
    login = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    reply = client.post(
        "/login",
        data={"username": "bench", "password": "bench password 1", "csrf_token": token},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    started = time.perf_counter()
    client.get("/")  # the first page ever also copies every user message into review_messages
    results = {"first request (initial sync)": ((time.perf_counter() - started) * 1000, 0.0, -1)}
    for name, path in PAGES.items():
        for _ in range(2):  # warm caches, as a page in use would have them
            client.get(path)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            reply = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert reply.status_code == 200, reply.text[:500]
        match = re.search(r"([\d,]+) conversations?", reply.text)
        found = int(match.group(1).replace(",", "")) if match else -1
        timings.sort()
        p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
        results[name] = (statistics.median(timings), p95, found)
    return results


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="review-bench-") as directory:
        url = f"sqlite:///{Path(directory) / 'tracker.db'}"
        yield url
        get_engine(url).dispose()


@contextmanager
def postgres_database() -> Iterator[str | None]:
    admin = sa.create_engine(POSTGRES_URL, future=True, isolation_level="AUTOCOMMIT")
    name = f"review_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL not reachable at {POSTGRES_URL}: skipped ({error.orig})".strip())
        yield None
        return
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(label: str, url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    upgrade(url)
    conversations, stored = generate(url, args.events)
    if args.without_indexes:
        _drop_indexes(url)
    _analyse(url)
    print(
        f"\n{label}: {stored:,} events in {conversations:,} conversations "
        f"(generated in {time.perf_counter() - started:.0f} s)"
        + (", WITHOUT the review indexes" if args.without_indexes else "")
    )
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'matches':>8}")
    for name, (p50, p95, found) in time_pages(url, args.requests).items():
        if found < 0:
            print(f"{name:<36} {p50:>8.0f}  (once)")
        else:
            print(f"{name:<36} {p50:>8.0f} {p95:>8.0f} {found:>8,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--without-indexes", action="store_true", help="drop our indexes, for comparison"
    )
    args = parser.parse_args()
    with sqlite_database() as url:
        run("SQLite", url, args)
    if not args.no_postgres:
        with postgres_database() as url:
            if url:
                run("PostgreSQL", url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
