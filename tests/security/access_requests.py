"""What each cell of the access matrix (test_access_matrix.py) sends: the request for every
page, and for every form the fields, how to prepare the databases for it and what it changes.

Each cell runs on its own two databases (`Databases`): the tracker store (staff accounts,
conversations, review data) and the lookup database the assistant answers from (events,
partners, their audit trail).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot import curation, db, model_jobs, model_store
from bot.models import Event, Partner
from bot.review.accounts import add_staff
from bot.review.annotations import add_tag
from bot.tracker_db.corrections import add_correction
from bot.tracker_db.engine import get_engine
from tests.model_archives import stand_in_archive
from tests.review.conftest import ADMIN, MODEL_STORE, WEB_ID

# A third account, so that no form acts on the account sending it (a reviewer removing
# themselves is refused by the view, which would hide a missing role check).
CAROL = ("carol", "carol password 1")


@dataclass(frozen=True)
class Page:
    """How to ask for a page, and text that only the page itself contains."""

    url: str
    shows: str
    # Where a logged-in staff member is sent instead (the login form sends them home).
    staff_sent_to: str | None = None


# One made-up event and partner in the lookup database of every cell (LOOKUP_FORMS).
MATRIX_EVENT = "matrix-test-webinar-2030-05-20"
MATRIX_PARTNER = "mtn"

PAGES: dict[str, Page] = {
    "/health": Page("/health", "ok"),
    "/static": Page("/static/review.css", "--accent"),
    "/login": Page("/login", 'name="password"', staff_sent_to="/"),
    "/": Page("/", "3f2a9c1e"),  # WEB_ID, shortened
    "/export.csv": Page("/export.csv", WEB_ID),
    "/export.json": Page("/export.json", WEB_ID),
    "/conversation": Page(f"/conversation?id={WEB_ID}", "What is a placebo?"),
    "/nlu": Page("/nlu", "zzqx blorf wibble"),
    "/nlu/export.yml": Page("/nlu/export.yml", 'version: "3.1"'),
    "/corrections": Page("/corrections", "<h1>Live corrections</h1>"),
    "/handoffs": Page("/handoffs", "can I talk to a real person please"),
    "/dashboard": Page("/dashboard", "<svg"),
    "/events": Page("/events", "Matrix test webinar"),
    "/events/new": Page("/events/new", 'name="starts_on"'),
    "/events/edit": Page(f"/events/edit?slug={MATRIX_EVENT}", 'value="Matrix test webinar"'),
    "/events/history": Page(f"/events/history?slug={MATRIX_EVENT}", "History of Matrix test"),
    "/events/upload": Page("/events/upload", 'name="file"'),
    "/partners": Page("/partners", "Matrix Test Network"),
    "/partners/new": Page("/partners/new", 'name="acronym"'),
    "/partners/edit": Page(f"/partners/edit?slug={MATRIX_PARTNER}", 'value="Matrix Test Network"'),
    "/partners/history": Page(f"/partners/history?slug={MATRIX_PARTNER}", "History of MTN"),
    "/staff": Page("/staff", "<td>rob</td>"),
    "/models": Page("/models", "Train and deploy</button>"),
    # The model server's archive: gzip's magic number, never in a refusal.
    "/model/live.tar.gz": Page("/model/live.tar.gz", "\x1f\x8b\x08"),
}


@dataclass(frozen=True)
class Databases:
    """A cell's own databases: the tracker store (accounts, conversations, review data) and
    the lookup database the assistant answers from (events, partners, their audit trail)."""

    tracker_url: str
    lookup_url: str

    @property
    def tracker(self) -> Engine:
        return get_engine(self.tracker_url)

    @property
    def lookup(self) -> Engine:
        return db.get_engine(self.lookup_url)


Probe = Callable[[Databases, TestClient], Any]


@dataclass(frozen=True)
class Action:
    """A form post that would change something if allowed: `form` prepares the databases and
    returns the fields (without the token); `watched` reads what the post changes. A post that
    only shows something (an upload's preview) answers `allowed_status` and changes nothing."""

    form: Callable[[Databases], dict[str, str]]
    watched: Probe
    files: dict[str, tuple[str, bytes, str]] | None = None
    allowed_status: int = 303
    changes: bool = True


def select(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql), params)]


