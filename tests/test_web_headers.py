"""The web chat's response headers, from the real web channel on a Sanic app (as
tests/test_rest_channel.py mounts it): which sites may frame the chat (WEB_FRAME_ANCESTORS),
and which answers no cache may keep (`Cache-Control: no-store`)."""

from __future__ import annotations

import re

import pytest

from tests.test_plan_page import QUERY as PLAN_QUERY
from tests.test_plan_page import use_small_guidance
from tests.test_rest_channel import PLAN_REPLIES, ScriptedAgent, web_chat_app

WEB_SENDER = "6c1f0d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"


def frame_ancestors_of(reply) -> str:
    """The `frame-ancestors` sources of a reply's Content-Security-Policy."""
    match = re.search(r"frame-ancestors ([^;]*)", reply.headers["content-security-policy"])
    assert match, reply.headers["content-security-policy"]
    return match.group(1).strip()


@pytest.fixture
def client_for(tmp_path, monkeypatch):
    """A test client of the real web channel, built after the caller has set the
    environment (the channel reads WEB_FRAME_ANCESTORS when its routes are added). Tests that
    open a plan page also ask for `database_url` (partners come from the database)."""
    from rasa.core.lock_store import InMemoryLockStore
    from starlette.testclient import TestClient

    use_small_guidance(tmp_path, monkeypatch)
    clients = []

    def build() -> TestClient:
        agent = ScriptedAgent(PLAN_REPLIES)
        agent.lock_store = InMemoryLockStore()  # what Rasa's agent has, for /forget
        client = TestClient(web_chat_app(agent))
        clients.append(client.__enter__())
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_for, monkeypatch):
    monkeypatch.delenv("WEB_FRAME_ANCESTORS", raising=False)
    return client_for()


# --- frame-ancestors -------------------------------------------------------------------------


def test_without_the_setting_any_site_may_embed_the_chat_as_before(client) -> None:
    # `make run` and existing embeds keep working; docs/security.md asks deployments to set it.
    assert frame_ancestors_of(client.get("/webhooks/web/")) == "*"
    assert frame_ancestors_of(client.get("/webhooks/web/privacy")) == "*"


def test_the_setting_names_the_sites_that_may_embed_the_chat(
    database_url: str, client_for, monkeypatch
) -> None:
    monkeypatch.setenv(
        "WEB_FRAME_ANCESTORS", "  https://www.example.org   https://*.example.net:8443 'SELF' "
    )
    client = client_for()
    expected = "https://www.example.org https://*.example.net:8443 'self'"
    # The chat page and the privacy page it links to (both open inside the frame).
    assert frame_ancestors_of(client.get("/webhooks/web/")) == expected
    assert frame_ancestors_of(client.get("/webhooks/web/privacy")) == expected
    # The rest of the policy is untouched.
    csp = client.get("/webhooks/web/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "form-action 'none'" in csp
    # The plan page is never framed by other sites, whatever the setting.
    plan = client.get(f"/webhooks/web/plan?{PLAN_QUERY}&made=2026-12-01")
    assert plan.status_code == 200 and frame_ancestors_of(plan) == "'self'"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://a.example.org; script-src *", "';' or ','"),
        ("https://a.example.org, https://b.example.org", "';' or ','"),
        ("https://a.example.org\nSet-Cookie: x=1", "line break"),
        ("https://a.example.org\r", "line break"),
        ("'unsafe-inline'", "only 'self' and 'none'"),
        ('"https://a.example.org"', "only 'self' and 'none'"),
        ("'self' 'none'", "'none' stands alone"),
        ("frame-ancestors https://a.example.org", "without the directive's name"),
        ("javascript:alert(1)", "not a host, origin or scheme"),
        ("https://exa mple.org/<script>", "not a host, origin or scheme"),
        ("https://\u017felf.example.org", "not ASCII"),
    ],
)
def test_a_value_that_could_break_the_policy_stops_the_start(
    client_for, monkeypatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("WEB_FRAME_ANCESTORS", value)
    with pytest.raises(SystemExit) as stopped:
        client_for()
    message = str(stopped.value)
    assert message.startswith("WEB_FRAME_ANCESTORS ") and reason in message, message


@pytest.mark.parametrize(
    "value",
    ["'none'", "'self'", "*", "https:", "https://example.org", "http://localhost:8000/chat/"],
)
def test_every_kind_of_source_is_accepted(client_for, monkeypatch, value: str) -> None:
    monkeypatch.setenv("WEB_FRAME_ANCESTORS", value)
    assert frame_ancestors_of(client_for().get("/webhooks/web/")) == value


# --- Cache-Control: no-store -----------------------------------------------------------------


def test_the_transcript_is_never_stored_by_a_cache(client) -> None:
    reply = client.post("/webhooks/web/webhook", json={"sender": WEB_SENDER, "message": "hello"})
    assert reply.status_code == 200
    history = client.get(f"/webhooks/web/history?sender={WEB_SENDER}")
    assert history.status_code == 200 and history.json()[0]["text"] == "hello"
    assert history.headers["cache-control"] == "no-store"
    refused = client.get("/webhooks/web/history?sender=")
    assert refused.status_code == 400 and refused.headers["cache-control"] == "no-store"


def test_the_plan_page_is_never_stored_by_a_cache(database_url: str, client) -> None:
    plan = client.get(f"/webhooks/web/plan?{PLAN_QUERY}&made=2026-12-01")
    assert plan.status_code == 200 and plan.headers["cache-control"] == "no-store"
    refused = client.get("/webhooks/web/plan?stage=launch")
    assert refused.status_code == 400 and refused.headers["cache-control"] == "no-store"


def test_forget_answers_are_never_stored_by_a_cache(client) -> None:
    forgot = client.post("/webhooks/web/forget", json={"sender": WEB_SENDER})
    assert forgot.status_code == 200 and forgot.json() == {"erased_events": 0}
    assert forgot.headers["cache-control"] == "no-store"


def test_the_chat_page_itself_may_be_cached(client) -> None:
    # The page holds no conversation: only the answers above carry one.
    assert "no-store" not in client.get("/webhooks/web/").headers.get("cache-control", "")
