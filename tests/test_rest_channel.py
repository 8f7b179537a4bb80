"""Validation of webhook bodies: every bad input gets a 4xx and a reason a developer can use."""

import json

import pytest

from bot.channels.rest import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, BadRequest, parse_body


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
