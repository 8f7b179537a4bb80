"""Access matrix of the staff review app: every route, by role, by CSRF token.

The routes come from the app's own route table (`app.routes`), so a route added later without
a line in MINIMUM_ROLE (and a request in PAGES or ACTIONS) fails here instead of going
unchecked. Each cell runs the real app on its own copy of a seeded SQLite database and checks:

* the answer: a page refused to an anonymous visitor is a 303 to /login, one refused to a
  reviewer a 403, and neither shows any of the page's content; an allowed page is a 200 with
  its content;
* the security headers (CSP with frame-ancestors 'none', nosniff, no-store), on every answer;
* the database and the session: a refused request changes nothing at all (every table, row
  for row, and who the session is logged in as), a page (GET) never changes anything, and an
  allowed form post with the session's own token changes what it is for, which shows that
  the "nothing changed" checks can fail.

The rules checked are those of `bot.review.context.guarded`: the session first (anonymous → 303 to
/login, before the form is even read), then the admin role (→ 403), then the CSRF token of
every POST (→ 403), which must come in the form, not the URL.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from bot.review.accounts import add_staff
from bot.review.annotations import add_tag
from bot.review.app import CSRF_FIELD, create_app
from bot.tracker_db.engine import get_engine

# The review tests' fixtures, imported so they apply here too: quick argon2 parameters, and a
# copy of the seeded database for each test (tests/review/conftest.py, not repeated here).
from tests.review.conftest import (  # noqa: F401
    ADMIN,
    REVIEWER,
    WEB_ID,
    Staff,
    client_for,
    logged_in,
    quick_password_hashing,
    seeded_sqlite,
    settings_for,
    sqlite_template,
)


class Role(IntEnum):
    """Who sends the request; a higher role may do everything a lower one may."""

    ANONYMOUS = 0
    REVIEWER = 1
    ADMIN = 2


ACCOUNTS: dict[Role, tuple[str, str] | None] = {
    Role.ANONYMOUS: None,
    Role.REVIEWER: REVIEWER,
    Role.ADMIN: ADMIN,
}

# --- The expected access: (path, method) → the least role that may use it ---------------------
# HEAD follows GET (Starlette serves it for every GET route). Every state-changing method must
# also carry the session's CSRF token; the matrix knows no state-changing method but POST, so
# a PUT or DELETE route fails the coverage test until its rules are added here.

MINIMUM_ROLE: dict[tuple[str, str], Role] = {
    ("/health", "GET"): Role.ANONYMOUS,
    ("/static", "GET"): Role.ANONYMOUS,
    ("/login", "GET"): Role.ANONYMOUS,
    ("/login", "POST"): Role.ANONYMOUS,
    ("/logout", "POST"): Role.REVIEWER,
    ("/", "GET"): Role.REVIEWER,
    ("/export.csv", "GET"): Role.REVIEWER,
    ("/export.json", "GET"): Role.REVIEWER,
    ("/conversation", "GET"): Role.REVIEWER,
    ("/conversation/status", "POST"): Role.REVIEWER,
    ("/conversation/tags/add", "POST"): Role.REVIEWER,
    ("/conversation/tags/remove", "POST"): Role.REVIEWER,
    ("/conversation/notes", "POST"): Role.REVIEWER,
    ("/conversation/flag", "POST"): Role.REVIEWER,
    ("/conversation/erase", "POST"): Role.ADMIN,
    ("/nlu", "GET"): Role.REVIEWER,
    ("/nlu/label", "POST"): Role.REVIEWER,
    ("/nlu/export.yml", "GET"): Role.REVIEWER,
    ("/handoffs", "GET"): Role.REVIEWER,
    ("/dashboard", "GET"): Role.REVIEWER,
    ("/staff", "GET"): Role.ADMIN,
    ("/staff/add", "POST"): Role.ADMIN,
    ("/staff/remove", "POST"): Role.ADMIN,
}
PAGE_METHODS = ("GET", "HEAD")
FORM_METHODS = ("POST",)
KNOWN_METHODS = PAGE_METHODS + FORM_METHODS

# A third account, so that no form acts on the account sending it (a reviewer removing
# themselves is refused by the view, which would hide a missing role check).
CAROL = ("carol", "carol password 1")


# --- What each cell sends ---------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """How to ask for a page, and text that only the page itself contains."""

    url: str
    shows: str
    # Where a logged-in staff member is sent instead (the login form sends them home).
    staff_sent_to: str | None = None


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
    "/handoffs": Page("/handoffs", "can I talk to a real person please"),
    "/dashboard": Page("/dashboard", "<svg"),
    "/staff": Page("/staff", "<td>rob</td>"),
}

Probe = Callable[[Engine, TestClient], Any]


@dataclass(frozen=True)
class Action:
    """A form post that would change something if allowed: `form` prepares the database and
    returns the fields (without the token); `watched` reads what the post changes."""

    form: Callable[[Engine], dict[str, str]]
    watched: Probe


def select(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql), params)]


def rows(sql: str, **params: Any) -> Probe:
    """A probe: the rows `sql` selects."""
    return lambda engine, _client: select(engine, sql, **params)


def identity(_engine: Engine, client: TestClient) -> str:
    """Who the client's session is logged in as ("anonymous" when nobody), from the page header
    (base.html shows "name (role)" next to the logout button)."""
    reply = client.get("/", follow_redirects=False)
    if reply.status_code == 303 and reply.headers["location"].startswith("/login"):
        return "anonymous"
    found = re.search(r"<span>([\w.@+-]+) \((?:admin|reviewer)\)</span>", reply.text)
    assert reply.status_code == 200 and found, f"cannot tell who is logged in: {reply.text[:300]}"
    return found.group(1)


def fields(form: dict[str, str]) -> Callable[[Engine], dict[str, str]]:
    return lambda _engine: dict(form)


def with_carol(form: dict[str, str]) -> Callable[[Engine], dict[str, str]]:
    def prepare(engine: Engine) -> dict[str, str]:
        add_staff(engine, *CAROL, role="reviewer")
        return dict(form)

    return prepare


def first_user_event(engine: Engine) -> str:
    found = select(
        engine,
        "SELECT id FROM events WHERE sender_id = :id AND type_name = 'user' ORDER BY id",
        id=WEB_ID,
    )
    return str(found[0][0])


def tagged_conversation(engine: Engine) -> dict[str, str]:
    add_tag(engine, WEB_ID, "existing", "blue", ADMIN[0])
    [(tag_id,)] = select(engine, "SELECT id FROM review_tags WHERE name = 'existing'")
    return {"id": WEB_ID, "tag_id": str(tag_id)}


TAGS = rows("SELECT sender_id, tag_id FROM review_conversation_tags ORDER BY 1, 2")
ACCOUNTS_TABLE = rows("SELECT username, role FROM review_staff ORDER BY username")

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
        lambda engine: {"id": WEB_ID, "event_id": first_user_event(engine)},
        rows("SELECT event_id FROM review_flags ORDER BY 1"),
    ),
    "/conversation/erase": Action(
        fields({"id": WEB_ID, "confirm": "yes"}),
        rows("SELECT COUNT(*) FROM events WHERE sender_id = :id", id=WEB_ID),
    ),
    "/nlu/label": Action(
        lambda engine: {"event_id": first_user_event(engine), "action": "dismiss"},
        rows("SELECT event_id, status FROM review_nlu_labels ORDER BY 1"),
    ),
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
}


class Token(Enum):
    """The CSRF token a form post carries."""

    VALID = "own token"
    MISSING = "no token"
    WRONG = "made-up token"
    OTHER_SESSION = "token of another session"
    IN_URL = "own token in the URL only"


# --- The cells, from the app's own route table -----------------------------------------------


def served_methods(app: Starlette) -> dict[str, set[str]]:
    """path → the methods `app` serves there. A static mount serves GET and HEAD; any other
    kind of route gets a marker no expected-access entry can match, so it fails the matrix."""
    served: dict[str, set[str]] = defaultdict(set)
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            served[route.path] |= set(PAGE_METHODS)
        elif isinstance(route, Route):
            served[route.path] |= set(route.methods or {"ANY METHOD"})
        else:
            served[getattr(route, "path", repr(route))].add(type(route).__name__)
    return dict(served)


def rule_for(method: str) -> str:
    """The MINIMUM_ROLE method whose rule `method` follows (Starlette adds HEAD to GET)."""
    return "GET" if method == "HEAD" else method


def matrix_gaps(app: Starlette) -> list[str]:
    """What the matrix does not cover in `app`'s routes, one line each (empty: all covered)."""
    served = served_methods(app)
    gaps = set()
    for path, methods in served.items():
        for method in methods:
            if method not in KNOWN_METHODS:
                gaps.add(
                    f"route {method} {path}: the matrix knows GET, HEAD and POST only: "
                    "add this method (and its CSRF rule) to it"
                )
            elif (path, rule_for(method)) not in MINIMUM_ROLE:
                gaps.add(f"route {method} {path} has no expected access: add it to the matrix")
            elif method in PAGE_METHODS and path not in PAGES:
                gaps.add(f"route {method} {path} has no request in PAGES: add one")
            elif method in FORM_METHODS and path not in ACTIONS:
                gaps.add(f"route {method} {path} has no form in ACTIONS: add one")
    for path, method in MINIMUM_ROLE:
        if method not in served.get(path, set()):
            gaps.add(f"MINIMUM_ROLE lists {method} {path}, which the app does not serve")
    return sorted(gaps)


