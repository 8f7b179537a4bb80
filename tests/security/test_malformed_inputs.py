"""Malformed requests on every public endpoint: a 4xx with a reason, never a 500, and the
server still answers a good request afterwards.

Hypothesis generates the bodies, headers and query strings: FUZZ_EXAMPLES per endpoint (500
in `make test`, 10,000 in `make fuzz`). The Rasa channels run on a Sanic app as Rasa mounts
them (in process, through ASGI), the review app is the real Starlette app on a seeded SQLite
database. A last group of tests talks raw HTTP to Sanic's own server, to show that a body
over the limit is refused from its Content-Length before it is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.rest import MAX_BODY_BYTES, MAX_JSON_DEPTH, BadRequest, parse_body
from tests.telegram_fake import TOKEN, FakeBotApi, message_update

# `make fuzz` sets HYPOTHESIS_PROFILE=fuzz (as for tests/security/test_masking_properties.py).
FUZZ_EXAMPLES = int(
    os.environ.get("FUZZ_EXAMPLES")
    or (10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 500)
)
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=list(HealthCheck),
)
TRIED: Counter[str] = Counter()  # requests sent per endpoint, reported at the end

SECRET = "fuzz-webhook-secret"
JSON = {"Content-Type": "application/json"}
GOOD_MESSAGE = {"sender": "fuzz-good-sender", "message": "hello"}


# --- What is generated -------------------------------------------------------------------------

# Text with what breaks naive code: NUL and other control characters, lone surrogates,
# right-to-left marks, byte-order marks, very long runs.
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e", "\ufeff", "\r\n", " "]),
    st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=20),
    st.integers(1, 5_000).map(lambda n: "x" * n),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**300), 10**300),
    st.floats(),  # NaN and infinities become JSON-ish NaN / Infinity
    odd_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)
message_objects = st.fixed_dictionaries(
    {},
    optional={
        "sender": json_values,
        "message": json_values,
        "metadata": json_values,
        "update_id": json_values,
    },
) | st.fixed_dictionaries(  # well-formed but for one field
    {"sender": st.text(min_size=1, max_size=140) | json_values, "message": odd_text}
)


def _dumps(value: Any, ascii_only: bool) -> bytes:
    # Lone surrogates in non-ASCII output become bytes that are not UTF-8: a case of its own.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(MAX_JSON_DEPTH + 1, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"sender":', "}")]))
    closed = draw(st.booleans())
    return (opener * depth + "1" + (closer * depth if closed else "")).encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A good body with a byte changed, inserted or cut off."""
    body = bytearray(_dumps(GOOD_MESSAGE, True))
    position = draw(st.integers(0, len(body) - 1))
    action = draw(st.sampled_from(["set", "insert", "cut"]))
    byte = draw(st.integers(0, 255))
    if action == "set":
        body[position] = byte
    elif action == "insert":
        body.insert(position, byte)
    else:
        del body[position:]
    return bytes(body)


huge = st.integers(MAX_BODY_BYTES + 1, 3 * MAX_BODY_BYTES).map(
    lambda n: b'{"sender": "a", "message": "' + b"x" * n + b'"}'
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(_dumps, message_objects, st.booleans()),
    st.builds(_dumps, json_values, st.booleans()),  # often not an object
    nested(),
    mutated(),
    huge,
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\x00",
            b"{}",
            b"null",
            b'{"sender": "a", "message": NaN}',
            b'{"sender": "a", "message": "hi", "metadata": {"x": Infinity}}',
            b'{"sender": ' + b"9" * 5_000 + b', "message": "hi"}',
            b'{"sender": "a", "message": "hi"}\x00',
            b'\xef\xbb\xbf{"sender": "a", "message": "hi"}',  # a UTF-8 byte-order mark
            b'{"sender": "a", "message": "\xed\xa0\x80"}',  # an encoded surrogate
            b'{"sender": "a", "sender": "b", "message": "hi"}',
        ]
    ),
    st.just(_dumps(GOOD_MESSAGE, True)),  # valid: 200
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json; charset=latin-1",
            "application/json;charset=",
            "text/plain",
            "text/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "application/jsonp",
            ";",
            "",
        ]
    ),
    header_text,
    st.none(),
)


