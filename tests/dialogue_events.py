"""Serialised Rasa events, as the tracker store keeps them and rasa-sdk hands them to actions,
for tests of what the conversation so far means."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def user(
    text: str,
    intent: str,
    ranking: list[tuple[str, float]] = (),
    entities: list[dict[str, Any]] = (),
) -> dict[str, Any]:
    selector = {
        "default": {"ranking": [{"intent_response_key": k, "confidence": c} for k, c in ranking]}
    }
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": list(entities),
            "response_selector": selector,
        },
    }


def bot(text: str, response: str | None = None, buttons: list[dict] = ()) -> dict[str, Any]:
    return {
        "event": "bot",
        "text": text,
        "data": {"buttons": list(buttons)},
        "metadata": {"utter_action": response} if response else {},
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def tracker_after(
    events: list[dict[str, Any]], slots: dict[str, Any] | None = None, active_loop: str = ""
) -> Tracker:
    """rasa-sdk's Tracker at the end of `events`, whose last user event is the message."""
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="test",
        slots=slots or {},
        latest_message={**latest["parse_data"], "text": latest["text"]},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