@dataclass(frozen=True)
class Cell:
    path: str
    method: str
    role: Role
    token: Token | None = None

    def __str__(self) -> str:
        via = f" with {self.token.value}" if self.token else ""
        return f"{self.method} {self.path} as {self.role.name.lower()}{via}"


def matrix_cells() -> tuple[list[Cell], list[Cell], list[Cell]]:
    """The page cells, the form cells, and the cells of a method a path does not serve."""
    served = served_methods(create_app(settings_for("sqlite://")))
    pages, forms, unserved = [], [], []
    for path, methods in sorted(served.items()):
        for role in Role:
            pages += [Cell(path, method, role) for method in PAGE_METHODS if method in methods]
            if "POST" in methods:
                forms += [Cell(path, "POST", role, token) for token in Token]
            unserved += [Cell(path, m, role) for m in ("GET", "POST") if m not in methods]
    return pages, forms, unserved


PAGE_CELLS, FORM_CELLS, UNSERVED_CELLS = matrix_cells()
CHECKED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_cell_count(pytestconfig: pytest.Config) -> Iterator[None]:
    """Say how many cells were checked, once the module is done."""
    yield
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    # Teardown output is captured (and dropped) unless capturing is paused for it.
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\naccess matrix: {sum(CHECKED.values())} cells checked "
            f"({CHECKED['page']} page, {CHECKED['form']} form, "
            f"{CHECKED['unserved']} unserved-method)"
        )


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """A seeded SQLite database of this cell's own (a copy, see tests/review/conftest.py)."""
    url: str = request.getfixturevalue("seeded_sqlite")
    yield url, get_engine(url)
    get_engine(url).dispose()


