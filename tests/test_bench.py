"""The benchmark's own parts: the load generator against a tiny local HTTP server, and the
report (ratios, targets met or missed). Nothing here starts Rasa, and nothing asserts on
timings: the numbers belong to `make bench`, these tests only check that they are counted
right."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest

from bench.compare import (
    BotRun,
    Target,
    conversations,
    edit_response,
    format_value,
    markdown_table,
    metrics,
    parse_levels,
    report,
)
from bench.load import LoadResult, Reply, run_load


@dataclass
class FakeRasa:
    """Answers like Rasa's REST channel, and records what it saw: the order of each user's
    messages and how many requests (in all, and per user) were in flight at once."""

    url: str = ""
    barrier: threading.Barrier | None = None
    seen: list[tuple[str, str]] = field(default_factory=list)
    active: Counter = field(default_factory=Counter)
    most_active: int = 0
    most_active_per_user: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    release_slow: threading.Event = field(default_factory=threading.Event)

    def handle(self, sender: str, message: str) -> tuple[int, bytes]:
        with self.lock:
            self.seen.append((sender, message))
            self.active[sender] += 1
            self.most_active = max(self.most_active, sum(self.active.values()))
            self.most_active_per_user = max(self.most_active_per_user, self.active[sender])
        try:
            if message == "together" and self.barrier:
                # Passes only when `parties` users are in flight at the same moment.
                self.barrier.wait(timeout=20)
            elif message == "slow":
                self.release_slow.wait(timeout=20)
            elif message != "fail":
                # Give other users' requests a chance to overlap with this one.
                threading.Event().wait(0.005)
        finally:
            with self.lock:
                self.active[sender] -= 1
        if message == "fail":
            return 500, b'{"error": "boom"}'
        if message == "empty":
            return 200, b"[]"
        if message == "not json":
            return 200, b"<html>oops</html>"
        body = [{"recipient_id": sender, "text": f"echo: {message}"}, {"image": "x.png"}]
        return 200, json.dumps(body).encode()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = fake.handle(request["sender"], request["message"])
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # Polled every 50 ms: shutdown() waits up to one poll interval (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/rest/webhook"
    yield fake
    fake.release_slow.set()
    server.shutdown()
    server.server_close()


def reply(seconds: float, status: int = 200, texts: tuple[str, ...] = ("ok",)) -> Reply:
    return Reply("u", 0, "hi", status, seconds, list(texts), None)


# --- LoadResult ---------------------------------------------------------------------------------


def test_percentiles_interpolate_between_closest_ranks() -> None:
    result = LoadResult([reply(ms / 1000) for ms in range(100, 0, -1)], wall_seconds=1)
    assert result.latency_ms(0) == pytest.approx(1)
    assert result.latency_ms(50) == pytest.approx(50.5)
    assert result.latency_ms(95) == pytest.approx(95.05)
    assert result.latency_ms(99) == pytest.approx(99.01)
    assert result.latency_ms(100) == pytest.approx(100)
    assert LoadResult([reply(0.25)], 1).latency_ms(99) == pytest.approx(250)


def test_no_replies_give_nan_and_bad_percentiles_are_refused() -> None:
    assert math.isnan(LoadResult([], 0).latency_ms(50))
    assert LoadResult([], 0).throughput == 0
    with pytest.raises(ValueError):
        LoadResult([reply(0.1)], 1).latency_ms(101)


def test_throughput_is_replies_per_wall_second_and_failures_are_listed() -> None:
    good = [reply(0.1) for _ in range(6)]
    bad = [reply(0.1, status=500), reply(0.1, texts=()), Reply("u", 1, "x", 0, 60, [], "timeout")]
    result = LoadResult(good + bad, wall_seconds=3)
    assert result.throughput == pytest.approx(3)
    assert result.failures == bad


# --- run_load against a local server ----------------------------------------------------------


def test_each_users_messages_arrive_in_order_and_never_overlap(fake_rasa: FakeRasa) -> None:
    plays = {f"user-{u}": [f"u{u} m{i}" for i in range(6)] for u in range(8)}
    result = run_load(fake_rasa.url, plays, concurrency=4)

    for user, messages in plays.items():
        assert [m for sender, m in fake_rasa.seen if sender == user] == messages
    assert fake_rasa.most_active_per_user == 1
    assert fake_rasa.most_active <= 4
    assert not result.failures
    assert [(r.user, r.index, r.message) for r in result.replies] == [
        (user, i, message) for user, messages in plays.items() for i, message in enumerate(messages)
    ]
    assert result.replies[0].texts == ["echo: u0 m0"]  # texts only: the image item is left out
    assert result.throughput > 0


def test_no_more_users_at_once_than_the_concurrency(fake_rasa: FakeRasa) -> None:
    run_load(fake_rasa.url, {f"user-{u}": ["a", "b", "c"] for u in range(10)}, concurrency=1)
    assert fake_rasa.most_active == 1


def test_the_concurrency_is_reached(fake_rasa: FakeRasa) -> None:
    # Three users must be in flight together for the server's barrier to let any through.
    fake_rasa.barrier = threading.Barrier(3)
    result = run_load(fake_rasa.url, {f"user-{u}": ["together"] for u in range(3)}, 3)
    assert not result.failures
    assert fake_rasa.most_active == 3


def test_errors_empty_replies_and_timeouts_are_failures(fake_rasa: FakeRasa) -> None:
    plays = {"a": ["fine", "fail", "empty"], "b": ["not json", "slow", "fine again"]}
    result = run_load(fake_rasa.url, plays, concurrency=2, timeout=0.5)
    by_message = {r.message: r for r in result.replies}

    assert {r.message for r in result.failures} == {"fail", "empty", "not json", "slow"}
    assert by_message["fail"].status == 500 and "boom" in by_message["fail"].error
    assert by_message["empty"].status == 200 and by_message["empty"].texts == []
    assert by_message["not json"].error.startswith("not JSON")
    assert by_message["slow"].status == 0 and "timed out" in by_message["slow"].error
    assert by_message["fine again"].texts == ["echo: fine again"]  # the user went on
    assert len(result.replies) == 6


def test_an_unreachable_server_is_a_failure_not_a_crash() -> None:
    from bot.serve import free_port

    result = run_load(f"http://127.0.0.1:{free_port()}/webhooks/rest/webhook", {"a": ["hi"]}, 1)
    assert result.failures[0].status == 0 and result.failures[0].error


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:1/", {"a": ["hi"]}, concurrency=0)


# --- the report ---------------------------------------------------------------------------------


def load(ms: float, count: int, wall: float, failed: int = 0) -> LoadResult:
    replies = [reply(ms / 1000) for _ in range(count - failed)]
    replies += [reply(ms / 1000, status=500) for _ in range(failed)]
    return LoadResult(replies, wall)


def test_targets_on_values_and_on_ratios() -> None:
    assert Target(1.5, relative=True).met(150.0, 100.0) is True
    assert Target(1.5, relative=True).met(151.0, 100.0) is False
    assert Target(1.0, relative=True, at_least=True).met(9.0, 10.0) is False
    assert Target(1.0, relative=True, at_least=True).met(10.0, 10.0) is True
    assert Target(40).met(39.0, None) is True
    assert Target(40).met(41.0, 5.0) is False
    assert Target(40).met(None, 5.0) is None
    assert Target(1.5, relative=True).met(1.0, None) is None
    assert Target(1.5, relative=True).met(1.0, 0.0) is None


def test_rows_ratios_and_verdicts() -> None:
    ours = BotRun("ours", training=280.0, retraining=75.0, cold_start=30.0)
    ours.loads = {1: load(90, 100, 9), 8: load(300, 200, 10), 32: load(900, 320, 16)}
    ours.rss = {"rasa": 1_400_000_000, "actions": 200_000_000}
    stock = BotRun("stock", training=100.0, retraining=20.0, cold_start=15.0)
    stock.loads = {1: load(40, 100, 4), 8: load(100, 200, 8), 32: load(400, 320, 12)}
    stock.rss = {"rasa": 700_000_000, "actions": "none"}
    rows = {row.name: row for row in metrics(ours, stock)}

    assert rows["latency p95, 1 user"].ratio == pytest.approx(90 / 40)
    assert rows["latency p95, 1 user"].verdict == "**MISSED**"  # 2.25x > 1.5x
    assert rows["latency p99, 8 users"].target is None
    assert rows["throughput, 8 users"].ratio == pytest.approx(20 / 25)
    assert rows["throughput, 8 users"].verdict == "**MISSED**"
    assert "throughput, 1 user" not in rows and "throughput, 32 users" in rows
    assert rows["peak RSS, Rasa server"].ours == pytest.approx(1400)
    assert rows["peak RSS, Rasa server"].verdict == "**MISSED**"
    assert rows["peak RSS, action server"].stock == "none"
    assert rows["peak RSS, action server"].ratio is None
    assert rows["cold start to first answer"].verdict == "yes"
    assert rows["full training"].verdict == "yes"
    assert rows["retraining after one answer changed"].verdict == "**MISSED**"
    assert rows["failed requests (all loads)"].verdict == "yes"

    table = markdown_table(list(rows.values()))
    assert "| latency p95, 1 user" in table and "2.25x" in table and "≤ 1.5x stock" in table
    assert "1400 MB" in table and "≤ 1300 MB" in table and "4 min 40 s" in table


def test_failures_and_unmeasured_values_show_up() -> None:
    ours = BotRun("ours", loads={1: load(90, 10, 1, failed=2)})
    rows = {row.name: row for row in metrics(ours, BotRun("stock"))}
    assert rows["failed requests (all loads)"].ours == 2
    assert rows["failed requests (all loads)"].verdict == "**MISSED**"
    assert rows["full training"].verdict == "not measured"
    assert rows["latency p95, 1 user"].verdict == "not measured"  # no stock bot to compare
    assert "not measured" in markdown_table(list(rows.values()))


def test_the_written_report_has_everything_the_issue_asks_for() -> None:
    ours = BotRun("ours", cold_start=30.0, loads={1: load(90, 10, 1)}, notes=["a note"])
    stock = BotRun("stock", cold_start=12.0, loads={1: load(40, 10, 1)})
    ours.commands.append("rasa train")
    text = report(ours, stock, {"load levels": "1: 10"}, {"cores (nproc)": "2"}, "0.1 0.1 0.1")
    for expected in ("## Results", "## Machine", "cores (nproc): 2", "commit:", "## Commands",
                     "`rasa train`", "load levels: 1: 10", "a note", "each bot answers its own",
                     "| ours | 1 | 1 | 10 |", "2.25x"):  # fmt: skip
        assert expected.lower() in text.lower(), expected


def test_values_are_formatted_for_people() -> None:
    assert format_value(None, "s") == "not measured"
    assert format_value("none", "MB") == "none"
    assert format_value(303.4, "s") == "5 min 03 s"
    assert format_value(31.04, "s") == "31.0 s"
    assert format_value(12.345, "msg/s") == "12.3 msg/s"
    assert format_value(92.6, "ms") == "93 ms"
    assert format_value(math.nan, "ms") == "n/a"


# --- the benchmark's inputs -------------------------------------------------------------------


def test_one_answer_is_edited_where_it_is_defined(tmp_path: Path) -> None:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "domain.yml").write_text(
        'responses:\n  utter_greet:\n  - text: "Hey! How are you?"\n'
        '  utter_goodbye:\n  - text: "Bye"\n'
    )
    faq = tmp_path / "data" / "nlu" / "faq.yml"
    faq.write_text(
        'responses:\n  utter_faq/a:\n  - text: "A."\n  utter_faq/b:\n  - text: "B."\n'
        "    buttons: []\n"
    )
    assert edit_response(tmp_path, "utter_greet") == tmp_path / "domain.yml"
    assert edit_response(tmp_path, "utter_faq/b") == faq
    assert '"Bye"' in (tmp_path / "domain.yml").read_text()
    assert '- text: "(Edited for the benchmark.) Hey!' in (tmp_path / "domain.yml").read_text()
    assert '"A."' in faq.read_text() and "(Edited for the benchmark.) B." in faq.read_text()
    with pytest.raises(LookupError):
        edit_response(tmp_path, "utter_missing")


def test_conversations_split_the_requests_into_turns_of_whole_scripts() -> None:
    scripts = [["a"], ["b1", "b2", "b3"]]
    plays = conversations(scripts, total=12, turns=5, prefix="x")
    assert [len(messages) for messages in plays.values()] == [5, 5, 2]
    assert list(plays) == ["x-0000", "x-0001", "x-0002"]
    for messages in plays.values():
        # b2 always follows b1, b3 follows b2 (a script may be cut only at the end).
        for before, after in pairwise(messages):
            assert (after == "b2") == (before == "b1")
            assert (after == "b3") == (before == "b2")
    assert plays == conversations(scripts, total=12, turns=5, prefix="x")  # repeatable


def test_load_levels_are_parsed() -> None:
    assert parse_levels("1:200,8:400") == [(1, 200), (8, 400)]
    for bad in ("8", "0:10", "a:b"):
        with pytest.raises(Exception, match="USERS:REQUESTS|positive"):
            parse_levels(bad)