def rows(sql: str, **params: Any) -> Probe:
    """A probe: the rows `sql` selects in the tracker store."""
    return lambda databases, _client: select(databases.tracker, sql, **params)


def lookup_rows(sql: str) -> Probe:
    """A probe: the rows `sql` selects in the lookup database."""
    return lambda databases, _client: select(databases.lookup, sql)


def identity(_databases: Databases, client: TestClient) -> str:
    """Who the client's session is logged in as ("anonymous" when nobody), from the page header
    (base.html shows "name (role)" next to the logout button)."""
    reply = client.get("/", follow_redirects=False)
    if reply.status_code == 303 and reply.headers["location"].startswith("/login"):
        return "anonymous"
    found = re.search(r"<span>([\w.@+-]+) \((?:admin|editor|reviewer)\)</span>", reply.text)
    assert reply.status_code == 200 and found, f"cannot tell who is logged in: {reply.text[:300]}"
    return found.group(1)


def fields(form: dict[str, str]) -> Callable[[Databases], dict[str, str]]:
    return lambda _databases: dict(form)


def with_carol(form: dict[str, str]) -> Callable[[Databases], dict[str, str]]:
    def prepare(databases: Databases) -> dict[str, str]:
        add_staff(databases.tracker, *CAROL, role="reviewer")
        return dict(form)

    return prepare


def first_user_event(databases: Databases) -> str:
    found = select(
        databases.tracker,
        "SELECT id FROM events WHERE sender_id = :id AND type_name = 'user' ORDER BY id",
        id=WEB_ID,
    )
    return str(found[0][0])


def live_correction(databases: Databases) -> dict[str, str]:
    """A correction in effect (so that undoing it changes something)."""
    made = add_correction(databases.tracker, "What is a placebo?", "faq_trials/placebo", "ada")
    return {"id": str(made.id)}


def tagged_conversation(databases: Databases) -> dict[str, str]:
    add_tag(databases.tracker, WEB_ID, "existing", "blue", ADMIN[0])
    [(tag_id,)] = select(databases.tracker, "SELECT id FROM review_tags WHERE name = 'existing'")
    return {"id": WEB_ID, "tag_id": str(tag_id)}


def retired(model: type[Event] | type[Partner], slug: str) -> Callable[[Databases], dict]:
    """Retire the row first (so that restoring it changes something)."""

    def prepare(databases: Databases) -> dict[str, str]:
        with db.session_scope(databases.lookup_url) as session:
            curation.retire(session, model, slug, "cli:matrix")
        return {"slug": slug}

    return prepare


def earlier_live_model(databases: Databases) -> dict[str, str]:
    """A model that was live before the one that is (so that rolling back changes something),
    with stand-in archives in the review tests' model store (tests/review/conftest.py)."""
    store = Path(MODEL_STORE.name)
    initial = stand_in_archive(store / "matrix-initial.tar.gz")
    job = model_jobs.claim_training(databases.tracker, store, "cli:matrix")
    (store / f"{job.id}.tar.gz").write_bytes(b"stand-in archive")
    model_jobs.update_job(databases.tracker, job.id, file_name=f"{job.id}.tar.gz")
    model_jobs.finish_job(databases.tracker, job.id, "candidate")
    model_store.set_live(databases.tracker, job.id, "cli:matrix", store_dir=store, initial=initial)
    return {"id": model_store.INITIAL_ID}


MODEL_ROWS = rows("SELECT id, status FROM review_models ORDER BY id")
TAGS = rows("SELECT sender_id, tag_id FROM review_conversation_tags ORDER BY 1, 2")
ACCOUNTS_TABLE = rows("SELECT username, role FROM review_staff ORDER BY username")
EVENT_ROWS = lookup_rows("SELECT slug, title, starts_at, retired_at FROM events ORDER BY slug")
PARTNER_ROWS = lookup_rows("SELECT slug, name, city, retired_at FROM partners ORDER BY slug")
# The made-up rows the lookup database starts with, as the review forms send them; dated
# years ahead, so that they stay upcoming whatever the day the tests run.
LOOKUP_FORMS = {
    "event": {
        "title": "Matrix test webinar",
        "starts_on": "2030-05-20T14:00",
        "kind": "webinar",
        "organiser": "ECRIN",
        "online": "on",
        "url": "https://example.org/matrix",
    },
    "partner": {
        "kind": "ecrin_partner",
        "name": "Matrix Test Network",
        "acronym": "MTN",
        "country": "MT",
        "source_url": "https://example.org/mtn",
    },
}
UPLOAD = (
    b"title,kind,organiser,starts_at,source_url\n"
    b"Matrix uploaded course,training,EUPATI,2030-03-01T09:00:00+01:00,https://example.org/u\n"
)
UPLOAD_APPLIED = {
    "filename": "matrix.csv",
    "content": base64.urlsafe_b64encode(UPLOAD).decode(),
    "kind": "",
    "organiser": "",
    "audience": "",
}

