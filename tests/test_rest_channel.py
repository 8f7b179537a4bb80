"""Validation of webhook bodies: every bad input gets a 4xx and a reason a developer can use.
And the web chat's plan page, served by the real web channel on a Sanic app."""

import json

import pytest

from bot.channels.rest import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, BadRequest, parse_body
from tests.test_plan_page import QUERY as PLAN_QUERY
from tests.test_plan_page import SOURCE_URL, use_small_guidance


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_a_valid_body_is_parsed_and_trimmed() -> None:
    message = parse_body(body(sender="abc", message="  What is ECRIN?  ", metadata={"a": 1}))
    assert (message.sender, message.text, message.metadata) == ("abc", "What is ECRIN?", {"a": 1})


def test_numeric_sender_ids_are_accepted_as_text() -> None:
    assert parse_body(body(sender=12345, message="hi")).sender == "12345"


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"this is not json", 400, "not valid JSON"),
        (b"\xff\xfe\xfa not utf-8", 400, "not valid UTF-8"),
        (b"[1, 2, 3]", 400, "must be a JSON object"),
        (b"", 400, "not valid JSON"),
        (body(message="hi"), 400, '"sender" is required'),
        (body(sender="", message="hi"), 400, '"sender" is required'),
        (body(sender=True, message="hi"), 400, '"sender" is required'),
        (body(sender="x" * 129, message="hi"), 400, '"sender" is longer'),
        (body(sender="a"), 400, '"message" is required'),
        (body(sender="a", message=42), 400, '"message" is required'),
        (body(sender="a", message="   "), 400, '"message" is empty'),
        (body(sender="a", message="x" * (MAX_MESSAGE_CHARS + 1)), 413, "one question at a time"),
        (body(sender="a", message="hi", metadata=[1]), 400, '"metadata" must be'),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", 413, "larger than 64 KB"),
    ],
)
def test_bad_bodies_are_rejected_with_a_reason(raw: bytes, status: int, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_body(raw)
    assert caught.value.status == status
    assert reason in str(caught.value)


# --- The web chat's plan page: GET /webhooks/web/plan ------------------------------------------


class ScriptedAgent:
    """Stands in for Rasa's agent behind the real web channel (no trained model needed): it
    stores each message and its scripted replies in Rasa's in-memory tracker store, and sends
    the replies as Rasa does (`BotUttered.message()` through the output channel)."""

    def __init__(self, replies: list[tuple[str, dict | None]]) -> None:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        self.replies = replies
        self.tracker_store = InMemoryTrackerStore(Domain.empty())

    async def handle_message(self, message) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered

        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        for text, custom in self.replies:
            event = BotUttered(text, data={"custom": custom} if custom else {})
            tracker.update(event)
            await message.output_channel.send_response(message.sender_id, event.message())
        await self.tracker_store.save(tracker)


PLAN_TO_KEEP = "This plan was made today from the sources it names."
PLAN_REPLIES = [
    ("Here is a patient-involvement plan for a rare-disease trial in Italy.", None),
    (PLAN_TO_KEEP, {"involvement_plan": {"query": PLAN_QUERY, "made": "2026-12-01"}}),
]


def web_chat_app(agent: ScriptedAgent | None = None):
    """A Sanic app with the real web channel at /webhooks/web/, as Rasa's server mounts it."""
    import uuid

    from rasa.core.channels.channel import register
    from sanic import Sanic

    from bot.channels.web import WebChatInput

    # As sanic-testing does: Sanic rewrites some of its own methods at start-up, and only in
    # test mode can a process start more than one app.
    Sanic.test_mode = True
    app = Sanic(f"web_chat_test_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = agent or ScriptedAgent(PLAN_REPLIES)
    register([WebChatInput()], app, route="/webhooks/")
    return app


@pytest.fixture
def web_client(database_url: str, tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    use_small_guidance(tmp_path, monkeypatch)
    with TestClient(web_chat_app()) as client:
        yield client


def test_the_plan_page_is_served_to_open_or_download(web_client) -> None:
    reply = web_client.get(f"/webhooks/web/plan?{PLAN_QUERY}&made=2026-12-01")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.headers["content-disposition"] == (
        'inline; filename="patient-involvement-plan-2026-12-01.html"'
    )
    csp = reply.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    page = reply.text
    assert "Patient-involvement plan: a rare-disease trial in Italy" in page
    assert "Step for the design stage." in page and SOURCE_URL in page and "ItaCRIN" in page
    assert "1 December 2026" in page


def test_a_plan_link_without_a_date_is_made_today(
    web_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECRIN_TODAY", "2026-12-03")  # the assistant's clock (bot.dates.today)
    reply = web_client.get("/webhooks/web/plan?stage=conduct")
    assert reply.status_code == 200
    name = "patient-involvement-plan-2026-12-03.html"
    assert name in reply.headers["content-disposition"]
    assert "ECRIN coordination office" in reply.text  # no country: the office


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("stage=launch", "stage must be one of"),
        ("kind=trial&colour=blue", "unknown parameter: colour"),
        ("country=Atlantis", "unknown country"),
        ("country=%FF%FE", "unknown country"),
        ("stage=design&made=2999-01-01", "must not be in the future"),
        ("stage=design&made=1st%20December", "must be a date like"),
        ("stage=" + "design," * 200, "longer than"),
    ],
)
def test_a_bad_plan_link_gets_a_400_with_a_reason(web_client, query: str, reason: str) -> None:
    reply = web_client.get(f"/webhooks/web/plan?{query}")
    assert reply.status_code == 400
    assert reason in reply.json()["error"]


def test_unreadable_guidance_is_a_503_not_a_500(database_url, tmp_path, monkeypatch) -> None:
    from starlette.testclient import TestClient

    from bot import involvement

    monkeypatch.setattr(
        involvement, "guidance", lambda: involvement.read_guidance(tmp_path / "missing.yml")
    )
    with TestClient(web_chat_app()) as client:
        reply = client.get(f"/webhooks/web/plan?{PLAN_QUERY}")
    assert reply.status_code == 503 and "unavailable" in reply.json()["error"]


def test_the_plan_offer_reaches_the_page_and_comes_back_in_the_history(web_client) -> None:
    sender = "0b6f3a52-5d1c-4b8e-9f3e-2a7c1d9e4f60"
    reply = web_client.post(
        "/webhooks/web/webhook", json={"sender": sender, "message": "plan my involvement"}
    )
    offer = {"involvement_plan": {"query": PLAN_QUERY, "made": "2026-12-01"}}
    assert reply.status_code == 200
    # The payload comes with the message that offers it (the web channel merges them).
    replies = reply.json()
    assert [message.get("custom") for message in replies] == [None, offer]
    assert replies[-1]["text"] == PLAN_TO_KEEP
    history = web_client.get(f"/webhooks/web/history?sender={sender}").json()
    assert history[-1] == {
        "from": "bot",
        "text": PLAN_TO_KEEP,
        "buttons": [],
        "custom": offer,
        "rich": replies[-1]["rich"],
        "answer": False,  # a plan to keep cites no source: nothing to rate
    }


def test_the_transcript_keeps_only_the_plan_of_a_custom_payload() -> None:
    from rasa.shared.core.events import BotUttered

    from bot.channels.web import transcript

    events = [
        BotUttered("Keep it.", data={"custom": {"involvement_plan": {"query": "stage=design"}}}),
        BotUttered("A map.", data={"custom": {"map": {"lat": 1}}}),
        BotUttered(None, data={"custom": {"involvement_plan": {"query": 3}}}),
    ]
    assert transcript(events) == [
        {
            "from": "bot",
            "text": "Keep it.",
            "buttons": [],
            "custom": {"involvement_plan": {"query": "stage=design", "made": ""}},
        },
        {"from": "bot", "text": "A map.", "buttons": []},
    ]