@st.composite
def request_headers(draw: st.DrawFn) -> dict[str, str]:
    headers = {}
    content_type = draw(content_types)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["Content-Encoding", "X-Forwarded-For", "Forwarded"]))] = draw(
            header_text
        )
    return headers


@st.composite
def query_strings(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    """A query string: known and unknown names, odd values, repeats, raw bytes."""
    raw = draw(st.booleans())
    if raw:  # anything, percent-encoded as a browser would send it
        return quote(draw(st.text(max_size=80)), safe="=&;%+")
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(names) | st.text(max_size=10),
                odd_text
                | st.integers(-(10**30), 10**30).map(str)
                | st.floats().map(str)
                | st.sampled_from(["", "%FF", "1e3", "0x1F", "\uff17", "7 ", " 30"]),
            ),
            max_size=5,
        )
    )
    return urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs])


# --- Checks ------------------------------------------------------------------------------------


def assert_refused_or_answered(reply, valid: bool | None = None) -> None:
    """A 4xx with a reason, or a 2xx/3xx; never a 5xx."""
    status = reply.status_code
    assert status < 500, f"{status}: {reply.text[:500]}"
    if 400 <= status < 500 and reply.headers.get("content-type", "").startswith("application/json"):
        reason = reply.json().get("error")
        assert isinstance(reason, str) and reason, reply.text[:300]
    if valid is not None and status != 429:
        assert (status == 200) == valid, f"{status} for a {'valid' if valid else 'bad'} body"


def is_valid_message(body: bytes, headers: dict[str, str]) -> bool:
    media, *parameters = headers.get("Content-Type", "").split(";")
    if media.strip().lower() != "application/json":
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    try:
        parse_body(body)
    except BadRequest:
        return False
    return True


# --- The Rasa channels, in process -------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not TRIED:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(f"malformed-input fuzzing ({FUZZ_EXAMPLES} examples each):")
        for endpoint, count in sorted(TRIED.items()):
            reporter.write_line(f"  {count:>7,} tried  {endpoint}")
        reporter.write_line(f"  {sum(TRIED.values()):>7,} in all")


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Rate limits out of the way (tests/security/test_rate_limits.py has them), the tracker
    store a seeded SQLite database, a local fake of Telegram's Bot API."""
    from bot import ratelimit
    from tests.conftest import seed_database
    from tests.review.conftest import seed

    directory = tmp_path_factory.mktemp("fuzz")
    url = seed(f"sqlite:///{directory / 'tracker.db'}")
    partners = seed_database(f"sqlite:///{directory / 'ecrin.db'}")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("RATE_LIMIT_PER_SENDER", "RATE_LIMIT_PER_ADDRESS"):
            patch.setenv(name, "1000000000")
        for name in ("LOCK_STORE_URL", "RATE_LIMIT_REDIS_URL", "TRUSTED_PROXIES"):
            patch.delenv(name, raising=False)
        patch.setenv("TRACKER_STORE_URL", url)
        patch.setenv("DATABASE_URL", partners)
        patch.setattr(ratelimit, "_shared", {})
        yield url


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    yield server
    server.stop()


def channels_app(bot_api_url: str):
    """REST, web and Telegram channels on one Sanic app, as Rasa's server mounts them."""
    from rasa.core.channels.channel import register
    from rasa.core.lock_store import InMemoryLockStore
    from sanic import Sanic

    from bot.channels.rest import RestInput
    from bot.channels.telegram import TelegramInput
    from bot.channels.web import WebChatInput
    from tests.test_rest_channel import ScriptedAgent

    Sanic.test_mode = True
    app = Sanic(f"fuzz_{uuid.uuid4().hex[:8]}")
    agent = ScriptedAgent([("Hello!", None)])
    agent.lock_store = InMemoryLockStore()
    app.ctx.agent = agent
    telegram = TelegramInput(TOKEN, SECRET, bot_api_url, "fuzz-pseudonym-key")
    register([RestInput(), WebChatInput(), telegram], app, route="/webhooks/")
    return app


@pytest.fixture(scope="module")
def channels(environment: str, bot_api: FakeBotApi, tmp_path_factory) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from tests.test_plan_page import use_small_guidance

    with pytest.MonkeyPatch.context() as patch:
        use_small_guidance(tmp_path_factory.mktemp("guidance"), patch)
        with TestClient(channels_app(bot_api.url)) as client:
            yield client