ACTIONS: dict[str, Action] = {
    "/login": Action(
        with_carol({"username": CAROL[0], "password": CAROL[1], "next": "/"}), identity
    ),
    "/logout": Action(fields({}), identity),
    "/conversation/status": Action(
        fields({"id": WEB_ID, "status": "reviewed"}),
        rows("SELECT sender_id, status, updated_by FROM review_conversations ORDER BY 1"),
    ),
    "/conversation/tags/add": Action(
        fields({"id": WEB_ID, "name": "matrix", "colour": "red"}), TAGS
    ),
    "/conversation/tags/remove": Action(tagged_conversation, TAGS),
    "/conversation/notes": Action(
        fields({"id": WEB_ID, "body": "a note from the matrix"}),
        rows("SELECT sender_id, body FROM review_notes ORDER BY id"),
    ),
    "/conversation/flag": Action(
        lambda databases: {"id": WEB_ID, "event_id": first_user_event(databases)},
        rows("SELECT event_id FROM review_flags ORDER BY 1"),
    ),
    "/conversation/erase": Action(
        fields({"id": WEB_ID, "confirm": "yes"}),
        rows("SELECT COUNT(*) FROM events WHERE sender_id = :id", id=WEB_ID),
    ),
    "/nlu/label": Action(
        lambda databases: {"event_id": first_user_event(databases), "action": "dismiss"},
        rows("SELECT event_id, status FROM review_nlu_labels ORDER BY 1"),
    ),
    "/corrections/undo": Action(
        live_correction, rows("SELECT id, undone_by FROM review_corrections ORDER BY 1")
    ),
    "/events/new": Action(
        fields({**LOOKUP_FORMS["event"], "title": "Matrix added webinar"}), EVENT_ROWS
    ),
    "/events/edit": Action(
        fields({**LOOKUP_FORMS["event"], "slug": MATRIX_EVENT, "title": "Matrix edited"}),
        EVENT_ROWS,
    ),
    "/events/retire": Action(fields({"slug": MATRIX_EVENT}), EVENT_ROWS),
    "/events/restore": Action(retired(Event, MATRIX_EVENT), EVENT_ROWS),
    "/events/upload": Action(
        fields({}),
        EVENT_ROWS,
        files={"file": ("matrix.csv", UPLOAD, "text/csv")},
        allowed_status=200,
        changes=False,
    ),
    "/events/upload/apply": Action(fields(UPLOAD_APPLIED), EVENT_ROWS),
    "/partners/new": Action(
        fields({**LOOKUP_FORMS["partner"], "name": "Matrix Added Network", "acronym": ""}),
        PARTNER_ROWS,
    ),
    "/partners/edit": Action(
        fields({**LOOKUP_FORMS["partner"], "slug": MATRIX_PARTNER, "city": "Valletta"}),
        PARTNER_ROWS,
    ),
    "/partners/retire": Action(fields({"slug": MATRIX_PARTNER}), PARTNER_ROWS),
    "/partners/restore": Action(retired(Partner, MATRIX_PARTNER), PARTNER_ROWS),
    "/staff/add": Action(
        fields(
            {
                "username": "mallory",
                "password": "mallory password 1",
                "password_again": "mallory password 1",
                "role": "admin",
            }
        ),
        ACCOUNTS_TABLE,
    ),
    "/staff/remove": Action(with_carol({"username": CAROL[0]}), ACCOUNTS_TABLE),
    # The job command of the review tests only prints its id: no model is trained here.
    "/models/train": Action(fields({}), MODEL_ROWS),
    "/models/rollback": Action(earlier_live_model, MODEL_ROWS),
}
