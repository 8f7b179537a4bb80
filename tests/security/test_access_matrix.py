"""Access matrix of the staff review app: every route, by role, by CSRF token.

The routes come from the app's own route table (`app.routes`), so a route added later without
a line in MINIMUM_ROLE (and a request in PAGES or ACTIONS, tests/security/access_requests.py)
fails here instead of going unchecked. Each cell runs the real app on its own copies of two
seeded SQLite databases (the tracker store, and the lookup database of events and partners)
and checks:

* the answer: a page refused to an anonymous visitor is a 303 to /login, one refused to a
  logged-in role a 403, and neither shows any of the page's content; an allowed page is a 200
  with its content;
* the security headers (CSP with frame-ancestors 'none', nosniff, no-store), on every answer;
* the databases and the session: a refused request changes nothing at all (every table of
  both databases, row for row, and who the session is logged in as), a page (GET) never
  changes anything, and an allowed form post with the session's own token changes what it is
  for, which shows that the "nothing changed" checks can fail.

The rules checked are those of `bot.review.context.guarded`: the session first (anonymous → 303 to
/login, before the form is even read), then the role (admin pages → 403 for others; data
changes → 403 for reviewers), then the CSRF token of every POST (→ 403), which must come in the
form, not the URL.
"""

from __future__ import annotations

import secrets
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, IntEnum
from pathlib import Path
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

from bot import curation, db
from bot.review.accounts import add_staff
from bot.review.app import CSRF_FIELD, create_app

