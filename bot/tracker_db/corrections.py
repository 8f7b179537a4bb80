"""Live corrections in the tracker-store database (`review_corrections`): added when staff
relabel a message in the NLU inbox, listed and undone on the review app's corrections page,
and applied by every Rasa replica through a `CorrectionIndex` (bot.live_corrections).

What a correction is, when one is refused and how wordings are compared: bot.corrections.

Every replica must see a new or undone correction within seconds, yet the Rasa server must
not query the database for each message (its NLU pipeline runs on the event loop) nor stop
answering when the database fails. So each Rasa process keeps the active corrections in a
dict, and a background thread asks the database every `REFRESH_SECONDS` for a cheap version
of the table (rows, highest id, rows undone) and reloads the dict only when it changed;
when the database fails it logs once and keeps what it had.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from bot.corrections import Correction, CorrectionRefused, check_correction, normalise
from bot.settings.parsing import without_password
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import corrections

logger = logging.getLogger(__name__)

# How often each Rasa process asks whether the corrections changed: what "at once" means.
REFRESH_SECONDS = 2.0


class CorrectionNotFound(LookupError):
    """No active correction has that id (it was undone, replaced, or never existed)."""


# --- Storage ------------------------------------------------------------------------------


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own on an engine; on a connection, the caller's (so that a label
    and its correction are saved, or refused, together)."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as connection:
            yield connection


def wording_key(normalised: str) -> str:
    """The indexed form of a normalised wording (`review_corrections.normalised_key`)."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _from_row(row: sa.engine.Row) -> Correction:
    return Correction(
        id=row.id,
        text=row.text,
        normalised=row.normalised,
        label=row.label,
        created_by=row.created_by,
        created_at=row.created_at,
        undone_by=row.undone_by,
        undone_at=row.undone_at,
        predicted=row.predicted,
        event_id=row.event_id,
    )


def add_correction(
    bind: Engine | Connection,
    text: str,
    label: str,
    by: str,
    predicted: str | None = None,
    event_id: int | None = None,
    known: Collection[str] | None = None,
) -> Correction:
    """Make `label` the answer to `text`'s wording from now on, replacing (undoing) an active
    correction of the same wording. Raises CorrectionRefused when the guardrails forbid it
    (bot.corrections.check_correction; `known`: the training data's labels, to check too)."""
    check_correction(text, predicted, label, known)
    normalised = normalise(text)
    key = wording_key(normalised)
    now = time.time()
    try:
        with _transaction(bind) as connection:
            connection.execute(
                corrections.update()
                .where(corrections.c.normalised_key == key, corrections.c.undone_at.is_(None))
                .values(undone_by=by, undone_at=now)
            )
            new_id = connection.execute(
                corrections.insert().values(
                    normalised=normalised,
                    normalised_key=key,
                    text=text,
                    label=label,
                    predicted=predicted,
                    event_id=event_id,
                    created_by=by,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            row = connection.execute(sa.select(corrections).where(corrections.c.id == new_id))
            return _from_row(row.one())
    except sa.exc.IntegrityError as error:
        # The unique index on active wordings: someone corrected the same words just now.
        raise CorrectionRefused(
            "Someone else corrected the same words at the same moment: reload the page and "
            "check the corrections."
        ) from error


def undo_correction(bind: Engine | Connection, correction_id: int, by: str) -> None:
    """Stop applying one correction (its row stays, with who undid it and when). Raises
    CorrectionNotFound when it is not active."""
    with _transaction(bind) as connection:
        undone = connection.execute(
            corrections.update()
            .where(corrections.c.id == correction_id, corrections.c.undone_at.is_(None))
            .values(undone_by=by, undone_at=time.time())
        ).rowcount
    if not undone:
        raise CorrectionNotFound("That correction is not in effect (any more).")


def undo_corrections_of_message(bind: Engine | Connection, event_id: int, by: str) -> int:
    """Undo the active corrections made from one stored message (its verdict in the NLU
    inbox changed); returns how many."""
    with _transaction(bind) as connection:
        return (
            connection.execute(
                corrections.update()
                .where(corrections.c.event_id == event_id, corrections.c.undone_at.is_(None))
                .values(undone_by=by, undone_at=time.time())
            ).rowcount
            or 0
        )


def list_corrections(engine: Engine, include_undone: bool = False) -> list[Correction]:
    """The corrections, the newest first; only those in effect unless `include_undone`."""
    query = sa.select(corrections).order_by(
        corrections.c.created_at.desc(), corrections.c.id.desc()
    )
    if not include_undone:
        query = query.where(corrections.c.undone_at.is_(None))
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query)]