def still_answers(client) -> None:
    reply = client.post("/webhooks/rest/webhook", json=GOOD_MESSAGE)
    assert reply.status_code == 200 and reply.json()[0]["text"] == "Hello!"


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webhooks/web/webhook"])
def test_message_webhooks(channels, path: str) -> None:
    @FUZZ
    @given(body=bodies, headers=request_headers())
    def fuzz(body: bytes, headers: dict[str, str]) -> None:
        TRIED[f"POST {path}"] += 1
        reply = channels.post(path, content=body, headers=headers)
        assert_refused_or_answered(reply, valid=is_valid_message(body, headers))

    fuzz()
    still_answers(channels)


def test_forget(channels) -> None:
    @FUZZ
    @given(body=bodies, headers=request_headers())
    def fuzz(body: bytes, headers: dict[str, str]) -> None:
        TRIED["POST /webhooks/web/forget"] += 1
        assert_refused_or_answered(
            channels.post("/webhooks/web/forget", content=body, headers=headers)
        )

    fuzz()
    reply = channels.post("/webhooks/web/forget", json={"sender": "nobody-here"})
    assert reply.status_code == 200 and reply.json()["erased_events"] == 0
    still_answers(channels)


@pytest.mark.parametrize(
    ("path", "names", "good"),
    [
        ("/webhooks/web/history", ("sender",), "sender=x"),
        (
            "/webhooks/web/plan",
            ("stage", "kind", "population", "country", "help", "made"),
            "stage=design",
        ),
    ],
)
def test_web_pages_with_odd_query_strings(
    channels, path: str, names: tuple[str, ...], good: str
) -> None:
    @FUZZ
    @given(query=query_strings(names))
    def fuzz(query: str) -> None:
        TRIED[f"GET {path}"] += 1
        assert_refused_or_answered(channels.get(f"{path}?{query}"))

    fuzz()
    assert channels.get(f"{path}?{good}").status_code == 200
    still_answers(channels)


@st.composite
def telegram_updates(draw: st.DrawFn) -> bytes:
    """Updates shaped like Telegram's, with some field of the wrong type or value."""
    update = message_update(
        draw(st.none() | st.text(max_size=30)), chat_id=draw(st.integers(1, 99))
    )
    update["update_id"] = draw(st.integers(1, 10**9))
    place = draw(st.sampled_from(["update", "message", "chat", "from"]))
    target = {
        "update": update,
        "message": update["message"],
        "chat": update["message"]["chat"],
        "from": update["message"]["from"],
    }[place]
    key = draw(st.sampled_from([*target, "text", "caption", "callback_query", "date"]))
    if draw(st.booleans()):
        target[key] = draw(json_values)
    else:
        target.pop(key, None)
    return _dumps(update, draw(st.booleans()))


def test_telegram_webhook(channels, bot_api: FakeBotApi) -> None:
    path = "/webhooks/telegram/webhook"

    @FUZZ
    @given(
        body=bodies | telegram_updates(),
        headers=request_headers(),
        secret=st.sampled_from([SECRET] * 8 + ["", "wrong", SECRET + " "]),
    )
    def fuzz(body: bytes, headers: dict[str, str], secret: str) -> None:
        TRIED[f"POST {path}"] += 1
        headers = {**headers, "X-Telegram-Bot-Api-Secret-Token": secret}
        reply = channels.post(path, content=body, headers=headers)
        assert_refused_or_answered(reply)
        if secret != SECRET:
            assert reply.status_code == 403

    fuzz()
    bot_api.clear()
    good = channels.post(path, json=message_update("hello", chat_id=5), headers=_secret())
    assert good.status_code == 200 and bot_api.sent()[-1]["text"] == "Hello!"


def _secret() -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": SECRET}


