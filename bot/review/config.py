"""The review app's settings, read from the environment once at start."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT, tracker_store_url

TRUE = {"1", "true", "yes", "on"}
# Where the known intents and retrieval keys come from, and where exports are merged back.
NLU_DIR = PROJECT_ROOT / "data" / "nlu"


@dataclass(frozen=True)
class ReviewSettings:
    """Everything the app needs to know; tests build one directly."""

    database_url: str
    secret_key: str
    secure_cookies: bool = False
    # Messages whose intent confidence is below this count as "low confidence".
    low_confidence: float = 0.7
    page_size: int = 25
    session_hours: int = 8
    # Login throttling: this many failures per username and address within the window → 429.
    max_login_failures: int = 5
    login_window_seconds: int = 15 * 60
    nlu_dir: Path = NLU_DIR

    @classmethod
    def from_env(cls) -> ReviewSettings:
        secure = os.environ.get("REVIEW_SECURE_COOKIES", "").strip().lower() in TRUE
        return cls(
            database_url=tracker_store_url(),
            secret_key=_secret_key(secure),
            secure_cookies=secure,
            low_confidence=_float("REVIEW_LOW_CONFIDENCE", 0.7),
        )


def _secret_key(secure: bool) -> str:
    key = os.environ.get("REVIEW_SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise SystemExit("REVIEW_SECRET_KEY must be at least 32 characters long")
        return key
    if secure:
        # Secure cookies mean a real deployment behind HTTPS: sessions signed with a key that
        # changes at every restart (and differs between workers) would be a silent failure.
        raise SystemExit(
            "REVIEW_SECRET_KEY is not set. Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
        )
    print(
        "warning: REVIEW_SECRET_KEY is not set; using a random key for this run, so staff "
        "must log in again after every restart. Set it in production.",
        file=sys.stderr,
        flush=True,
    )
    return secrets.token_urlsafe(48)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a number between 0 and 1, got {raw!r}") from error
    if not 0 < value <= 1:
        raise SystemExit(f"{name} must be a number between 0 and 1, got {raw!r}")
    return value