def active_corrections(engine: Engine) -> dict[str, str]:
    """Normalised wording → label, for every correction in effect."""
    return {c.normalised: c.label for c in list_corrections(engine)}


def _version(connection: Connection) -> tuple[object, ...]:
    """Changes whenever a correction is added (highest id), undone (rows undone: an undone row
    is never active again) or deleted (rows): one cheap aggregate instead of reading every
    row. Counts, not times: the review app's servers' clocks need not agree."""
    return tuple(
        connection.execute(
            sa.select(
                sa.func.count(corrections.c.id),
                sa.func.max(corrections.c.id),
                sa.func.count(corrections.c.undone_at),
            )
        ).one()
    )


# --- The index a Rasa process reads -------------------------------------------------------


class CorrectionIndex:
    """The corrections in effect, in memory, kept up to date by a background thread
    (`start()`): `lookup()` never waits on the database."""

    def __init__(self, url: str, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.url = url
        self.refresh_seconds = refresh_seconds
        self._by_wording: Mapping[str, Correction] = {}
        self._version: tuple[object, ...] | None = None
        self._failing = False
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A replaced model's component (and its index) is dropped: its thread then ends.
        weakref.finalize(self, self._stop.set)

    def lookup(self, text: str) -> Correction | None:
        """The correction in effect for `text`'s wording, if any."""
        return self._by_wording.get(normalise(text))

    def refresh(self) -> bool:
        """Reload the corrections if they changed. On a database failure, log it (once until
        it works again), keep the corrections loaded before and return False."""
        with self._refreshing:
            try:
                missing = _missing_sqlite_file(self.url)
                if missing is not None:
                    # Connecting would create an empty file where the database should be.
                    raise FileNotFoundError(f"no database file at {missing}")
                with get_engine(self.url).connect() as connection:
                    version = _version(connection)
                    if version != self._version:
                        rows = connection.execute(
                            sa.select(corrections).where(corrections.c.undone_at.is_(None))
                        )
                        loaded = {row.normalised: _from_row(row) for row in rows}
                        self._by_wording, self._version = loaded, version
            except (sa.exc.SQLAlchemyError, OSError) as error:
                if not self._failing:
                    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
                    logger.warning(
                        "Live corrections: cannot read them from %s (%s); the %d loaded "
                        "before stay in effect until it answers again",
                        without_password(self.url),
                        reason[0] if reason else type(error).__name__,
                        len(self._by_wording),
                    )
                self._failing = True
                return False
            if self._failing:
                logger.warning("Live corrections: the database answers again")
                self._failing = False
            return True

    def start(self) -> None:
        """Load the corrections now, then keep them up to date in a daemon thread."""
        self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(
                target=_keep_fresh,
                args=(weakref.ref(self), self._stop, self.refresh_seconds),
                name="live-corrections",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _keep_fresh(
    index_ref: weakref.ref[CorrectionIndex], stop: threading.Event, every: float
) -> None:
    # Holds the index only while refreshing, so that a dropped index can be collected.
    while not stop.wait(every):
        index = index_ref()
        if index is None:
            return
        index.refresh()
        del index


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist; None otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path