# Examples worth keeping whatever Hypothesis draws: each a 4xx with this reason.
@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"[" * 100_000, JSON, 413, "larger than"),
        (b"[" * 5_000, JSON, 400, f"deeper than {MAX_JSON_DEPTH}"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, JSON, 400, "deeper than"),
        (b'{"sender": "a", "message": NaN}', JSON, 400, "NaN"),
        (b'{"sender": ' + b"9" * 5_000 + b', "message": "hi"}', JSON, 400, "not valid JSON"),
        (b'{"sender": "a\\u0000", "message": "hi"}', JSON, 400, "control characters"),
        (b'{"sender": "a", "message": "hi\\u0000"}', JSON, 400, "NUL"),
        (b'{"sender": "a", "message": "\\ud800"}', JSON, 400, "surrogate"),
        (b'{"sender": "a", "message": "\xed\xa0\x80"}', JSON, 400, "UTF-8"),
        (b'{"sender": "a", "message": "hi", "metadata": {"k": "\\u0000"}}', JSON, 400, "NUL"),
        (b"", JSON, 400, "empty"),
        (b'{"sender": "a", "message": "hi"}', {}, 415, "Content-Type must be"),
        (b'{"sender": "a", "message": "hi"}', {"Content-Type": "text/plain"}, 415, "text/plain"),
        (
            b'{"sender": "a", "message": "hi"}',
            {"Content-Type": "application/json; charset=latin-1"},
            415,
            "UTF-8",
        ),
    ],
)
def test_known_bad_bodies(channels, body: bytes, headers, status: int, reason: str) -> None:
    for path in ("/webhooks/rest/webhook", "/webhooks/web/webhook", "/webhooks/web/forget"):
        reply = channels.post(path, content=body, headers=headers)
        if path.endswith("forget") and b"message" in body and status == 400 and reason != "UTF-8":
            continue  # forget reads only "sender"
        assert reply.status_code == status, (path, reply.text)
        assert reason in reply.json()["error"], (path, reply.text)
    telegram = channels.post(
        "/webhooks/telegram/webhook", content=body, headers={**headers, **_secret()}
    )
    assert 400 <= telegram.status_code < 500


def test_telegram_fields_of_the_wrong_type_are_a_400(channels, bot_api: FakeBotApi) -> None:
    bot_api.clear()
    cases = []
    update = message_update("hello")
    update["message"]["text"] = 42
    cases.append(update)
    update = message_update("hello")
    update["message"]["chat"]["id"] = "forty-two"
    cases.append(update)
    update = message_update("hello")
    update["message"]["date"] = 10**30
    cases.append(update)
    cases.append({"update_id": "1", "message": {}})
    cases.append({"update_id": True})
    for case in cases:
        reply = channels.post("/webhooks/telegram/webhook", json=case, headers=_secret())
        assert reply.status_code == 400 and "not a Telegram update" in reply.json()["error"]
    assert bot_api.calls == []


# --- The review app ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def review(environment: str) -> Iterator[Any]:
    """The review app on the seeded database, an administrator logged in."""
    from tests.review.conftest import ADMIN, QUICK_HASHER, logged_in, password_hasher

    with password_hasher(QUICK_HASHER):
        yield logged_in(environment, ADMIN)


FILTERS = (
    "from", "to", "channel", "intent", "low_confidence", "fallback", "handoff", "rating",
    "stuck", "status", "tag", "q", "page",
)  # fmt: skip
REVIEW_PAGES = {
    "/": FILTERS,
    "/export.csv": FILTERS,
    "/export.json": FILTERS,
    "/dashboard": ("days",),
    "/nlu": ("view", "page"),
    "/handoffs": ("status", "page"),
    "/conversation": ("id",),
    "/staff": ("page",),
    "/login": ("next",),
}


@pytest.mark.parametrize("path", list(REVIEW_PAGES))
def test_review_pages_with_odd_query_strings(review, path: str) -> None:
    @FUZZ
    @given(query=query_strings(REVIEW_PAGES[path]))
    def fuzz(query: str) -> None:
        TRIED[f"GET {path} (review)"] += 1
        reply = review.client.get(f"{path}?{query}", follow_redirects=False)
        assert reply.status_code < 500, f"{reply.status_code}: {reply.text[:500]}"

    fuzz()
    good = {"/conversation": "?id=rest-client-7", "/login": "?next=/"}.get(path, "")
    assert review.client.get(f"{path}{good}", follow_redirects=False).status_code in (200, 303)
    assert review.client.get("/dashboard?days=7").status_code == 200


