"""How the review app is configured and where `bot run` starts it."""

from __future__ import annotations

import pytest

from bot.review.config import ReviewSettings
from bot.serve import Ports, Stack


def test_ports_read_review_port_with_8080_as_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEW_PORT", raising=False)
    assert Ports.from_env().review == 8080
    monkeypatch.setenv("REVIEW_PORT", "8181")
    assert Ports.from_env().review == 8181
    monkeypatch.setenv("REVIEW_PORT", "eighty")
    with pytest.raises(SystemExit, match="REVIEW_PORT"):
        Ports.from_env()


def test_callers_that_name_only_rasa_and_actions_still_work() -> None:
    """tests/conftest.py builds Ports(rasa=…, actions=…): the review app then gets a free
    port when started (None), and 0 leaves it out."""
    ports = Ports(rasa=1, actions=2)
    assert ports.review is None
    assert Stack(Ports(rasa=1, actions=2, review=0)).review_url is None
    assert Stack(Ports(rasa=1, actions=2, review=9)).review_url == "http://127.0.0.1:9"


def test_secret_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TRACKER_STORE_URL", "sqlite:///x.db")
    monkeypatch.delenv("REVIEW_SECURE_COOKIES", raising=False)
    settings = ReviewSettings.from_env()
    assert settings.secret_key == "k" * 40
    assert settings.database_url == "sqlite:///x.db" and not settings.secure_cookies
    monkeypatch.setenv("REVIEW_SECRET_KEY", "too short")
    with pytest.raises(SystemExit, match="at least 32"):
        ReviewSettings.from_env()


def test_a_missing_secret_key_is_generated_with_a_warning_in_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("REVIEW_SECRET_KEY", raising=False)
    monkeypatch.delenv("REVIEW_SECURE_COOKIES", raising=False)
    first, second = ReviewSettings.from_env(), ReviewSettings.from_env()
    assert len(first.secret_key) >= 32 and first.secret_key != second.secret_key
    assert "REVIEW_SECRET_KEY is not set" in capsys.readouterr().err


def test_behind_https_a_secret_key_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEW_SECRET_KEY", raising=False)
    monkeypatch.setenv("REVIEW_SECURE_COOKIES", "true")
    with pytest.raises(SystemExit, match="REVIEW_SECRET_KEY is not set"):
        ReviewSettings.from_env()
    monkeypatch.setenv("REVIEW_SECRET_KEY", "s" * 48)
    assert ReviewSettings.from_env().secure_cookies


@pytest.mark.parametrize(("raw", "ok"), [("0.5", True), ("1", True), ("0", False), ("x", False)])
def test_low_confidence_threshold(monkeypatch: pytest.MonkeyPatch, raw: str, ok: bool) -> None:
    monkeypatch.setenv("REVIEW_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("REVIEW_LOW_CONFIDENCE", raw)
    if ok:
        assert ReviewSettings.from_env().low_confidence == float(raw)
    else:
        with pytest.raises(SystemExit, match="REVIEW_LOW_CONFIDENCE"):
            ReviewSettings.from_env()