def browser(url: str, role: Role) -> Staff:
    """A client of a new app on `url`, logged in as `role` (anonymous: never logged in)."""
    account = ACCOUNTS[role]
    return Staff(client_for(url)) if account is None else logged_in(url, account)


def own_token(staff: Staff) -> str:
    # Anonymous visitors are sent on to the login form, which carries the token too.
    return staff.token("/")


def everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (Rasa's and ours), sorted: equal snapshots, nothing changed."""
    with engine.connect() as connection:
        return {
            name: sorted(
                (tuple(row) for row in connection.execute(sa.text(f'SELECT * FROM "{name}"'))),
                key=repr,
            )
            for name in sa.inspect(connection).get_table_names()
        }


@dataclass(frozen=True)
class Snapshot:
    who: str
    watched: Any
    database: dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine, client: TestClient, watched: Probe | None = None) -> Snapshot:
    # `identity` first: its page view brings the derived message tables up to date, so a
    # refused request cannot look like a change because it was the first to view a page.
    who = identity(engine, client)
    return Snapshot(who, watched(engine, client) if watched else None, everything(engine))


def assert_security_headers(reply: httpx.Response) -> None:
    headers = reply.headers
    assert headers.get("cache-control") == "no-store", headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert headers.get("x-frame-options") == "DENY", headers


def expected_minimum(cell: Cell) -> Role:
    minimum = MINIMUM_ROLE.get((cell.path, rule_for(cell.method)))
    if minimum is None:
        pytest.fail(f"route {cell.method} {cell.path} has no expected access: add it to the matrix")
    return minimum


def assert_refused(reply: httpx.Response, role: Role) -> None:
    """Refused as `guarded` refuses: anonymous → 303 to /login; a reviewer → 403."""
    if role is Role.ANONYMOUS:
        assert reply.status_code == 303, reply.text[:300]
        assert reply.headers["location"].startswith("/login"), reply.headers["location"]
    else:
        assert reply.status_code == 403, reply.text[:300]


# --- The matrix -----------------------------------------------------------------------------


def test_the_matrix_covers_every_route_of_the_app() -> None:
    assert matrix_gaps(create_app(settings_for("sqlite://"))) == []