@pytest.mark.parametrize(
    "days", ["-7", "0", "8", "99999999999999999999", "abc", "7.0", "1e3", "", " 7", "\uff17"]
)
def test_dashboard_days_must_be_one_of_the_ranges(review, days: str) -> None:
    reply = review.client.get(f"/dashboard?days={quote(days)}")
    assert reply.status_code == 400 and "expected one of 7, 30, 90, 365" in reply.text


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("days=7&days=30", "given 2 times"),
        ("page=0", "whole number"),
        ("page=-1", "whole number"),
        ("page=abc", "whole number"),
        ("page=1e3", "whole number"),
        ("page=99999999999", "whole number"),
    ],
)
def test_repeated_or_odd_parameters_are_a_400(review, query: str, reason: str) -> None:
    for path in ("/dashboard", "/", "/nlu", "/handoffs"):
        if path != "/dashboard" and query.startswith("days"):
            continue
        reply = review.client.get(f"{path}?{query}")
        if path == "/dashboard" and query.startswith("page"):
            assert reply.status_code == 200  # the dashboard has no pages
            continue
        assert reply.status_code == 400 and reason in reply.text, (path, reply.text[-500:])


@pytest.mark.parametrize(
    "query", ["from=someday", "channel=fax", "rating=great", "status=x", "from=2026-13-01"]
)
def test_an_export_with_a_bad_filter_is_a_400_not_everything(review, query: str) -> None:
    for path in ("/export.csv", "/export.json", "/"):
        assert review.client.get(f"{path}?{query}").status_code == 400


def test_nul_characters_in_parameters_are_a_400(review) -> None:
    assert review.client.get("/conversation?id=a%00b").status_code == 400
    reply = review.post("/conversation/notes", {"id": "a\x00b", "body": "x"})
    assert reply.status_code == 400


FORMS = {
    "/conversation/status": ("id", "status"),
    "/conversation/tags/add": ("id", "name", "colour"),
    "/conversation/notes": ("id", "body"),
    "/conversation/flag": ("id", "event_id"),
    "/nlu/label": ("event_id", "action", "label", "view", "page"),
    "/login": ("username", "password", "next"),
}


@pytest.mark.parametrize("path", list(FORMS))
def test_review_forms_with_odd_fields(review, path: str) -> None:
    token = review.token()

    @FUZZ
    @given(
        fields=st.dictionaries(
            st.sampled_from(FORMS[path]) | st.text(max_size=8),
            odd_text | st.integers().map(str),
            max_size=5,
        ),
        with_token=st.booleans(),
        raw=st.none() | st.binary(max_size=200),
        content_type=st.none()
        | st.sampled_from(
            ["multipart/form-data", "multipart/form-data; boundary=zz", "text/plain"]
        ),
    )
    def fuzz(fields, with_token: bool, raw: bytes | None, content_type: str | None) -> None:
        TRIED[f"POST {path} (review)"] += 1
        if with_token:
            fields = {**fields, "csrf_token": token}
        if raw is None:
            body = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            body, headers = raw, {"Content-Type": content_type} if content_type else {}
        reply = review.client.post(path, content=body, headers=headers, follow_redirects=False)
        assert reply.status_code < 500, f"{reply.status_code}: {reply.text[:500]}"

    fuzz()
    if path == "/login":  # the fuzz may have logged out (a new session): log in again
        review.login(*_admin())
    assert review.client.get("/").status_code == 200


def _admin() -> tuple[str, str]:
    from tests.review.conftest import ADMIN

    return ADMIN


