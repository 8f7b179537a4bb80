"""Every route of the review app over HTTP (Starlette's TestClient on the real app and a real
database): sessions, roles, CSRF, throttling, escaping, and what each page and form does."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from starlette.routing import Route

from bot.review.app import create_app
from bot.tracker_db.engine import get_engine
from tests.review.conftest import (
    ADMIN,
    REST_ID,
    REVIEWER,
    TELEGRAM_ID,
    WEB_ID,
    XSS,
    Staff,
    client_for,
    logged_in,
    settings_for,
)
from tests.review.seeding import BASE_TIME, Chat, Turn, save_chats

# (path, method) of every route, and which of them only administrators may use.
ROUTES = {
    ("/login", "GET"),
    ("/login", "POST"),
    ("/logout", "POST"),
    ("/", "GET"),
    ("/export.csv", "GET"),
    ("/export.json", "GET"),
    ("/conversation", "GET"),
    ("/conversation/status", "POST"),
    ("/conversation/tags/add", "POST"),
    ("/conversation/tags/remove", "POST"),
    ("/conversation/notes", "POST"),
    ("/conversation/flag", "POST"),
    ("/conversation/erase", "POST"),
    ("/nlu", "GET"),
    ("/nlu/label", "POST"),
    ("/nlu/export.yml", "GET"),
    ("/corrections", "GET"),
    ("/corrections/undo", "POST"),
    ("/handoffs", "GET"),
    ("/dashboard", "GET"),
    # The Events and Partners pages (tests/review/test_data_pages.py).
    *(
        (f"/{table}{page}", "GET")
        for table in ("events", "partners")
        for page in ("", "/new", "/edit", "/history")
    ),
    *(
        (f"/{table}/{form}", "POST")
        for table in ("events", "partners")
        for form in ("new", "edit", "retire", "restore")
    ),
    ("/events/upload", "GET"),
    ("/events/upload", "POST"),
    ("/events/upload/apply", "POST"),
    ("/staff", "GET"),
    ("/staff/add", "POST"),
    ("/staff/remove", "POST"),
    ("/models", "GET"),
    ("/models/train", "POST"),
    ("/models/rollback", "POST"),
    ("/health", "GET"),
    ("/model/live.tar.gz", "GET"),
}
PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/health", "GET")}
# Outside the session rules: the model server answers its token only, never a session
# (tests/review/test_model_server.py).
TOKEN_ONLY = {("/model/live.tar.gz", "GET")}
ADMIN_ONLY = {
    ("/staff", "GET"),
    ("/staff/add", "POST"),
    ("/staff/remove", "POST"),
    ("/conversation/erase", "POST"),
}
POSTS = sorted(route for route in ROUTES if route[1] == "POST")


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(settings_for("sqlite://"))
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            found |= {(route.path, method) for method in route.methods or () if method != "HEAD"}
    return found


def test_the_route_table_is_the_one_these_tests_cover() -> None:
    assert _app_routes() == ROUTES


@pytest.mark.parametrize(("path", "method"), sorted(ROUTES - PUBLIC - TOKEN_ONLY))
def test_every_page_needs_a_session(seeded_sqlite: str, path: str, method: str) -> None:
    client = client_for(seeded_sqlite)
    reply = client.request(method, f"{path}?id={WEB_ID}", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login")


def test_an_anonymous_visitor_is_sent_back_after_logging_in(seeded_sqlite: str) -> None:
    staff = Staff(client_for(seeded_sqlite))
    reply = staff.client.get(f"/conversation?id={WEB_ID}", follow_redirects=False)
    assert reply.headers["location"] == f"/login?next=%2Fconversation%3Fid%3D{WEB_ID}"
    login = staff.login(*ADMIN, next_path=f"/conversation?id={WEB_ID}")
    assert login.headers["location"] == f"/conversation?id={WEB_ID}"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_elsewhere(seeded_sqlite: str, target: str) -> None:
    reply = Staff(client_for(seeded_sqlite)).login(*ADMIN, next_path=target)
    assert reply.status_code == 303 and reply.headers["location"] == "/"


def test_health_and_styles_need_no_session(seeded_sqlite: str) -> None:
    client = client_for(seeded_sqlite)
    assert client.get("/health").text == "ok"
    assert client.get("/static/review.css").status_code == 200


@pytest.mark.parametrize(("path", "method"), sorted(ADMIN_ONLY))
def test_reviewers_get_403_on_admin_pages(reviewer: Staff, path: str, method: str) -> None:
    if method == "GET":
        reply = reviewer.client.get(path)
    else:
        data = {"id": WEB_ID, "confirm": "yes", "username": "ada", "password": "x" * 12}
        reply = reviewer.post(path, data)
    assert reply.status_code == 403


def test_a_reviewer_cannot_erase_and_the_conversation_stays(
    reviewer: Staff, seeded_sqlite: str
) -> None:
    reviewer.post("/conversation/erase", {"id": WEB_ID, "confirm": "yes"})
    assert reviewer.client.get(f"/conversation?id={WEB_ID}").status_code == 200
    assert "Erase conversation" not in reviewer.client.get(f"/conversation?id={WEB_ID}").text


@pytest.mark.parametrize(("path", "method"), POSTS)
def test_every_form_post_without_the_csrf_token_is_rejected(
    admin: Staff, path: str, method: str
) -> None:
    data = {"id": WEB_ID, "status": "reviewed", "name": "x", "body": "x", "event_id": "1"}
    assert admin.post(path, data, token=False).status_code == 403
    assert admin.post(path, {**data, "csrf_token": "forged"}, token=False).status_code == 403
    assert admin.post(path, {**data, "csrf_token": "ünïcode"}, token=False).status_code == 403


def test_a_post_from_another_session_token_is_rejected(seeded_sqlite: str) -> None:
    ours, theirs = logged_in(seeded_sqlite, ADMIN), logged_in(seeded_sqlite, REVIEWER)
    stolen = theirs.token()
    reply = ours.client.post(
        "/conversation/status",
        data={"id": WEB_ID, "status": "reviewed", "csrf_token": stolen},
        follow_redirects=False,
    )
    assert reply.status_code == 403


def test_login_form_needs_its_csrf_token(seeded_sqlite: str) -> None:
    client = client_for(seeded_sqlite)
    client.get("/login")
    reply = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert reply.status_code == 403


def test_session_cookie_is_httponly_and_samesite_lax(seeded_sqlite: str) -> None:
    reply = Staff(client_for(seeded_sqlite)).login(*ADMIN)
    cookie = reply.headers["set-cookie"].lower()
    assert "review_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


def test_session_cookie_is_secure_behind_https(seeded_sqlite: str) -> None:
    client = client_for(seeded_sqlite, secure_cookies=True)
    client.base_url = client.base_url.copy_with(scheme="https")
    reply = Staff(client).login(*ADMIN)
    assert "; secure" in reply.headers["set-cookie"].lower()


def test_wrong_passwords_are_throttled_per_username_and_address(seeded_sqlite: str) -> None:
    staff = Staff(client_for(seeded_sqlite))
    for _ in range(5):
        assert staff.login(ADMIN[0], "wrong password").status_code == 401
    throttled = staff.login(*ADMIN)  # even the right password, while throttled
    assert throttled.status_code == 429 and "Too many failed attempts" in throttled.text
    assert int(throttled.headers["retry-after"]) == 15 * 60
    assert staff.login(*REVIEWER).status_code == 303  # another account is not locked


def test_a_successful_login_clears_earlier_failures(seeded_sqlite: str) -> None:
    staff = Staff(client_for(seeded_sqlite))
    for _ in range(4):
        staff.login(ADMIN[0], "wrong password")
    assert staff.login(*ADMIN).status_code == 303
    staff.post("/logout", {})
    for _ in range(4):
        assert staff.login(ADMIN[0], "wrong password").status_code == 401
    assert staff.login(*ADMIN).status_code == 303


def test_unknown_usernames_get_the_same_answer_as_wrong_passwords(seeded_sqlite: str) -> None:
    staff = Staff(client_for(seeded_sqlite))
    unknown, wrong = staff.login("nobody", "whatever"), staff.login(ADMIN[0], "whatever")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong username or password." in unknown.text and "Wrong username" in wrong.text


def test_logout_ends_the_session(admin: Staff) -> None:
    assert admin.post("/logout", {}).headers["location"] == "/login"
    assert admin.client.get("/", follow_redirects=False).status_code == 303


def test_a_removed_account_loses_its_session(seeded_sqlite: str) -> None:
    reviewer = logged_in(seeded_sqlite, REVIEWER)
    ada = logged_in(seeded_sqlite, ADMIN)
    assert ada.post("/staff/remove", {"username": REVIEWER[0]}).status_code == 303
    assert reviewer.client.get("/", follow_redirects=False).status_code == 303


def test_security_headers(admin: Staff) -> None:
    headers = admin.client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


# --- Escaping ------------------------------------------------------------------------------------


def test_html_in_a_user_message_is_escaped_everywhere(seeded_sqlite: str, admin: Staff) -> None:
    save_chats(
        seeded_sqlite,
        [Chat("xss-first", [Turn(XSS, "handoff", 0.2)], start=BASE_TIME + 9 * 86_400)],
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/", "/?q=script", "/conversation?id=xss-first", "/nlu", "/handoffs"):
        page = admin.client.get(path).text
        assert escaped in page, path
        assert XSS not in page, path
    admin.post("/conversation/notes", {"id": "xss-first", "body": XSS})
    admin.post("/conversation/tags/add", {"id": "xss-first", "name": "<b>x</b>", "colour": "red"})
    page = admin.client.get("/conversation?id=xss-first").text
    assert XSS not in page and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_a_bad_id_in_the_url_is_escaped_in_the_404(admin: Staff) -> None:
    reply = admin.client.get("/conversation", params={"id": XSS})
    assert reply.status_code == 404 and XSS not in reply.text


# --- The inbox and its exports ---------------------------------------------------------------


def test_inbox_filters_and_search_box(admin: Staff) -> None:
    page = admin.client.get("/").text
    assert page.index("rest-client-7") < page.index("tg-01234567") < page.index("3f2a9c1e")
    assert "3 conversations." in page
    telegram = admin.client.get("/?channel=telegram&handoff=1").text
    assert "tg-01234567" in telegram and "3f2a9c1e" not in telegram
    assert "1 conversation match." in telegram
    search = admin.client.get("/?q=placebo").text
    assert "3f2a9c1e" in search and "tg-01234567" not in search
    assert 'value="placebo"' in search  # the box keeps what was typed
    odd = admin.client.get("/?from=someday")  # a 400 that says why (tests/security too)
    assert odd.status_code == 400 and "from=&#39;someday&#39; cannot be read" in odd.text


def test_inbox_pages(seeded_sqlite: str) -> None:
    chats = [Chat(f"many-{n:02d}", [Turn("hi", "greet")], start=BASE_TIME + n) for n in range(30)]
    save_chats(seeded_sqlite, chats)
    admin = logged_in(seeded_sqlite, ADMIN)
    first = admin.client.get("/").text
    assert "Page 1 of 2" in first and "page=2" in first
    second = admin.client.get("/?page=2").text
    assert "Page 2 of 2" in second and "many-00" in second and "many-00" not in first


def test_csv_export_follows_the_filters(admin: Staff) -> None:
    reply = admin.client.get("/export.csv?low_confidence=1")
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [row["conversation"] for row in rows] == [REST_ID, TELEGRAM_ID]
    assert rows[1]["fallback"] == "True" and rows[1]["channel"] == "telegram"


def test_csv_cells_never_start_a_formula(seeded_sqlite: str, admin: Staff) -> None:
    save_chats(seeded_sqlite, [Chat("formula", [Turn("=HYPERLINK(1)", "greet")])])
    rows = list(csv.DictReader(io.StringIO(admin.client.get("/export.csv?q=HYPERLINK").text)))
    assert rows[0]["first_message"] == "'=HYPERLINK(1)"


def test_json_export_has_the_messages(admin: Staff) -> None:
    reply = admin.client.get("/export.json?channel=web")
    document = json.loads(reply.text)
    assert document["filters"] == {"channel": "web"}
    [conversation] = document["conversations"]
    assert conversation["conversation"] == WEB_ID
    said = [m["text"] for m in conversation["messages"] if m["from"] == "user"]
    assert said == ["hello", "What is a placebo?"]
    assert conversation["messages"][-1]["from"] == "bot"
    assert conversation["messages"][2]["response_key"] == "faq_trials/placebo"


# --- One conversation ---------------------------------------------------------------------------


def test_conversation_page_shows_predictions_entities_and_actions(admin: Staff) -> None:
    page = admin.client.get(f"/conversation?id={REST_ID}").text
    assert "faq_trials/costs" in page and "0.52" in page and "0.30" in page
    assert "country=France" in page
    assert "action_partner" in page
    assert "Erase conversation" in page  # admins see the erase button


def test_mark_reviewed_and_save_for_later(admin: Staff) -> None:
    reply = admin.post("/conversation/status", {"id": WEB_ID, "status": "reviewed"})
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/conversation?id={WEB_ID}"
    page = admin.client.get(reply.headers["location"]).text
    assert "Marked as reviewed." in page and "status--reviewed" in page and "by ada" in page
    assert "3f2a9c1e" in admin.client.get("/?status=reviewed").text
    admin.post("/conversation/status", {"id": WEB_ID, "status": "saved"})
    assert "3f2a9c1e" in admin.client.get("/?status=saved").text
    assert "3f2a9c1e" not in admin.client.get("/?status=reviewed").text
    bad = admin.post("/conversation/status", {"id": "nobody", "status": "reviewed"})
    assert "does not exist" in admin.client.get(bad.headers["location"]).text


def test_tags_are_added_coloured_filtered_and_removed(admin: Staff, seeded_sqlite: str) -> None:
    admin.post("/conversation/tags/add", {"id": WEB_ID, "name": "follow up", "colour": "red"})
    page = admin.client.get(f"/conversation?id={WEB_ID}").text
    assert '<span class="tag tag--red">follow up</span>' in page
    inbox = admin.client.get("/?tag=follow+up").text
    assert "3f2a9c1e" in inbox and "tg-01234567" not in inbox
    with get_engine(seeded_sqlite).connect() as connection:
        tag_id = connection.execute(sa.text("SELECT id FROM review_tags")).scalar()
    admin.post("/conversation/tags/remove", {"id": WEB_ID, "tag_id": str(tag_id)})
    assert "tag--red" not in admin.client.get(f"/conversation?id={WEB_ID}").text
    bad = admin.post("/conversation/tags/add", {"id": WEB_ID, "name": "x", "colour": "pink"})
    assert "Unknown colour" in admin.client.get(bad.headers["location"]).text


def test_notes(admin: Staff) -> None:
    admin.post("/conversation/notes", {"id": WEB_ID, "body": "Answer was fine."})
    page = admin.client.get(f"/conversation?id={WEB_ID}").text
    assert "Answer was fine." in page and "ada," in page
    empty = admin.post("/conversation/notes", {"id": WEB_ID, "body": "   "})
    assert "The note is empty." in admin.client.get(empty.headers["location"]).text


def test_flag_and_unflag_a_message(admin: Staff, seeded_sqlite: str) -> None:
    with get_engine(seeded_sqlite).connect() as connection:
        event_id = connection.execute(
            sa.text("SELECT id FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": WEB_ID},
        ).scalar()
    admin.post("/conversation/flag", {"id": WEB_ID, "event_id": str(event_id)})
    assert "event--flagged" in admin.client.get(f"/conversation?id={WEB_ID}").text
    assert "1 flagged" in admin.client.get("/").text
    admin.post("/conversation/flag", {"id": WEB_ID, "event_id": str(event_id)})
    assert "event--flagged" not in admin.client.get(f"/conversation?id={WEB_ID}").text
    other = admin.post("/conversation/flag", {"id": TELEGRAM_ID, "event_id": str(event_id)})
    assert "not part of this conversation" in admin.client.get(other.headers["location"]).text
    assert admin.post("/conversation/flag", {"id": WEB_ID, "event_id": "x"}).status_code == 400


def test_an_admin_erases_a_conversation_with_its_review_data(
    admin: Staff, seeded_sqlite: str
) -> None:
    admin.post("/conversation/notes", {"id": WEB_ID, "body": "note"})
    admin.post("/conversation/tags/add", {"id": WEB_ID, "name": "t", "colour": "blue"})
    admin.post("/conversation/status", {"id": WEB_ID, "status": "reviewed"})
    unconfirmed = admin.post("/conversation/erase", {"id": WEB_ID})
    assert unconfirmed.headers["location"].startswith("/conversation")
    reply = admin.post("/conversation/erase", {"id": WEB_ID, "confirm": "yes"})
    assert reply.headers["location"] == "/"
    assert "Conversation erased" in admin.client.get("/").text
    assert admin.client.get(f"/conversation?id={WEB_ID}").status_code == 404
    with get_engine(seeded_sqlite).connect() as connection:
        for table in ("events", "review_notes", "review_conversation_tags", "review_conversations"):
            left = connection.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE sender_id = :s"), {"s": WEB_ID}
            ).scalar()
            assert left == 0, table
        others = connection.execute(sa.text("SELECT COUNT(*) FROM events")).scalar()
    assert others > 0


# --- Other pages ------------------------------------------------------------------------------


def test_handoff_queue_page(admin: Staff) -> None:
    page = admin.client.get("/handoffs").text
    assert "can I talk to a real person please" in page and "zzqx blorf wibble" in page
    admin.post("/conversation/status", {"id": TELEGRAM_ID, "status": "reviewed"})
    assert "Nobody has asked" in admin.client.get("/handoffs?status=unread").text
    assert "status--reviewed" in admin.client.get("/handoffs").text


def test_dashboard_draws_svg_charts_without_scripts(admin: Staff) -> None:
    for days, shown in (("7", "7 days"), ("365", "365 days"), ("", "30 days")):
        page = admin.client.get(f"/dashboard{days and '?days='}{days}").text
        assert f'aria-current="page">{shown}</a>' in page
    assert admin.client.get("/dashboard?days=nonsense").status_code == 400
    page = admin.client.get("/dashboard?days=365").text
    assert page.count("<svg") == 8 and "<script" not in page  # 6 + 2 of involvement plans
    assert "User messages" in page and "greet" in page


def test_staff_page_adds_and_removes_accounts(admin: Staff, seeded_sqlite: str) -> None:
    assert "rob" in admin.client.get("/staff").text
    form = {"username": "Carol", "password": "long enough 1", "password_again": "long enough 1"}
    reply = admin.post("/staff/add", {**form, "role": "reviewer"})
    assert "Account carol (reviewer) created." in admin.client.get(reply.headers["location"]).text
    assert logged_in(seeded_sqlite, ("carol", "long enough 1")).client.get("/").status_code == 200
    mismatch = admin.post("/staff/add", {**form, "password_again": "other"})
    assert "differ" in admin.client.get(mismatch.headers["location"]).text
    short = admin.post("/staff/add", {"username": "dan", "password": "s", "password_again": "s"})
    assert "at least 10" in admin.client.get(short.headers["location"]).text
    itself = admin.post("/staff/remove", {"username": "ada"})
    assert "cannot remove your own" in admin.client.get(itself.headers["location"]).text
    removed = admin.client.get(
        admin.post("/staff/remove", {"username": "carol"}).headers["location"]
    )
    assert "Account carol removed." in removed.text and "<td>carol</td>" not in removed.text
