"""The review app's settings, built once at start from bot.settings (the `review` concern and
the tracker store)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT, current

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
        """From this process's settings; SystemExit with the reason when they do not do
        (bot.settings.Review.session_secret: no secret key behind HTTPS)."""
        settings = current()
        return cls(
            database_url=settings.stores.tracker_store_url,
            secret_key=settings.review.session_secret(),
            secure_cookies=settings.review.secure_cookies,
            low_confidence=settings.review.low_confidence,
        )