def test_a_huge_form_is_a_413(review) -> None:
    reply = review.client.post(
        "/conversation/notes",
        content=b"body=" + b"x" * 2_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 413


# --- CSV export: no cell can start a formula ---------------------------------------------------

formula_cells = st.tuples(
    st.text(" \t\r\n\"'\u00a0", max_size=3),
    st.sampled_from(["=", "+", "-", "@", "\uff1d", "\t", "\r"]),
    st.text(max_size=20),
).map("".join)


@FUZZ
@given(st.lists(formula_cells | st.text(max_size=30), min_size=1, max_size=17))
def test_no_csv_cell_starts_a_formula(values: list[str]) -> None:
    from bot.review.exports import FORMULA_STARTS, _safe_cell

    TRIED["CSV cells"] += len(values)
    for value in values:
        cell = _safe_cell(value)
        stripped = value.lstrip(" \t\r\n\"'\u00a0\u3000\u2018\u2019\u201c\u201d")
        if (value and value[0] in "\t\r\n") or stripped[:1] in FORMULA_STARTS:
            assert cell == "'" + value
        else:
            assert cell == value


def test_every_csv_column_is_made_safe(environment: str) -> None:
    """A conversation whose every text field starts a formula: no column of the export may
    start with a formula character (tags, notes and the first message are user text)."""
    import csv
    import io

    from bot.review import exports
    from bot.tracker_db.engine import get_engine
    from bot.tracker_db.filters import InboxFilters
    from bot.tracker_db.store import ConversationStore

    store = ConversationStore(get_engine(environment), 0.5)
    summaries = list(store.matching(InboxFilters()))
    assert summaries
    formula = "=cmd|' /C calc'!A0"
    poisoned = []
    for summary in summaries:
        texts = {
            f.name: formula
            for f in dataclasses.fields(summary)
            if isinstance(getattr(summary, f.name), str) or f.name == "channel"
        }
        tags = [dataclasses.replace(tag, name="@SUM(1)") for tag in summary.tags]
        poisoned.append(dataclasses.replace(summary, **texts, intents=["-2+3", "=x"], tags=tags))
    text = "".join(exports.conversations_csv(poisoned))
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert rows and all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- Sanic's own server: limits before the body is read ---------------------------------------


@pytest.fixture(scope="module")
def live_server(environment: str, bot_api: FakeBotApi) -> Iterator[int]:
    """The channels on Sanic's HTTP server (not ASGI), as `rasa run` serves them."""
    app = channels_app(bot_api.url)
    loop = asyncio.new_event_loop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = loop.run_until_complete(
        app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    )
    loop.run_until_complete(server.startup())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def raw_request(port: int, head: str, body: bytes = b"", read_timeout: float = 5) -> str:
    """Send `head` and `body` as they are; the reply's status line, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as connection:
        # The server may close before taking it all: its reply is what counts.
        with contextlib.suppress(OSError):
            connection.sendall(head.encode("latin-1") + body)
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            header, found, rest = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", header)
            if found and length and len(rest) >= int(length.group(1)):
                break
    return data.decode("utf-8", "replace")


def _head(path: str, length: str | None, extra: str = "") -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\r\n".join(lines) + "\r\n" + extra + "\r\n"


@pytest.mark.parametrize(
    "path", ["/webhooks/rest/webhook", "/webhooks/web/webhook", "/webhooks/web/forget"]
)
def test_a_huge_content_length_is_refused_before_the_body_is_sent(live_server, path) -> None:
    started = time.monotonic()
    reply = raw_request(live_server, _head(path, "1000000000"))  # and no body at all
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    assert "larger than 64 KB" in reply and time.monotonic() - started < 3


def test_telegram_checks_the_secret_before_reading_a_byte(live_server) -> None:
    reply = raw_request(live_server, _head("/webhooks/telegram/webhook", "1000000000"))
    assert reply.startswith("HTTP/1.1 403"), reply[:300]
    secret = f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
    reply = raw_request(live_server, _head("/webhooks/telegram/webhook", "1000000000", secret))
    assert reply.startswith("HTTP/1.1 413"), reply[:300]


def test_a_chunked_body_is_cut_off_at_the_limit(live_server) -> None:
    chunk = b"x" * 16_384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    head = _head("/webhooks/rest/webhook", None, "Transfer-Encoding: chunked\r\n")
    reply = raw_request(live_server, head, body)
    assert reply.startswith("HTTP/1.1 413"), reply[:300]


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "12, 12"])
def test_a_bad_content_length_is_a_4xx(live_server, length: str) -> None:
    reply = raw_request(live_server, _head("/webhooks/rest/webhook", length), b"{}")
    assert reply.startswith("HTTP/1.1 4"), reply[:300]


def test_the_live_server_still_answers(live_server) -> None:
    body = json.dumps(GOOD_MESSAGE).encode()
    reply = raw_request(live_server, _head("/webhooks/rest/webhook", str(len(body))), body)
    assert reply.startswith("HTTP/1.1 200") and "Hello!" in reply, reply[:300]
