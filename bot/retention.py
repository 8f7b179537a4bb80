"""Retention on a schedule: messages older than RETENTION_DAYS are purged every
PURGE_INTERVAL, in a thread of the `bot run` process that runs the review app (the process
plan, bot/processes.py, lists both settings under the review app; bot.settings reads and
checks them). `bot privacy purge` does the same by hand.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

from bot.settings import Settings


class RetentionSchedule:
    """Purges messages older than RETENTION_DAYS every PURGE_INTERVAL, in a thread of the
    `bot run` process (bot.tracker_db.erasure.purge_conversations: per message age), first at start.

    A purge that fails (database down) is reported and tried again at the next interval.
    """

    def __init__(self, url: str, days: float, interval: float) -> None:
        self.url, self.days, self.interval = url, days, interval
        self.runs = 0
        self.deleted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSchedule | None:
        """The schedule the settings of `env` (a process environment) ask for; None when
        RETENTION_DAYS is 0."""
        settings = Settings.from_env(env)
        if not settings.retention.days:
            return None
        return cls(
            settings.stores.tracker_store_url,
            settings.retention.days,
            settings.retention.interval,
        )

    def start(self) -> RetentionSchedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def purge_once(self) -> None:
        import datetime as dt

        from bot.tracker_db.erasure import ErasureError, purge_conversations

        try:
            emptied, events = purge_conversations(dt.timedelta(days=self.days), self.url)
        except ErasureError as error:
            print(f"Retention purge failed, trying again later: {error}", file=sys.stderr,
                  flush=True)  # fmt: skip
            return
        finally:
            self.runs += 1
        self.deleted += events
        if events:
            print(
                f"Retention: deleted {events} message event(s) older than {self.days:g} days "
                f"({emptied} conversation(s) emptied).",
                flush=True,
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.purge_once()
            self._stop.wait(self.interval)
