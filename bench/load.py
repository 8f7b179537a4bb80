"""A small HTTP load generator for Rasa's REST webhook.

Each simulated user sends its messages one after another, waiting for each reply, as a person
in a chat does; at most `concurrency` users talk at the same time. Threads and urllib keep it
dependency-free and make the client side cheap next to what it measures (a Rasa server spends
tens of milliseconds per message; a thread blocked on a socket costs nothing), so it can run on
the same 2 cores as the server under test.

    from bench.load import run_load
    result = run_load("http://127.0.0.1:5005/webhooks/rest/webhook",
                      {"alice": ["hi", "what is a placebo"], "bob": ["hello"]}, concurrency=2)
    print(result.latency_ms(95), result.throughput, len(result.failures))
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass
class Reply:
    """One request and what came back. `status` is 0 when no HTTP answer arrived (timeout,
    refused connection); `error` then says why, as it does for non-200 answers and bodies
    that are not a JSON list."""

    user: str
    index: int
    message: str
    status: int
    seconds: float
    texts: list[str]
    error: str | None
    # When the request was sent, on `time.perf_counter()`'s clock (to place it in time).
    started: float = 0.0

    @property
    def failed(self) -> bool:
        """A user saw something wrong: an error, or silence (a 200 with no text)."""
        return self.status != 200 or self.error is not None or not self.texts


@dataclass
class LoadResult:
    """Every reply of one run (ordered by user, then by message) and the run's wall time."""

    replies: list[Reply]
    wall_seconds: float

    def latency_ms(self, percentile: float) -> float:
        """The `percentile` (0-100) of request latencies in milliseconds, interpolating
        linearly between the closest ranks (numpy's default). Failed requests count too, so a
        timeout shows up in the tail instead of vanishing from it; NaN when there were none."""
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be between 0 and 100, got {percentile}")
        return percentile_of([reply.seconds * 1000 for reply in self.replies], percentile)

    @property
    def throughput(self) -> float:
        """Replies per second of wall time (every reply, as the server had to handle each)."""
        return len(self.replies) / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def failures(self) -> list[Reply]:
        """Replies with a status other than 200, an error, or no text at all."""
        return [reply for reply in self.replies if reply.failed]


def percentile_of(values: list[float], percentile: float) -> float:
    """Linear interpolation between closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * percentile / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def send(url: str, user: str, index: int, message: str, timeout: float) -> Reply:
    """POST one message as Rasa's REST channel expects it and time the full round trip
    (connection, server work and reading the whole body)."""
    body = json.dumps({"sender": user, "message": message}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    status, texts, error = 0, [], None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
        texts, error = _texts(raw)
    except urllib.error.HTTPError as http_error:
        status = http_error.code
        error = f"HTTP {status}: {http_error.read()[:200].decode(errors='replace')}"
    except (OSError, ValueError) as failure:  # URLError, timeouts, resets, bad URLs
        error = f"{type(failure).__name__}: {failure}"
    return Reply(user, index, message, status, time.perf_counter() - started, texts, error, started)


def _texts(raw: bytes) -> tuple[list[str], str | None]:
    try:
        messages = json.loads(raw)
    except ValueError:
        return [], f"not JSON: {raw[:200].decode(errors='replace')}"
    if not isinstance(messages, list):
        return [], f"not a JSON list: {raw[:200].decode(errors='replace')}"
    return [m["text"] for m in messages if isinstance(m, dict) and m.get("text")], None


def run_load(
    url: str,
    conversations: dict[str, list[str]],
    concurrency: int,
    timeout: float = 60.0,
    on_reply: Callable[[Reply], None] | None = None,
    pause: float = 0.0,
) -> LoadResult:
    """Play every user's conversation against `url`, at most `concurrency` users at once.

    One worker thread per concurrent user: a worker takes the next waiting user and plays its
    whole conversation, so a user's messages go out in order and never overlap, and the
    number of requests in flight never exceeds `concurrency`. `on_reply` is called (from the
    worker threads) after each reply, e.g. to act when a share of the load is done; `pause`
    is how long a user waits between a reply and their next message (reading, typing).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")

    def converse(user: str, messages: list[str]) -> list[Reply]:
        replies = []
        for index, message in enumerate(messages):
            if index and pause:
                time.sleep(pause)
            replies.append(send(url, user, index, message, timeout))
            if on_reply is not None:
                on_reply(replies[-1])
        return replies

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load-user") as pool:
        futures = [pool.submit(converse, user, msgs) for user, msgs in conversations.items()]
        replies = [reply for future in futures for reply in future.result()]
    return LoadResult(replies, time.perf_counter() - started)