# The review tests' fixtures, imported so they apply here too: quick argon2 parameters, and a
# copy of the seeded database for each test (tests/review/conftest.py, not repeated here).
from tests.review.conftest import (  # noqa: F401
    ADMIN,
    EDITOR,
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
from tests.security.access_requests import (
    ACTIONS,
    LOOKUP_FORMS,
    MATRIX_EVENT,
    PAGES,
    Databases,
    Page,
    Probe,
    identity,
)


class Role(IntEnum):
    """Who sends the request; a higher role may do everything a lower one may."""

    ANONYMOUS = 0
    REVIEWER = 1
    EDITOR = 2  # a reviewer who may also change events and partners
    ADMIN = 3
    # No staff session opens it, whatever the role: the model server answers its token only
    # (MODEL_SERVER_TOKEN, the Rasa servers'), and 401 to anyone without it.
    TOKEN_ONLY = 4


ACCOUNTS: dict[Role, tuple[str, str] | None] = {
    Role.ANONYMOUS: None,
    Role.REVIEWER: REVIEWER,
    Role.EDITOR: EDITOR,
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
    # Whoever may relabel a message (any staff member) may undo the correction it made.
    ("/corrections", "GET"): Role.REVIEWER,
    ("/corrections/undo", "POST"): Role.REVIEWER,
    ("/handoffs", "GET"): Role.REVIEWER,
    ("/dashboard", "GET"): Role.REVIEWER,
    # Every staff member reads the assistant's events and partners; editors change them.
    **{
        (f"/{table}{page}", "GET"): Role.REVIEWER
        for table in ("events", "partners")
        for page in ("", "/new", "/edit", "/history")
    },
    **{
        (f"/{table}/{form}", "POST"): Role.EDITOR
        for table in ("events", "partners")
        for form in ("new", "edit", "retire", "restore")
    },
    ("/events/upload", "GET"): Role.REVIEWER,
    ("/events/upload", "POST"): Role.EDITOR,
    ("/events/upload/apply", "POST"): Role.EDITOR,
    # Training and deploying models: editors and admins, to see as to act.
    ("/models", "GET"): Role.EDITOR,
    ("/models/train", "POST"): Role.EDITOR,
    ("/models/rollback", "POST"): Role.EDITOR,
    ("/staff", "GET"): Role.ADMIN,
    ("/staff/add", "POST"): Role.ADMIN,
    ("/staff/remove", "POST"): Role.ADMIN,
    ("/model/live.tar.gz", "GET"): Role.TOKEN_ONLY,
}
PAGE_METHODS = ("GET", "HEAD")
FORM_METHODS = ("POST",)
KNOWN_METHODS = PAGE_METHODS + FORM_METHODS


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
        for role in ACCOUNTS:  # who sends requests (TOKEN_ONLY is no one's session)
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


@pytest.fixture(scope="session")
def lookup_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lookup database at the schema's head with the matrix's event and partner, made once
    and copied for each cell."""
    path = tmp_path_factory.mktemp("lookup") / "lookup.db"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    with db.session_scope(url) as session:
        assert curation.save_event(session, LOOKUP_FORMS["event"], "cli:matrix").slug == (
            MATRIX_EVENT
        )
        curation.save_partner(session, LOOKUP_FORMS["partner"], "cli:matrix")
    db.get_engine(url).dispose()  # SQLite writes its WAL back into the file: a copy has it all
    return path


@pytest.fixture
def database(
    request: pytest.FixtureRequest, lookup_template: Path, tmp_path: Path
) -> Iterator[Databases]:
    """Seeded SQLite databases of this cell's own (copies, see tests/review/conftest.py), with
    an editor beside the admin and the reviewer."""
    url: str = request.getfixturevalue("seeded_sqlite")
    lookup = tmp_path / "lookup.db"
    shutil.copyfile(lookup_template, lookup)
    databases = Databases(url, f"sqlite:///{lookup}")
    add_staff(databases.tracker, *EDITOR, role="editor")
    yield databases
    databases.tracker.dispose()
    databases.lookup.dispose()


def browser(databases: Databases, role: Role) -> Staff:
    """A client of a new app on `databases`, logged in as `role` (anonymous: never logged
    in)."""
    account = ACCOUNTS[role]
    url, lookup = databases.tracker_url, databases.lookup_url
    if account is None:
        return Staff(client_for(url, lookup_database_url=lookup))
    return logged_in(url, account, lookup_database_url=lookup)


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
    # Events, partners and their audit trail (data_changes), and the rest of that database.
    lookup: dict[str, list[tuple[Any, ...]]]


def snapshot(databases: Databases, client: TestClient, watched: Probe | None = None) -> Snapshot:
    # `identity` first: its page view brings the derived message tables up to date, so a
    # refused request cannot look like a change because it was the first to view a page.
    who = identity(databases, client)
    return Snapshot(
        who,
        watched(databases, client) if watched else None,
        everything(databases.tracker),
        everything(databases.lookup),
    )


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


def assert_refused(reply: httpx.Response, role: Role, minimum: Role | None = None) -> None:
    """Refused as `guarded` refuses: anonymous → 303 to /login; a role too low → 403. The
    model server, outside `guarded`, refuses every session alike: 401, no token."""
    if minimum is Role.TOKEN_ONLY:
        assert reply.status_code == 401, reply.text[:300]
    elif role is Role.ANONYMOUS:
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


@pytest.mark.slow  # hundreds of cells, each on its own databases: `make test`, not test-fast
@pytest.mark.parametrize("cell", PAGE_CELLS, ids=str)
def test_page_cell(cell: Cell, database: Databases) -> None:
    minimum = expected_minimum(cell)
    page = PAGES[cell.path]
    staff = browser(database, cell.role)
    before = snapshot(database, staff.client)

    reply = staff.client.request(cell.method, page.url, follow_redirects=False)

    assert_security_headers(reply)
    if cell.role < minimum:
        assert_refused(reply, cell.role, minimum)
        assert page.shows not in reply.text
    elif page.staff_sent_to and cell.role > Role.ANONYMOUS:
        assert reply.status_code == 303 and reply.headers["location"] == page.staff_sent_to
    else:
        assert reply.status_code == 200, reply.text[:300]
        if cell.method == "GET":
            assert page.shows in reply.text
    # Pages are links anyone can make a browser follow: they never change anything.
    assert snapshot(database, staff.client) == before
    CHECKED["page"] += 1


@pytest.mark.slow  # hundreds of cells, each on its own databases: `make test`, not test-fast
@pytest.mark.parametrize("cell", FORM_CELLS, ids=str)
def test_form_cell(cell: Cell, database: Databases) -> None:
    minimum = expected_minimum(cell)
    action = ACTIONS[cell.path]
    form = action.form(database)
    staff = browser(database, cell.role)
    own = own_token(staff)
    others = own_token(browser(database, cell.role))
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
    before = snapshot(database, staff.client, action.watched)

    reply = staff.client.post(target, data=data, files=action.files, follow_redirects=False)

    assert_security_headers(reply)
    after = snapshot(database, staff.client, action.watched)
    if cell.role < minimum:
        assert_refused(reply, cell.role)
        assert after == before, "a refused post changed something"
    elif cell.token is Token.VALID:
        assert reply.status_code == action.allowed_status, reply.text[:300]
        if action.changes:
            assert after.watched != before.watched, "an allowed post changed nothing"
        else:
            assert after == before, "a post that only shows something changed something"
    else:
        assert reply.status_code == 403, reply.text[:300]
        assert after == before, "a post without its session's token changed something"
    CHECKED["form"] += 1


@pytest.mark.slow  # hundreds of cells, each on its own databases: `make test`, not test-fast
@pytest.mark.parametrize("cell", UNSERVED_CELLS, ids=str)
def test_unserved_method_cell(cell: Cell, database: Databases) -> None:
    """A form handler cannot be reached by a link (a GET carrying the form and even a valid
    token), and a page cannot be posted to: 405, nothing changed."""
    staff = browser(database, cell.role)
    token = own_token(staff)
    if cell.method == "GET":
        action = ACTIONS.get(cell.path)
        query = {**(action.form(database) if action else {}), CSRF_FIELD: token}
        before = snapshot(database, staff.client)
        reply = staff.client.get(cell.path, params=query, follow_redirects=False)
    else:
        before = snapshot(database, staff.client)
        page = PAGES.get(cell.path, Page(cell.path, ""))
        reply = staff.client.post(page.url, data={CSRF_FIELD: token}, follow_redirects=False)

    assert reply.status_code == 405, reply.text[:300]
    assert_security_headers(reply)
    assert snapshot(database, staff.client) == before
    CHECKED["unserved"] += 1