def test_a_route_added_without_an_entry_fails_the_matrix() -> None:
    """The coverage check itself can fail: a new route, a new method and a mounted sub-app are
    each reported."""
    app = create_app(settings_for("sqlite://"))
    app.router.routes += [
        Route("/staff/export", PlainTextResponse, methods=["GET"]),
        Route("/conversation/tags/add", PlainTextResponse, methods=["DELETE"]),
        Mount("/admin", routes=[]),
    ]
    assert matrix_gaps(app) == [
        "route DELETE /conversation/tags/add: the matrix knows GET, HEAD and POST only: "
        "add this method (and its CSRF rule) to it",
        "route GET /staff/export has no expected access: add it to the matrix",
        "route HEAD /staff/export has no expected access: add it to the matrix",
        "route Mount /admin: the matrix knows GET, HEAD and POST only: "
        "add this method (and its CSRF rule) to it",
    ]


@pytest.mark.slow  # 300 cells, each on its own database: `make test`, not test-fast
@pytest.mark.parametrize("cell", PAGE_CELLS, ids=str)
def test_page_cell(cell: Cell, database: tuple[str, Engine]) -> None:
    url, engine = database
    minimum = expected_minimum(cell)
    page = PAGES[cell.path]
    staff = browser(url, cell.role)
    before = snapshot(engine, staff.client)

    reply = staff.client.request(cell.method, page.url, follow_redirects=False)

    assert_security_headers(reply)
    if cell.role < minimum:
        assert_refused(reply, cell.role)
        assert page.shows not in reply.text
    elif page.staff_sent_to and cell.role > Role.ANONYMOUS:
        assert reply.status_code == 303 and reply.headers["location"] == page.staff_sent_to
    else:
        assert reply.status_code == 200, reply.text[:300]
        if cell.method == "GET":
            assert page.shows in reply.text
    # Pages are links anyone can make a browser follow: they never change anything.
    assert snapshot(engine, staff.client) == before
    CHECKED["page"] += 1


@pytest.mark.slow  # 300 cells, each on its own database: `make test`, not test-fast
@pytest.mark.parametrize("cell", FORM_CELLS, ids=str)
def test_form_cell(cell: Cell, database: tuple[str, Engine]) -> None:
    url, engine = database
    minimum = expected_minimum(cell)
    action = ACTIONS[cell.path]
    form = action.form(engine)
    staff = browser(url, cell.role)
    own = own_token(staff)
    others = own_token(browser(url, cell.role))
    assert others != own
    target, data = cell.path, dict(form)
    if cell.token is Token.VALID:
        data[CSRF_FIELD] = own
    elif cell.token is Token.WRONG:
        data[CSRF_FIELD] = secrets.token_urlsafe(32)
    elif cell.token is Token.OTHER_SESSION:
        data[CSRF_FIELD] = others
    elif cell.token is Token.IN_URL:
        target = f"{cell.path}?{urlencode({CSRF_FIELD: own})}"
    before = snapshot(engine, staff.client, action.watched)

    reply = staff.client.post(target, data=data, follow_redirects=False)

    assert_security_headers(reply)
    after = snapshot(engine, staff.client, action.watched)
    if cell.role < minimum:
        assert_refused(reply, cell.role)
        assert after == before, "a refused post changed something"
    elif cell.token is Token.VALID:
        assert reply.status_code == 303, reply.text[:300]
        assert after.watched != before.watched, "an allowed post changed nothing"
    else:
        assert reply.status_code == 403, reply.text[:300]
        assert after == before, "a post without its session's token changed something"
    CHECKED["form"] += 1


@pytest.mark.slow  # 300 cells, each on its own database: `make test`, not test-fast
@pytest.mark.parametrize("cell", UNSERVED_CELLS, ids=str)
def test_unserved_method_cell(cell: Cell, database: tuple[str, Engine]) -> None:
    """A form handler cannot be reached by a link (a GET carrying the form and even a valid
    token), and a page cannot be posted to: 405, nothing changed."""
    url, engine = database
    staff = browser(url, cell.role)
    token = own_token(staff)
    if cell.method == "GET":
        action = ACTIONS.get(cell.path)
        query = {**(action.form(engine) if action else {}), CSRF_FIELD: token}
        before = snapshot(engine, staff.client)
        reply = staff.client.get(cell.path, params=query, follow_redirects=False)
    else:
        before = snapshot(engine, staff.client)
        page = PAGES.get(cell.path, Page(cell.path, ""))
        reply = staff.client.post(page.url, data={CSRF_FIELD: token}, follow_redirects=False)

    assert reply.status_code == 405, reply.text[:300]
    assert_security_headers(reply)
    assert snapshot(engine, staff.client) == before
    CHECKED["unserved"] += 1
