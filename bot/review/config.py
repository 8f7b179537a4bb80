"""The review app's settings, built once at start from bot.settings (the `review` concern and
the tracker store)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, current

# Where the known intents and retrieval keys come from, and where exports are merged back.
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
TRAINING_COMMAND = (sys.executable, "-m", "bot.cli", "models", "train", "--job")


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
    # The events and partners database the assistant answers from (DATABASE_URL); None: the
    # process's own setting, read by bot.db when the data pages first query it.
    lookup_database_url: str | None = None
    # The trained models' archives, corrections files and logs (MODEL_STORE_DIR).
    model_store_dir: Path = field(default_factory=lambda: Path(current().stores.model_store_dir))
    # "Train and deploy" runs this in the background with the queued job's id appended (the
    # training job, which loads Rasa: never imported here); tests give a harmless command.
    training_command: tuple[str, ...] = TRAINING_COMMAND
    # What the Rasa servers show to download the live model (MODEL_SERVER_TOKEN;
    # bot/review/model_server.py); None: the model server is off.
    model_server_token: str | None = field(default=None, repr=False)

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
            lookup_database_url=settings.stores.database_url,
            model_store_dir=Path(settings.stores.model_store_dir),
            model_server_token=settings.model_server.token,
        )
