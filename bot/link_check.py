"""Check every address the assistant gives people, and keep each one's last answer.

The assistant ends its event and partner answers with a link; a link that has moved or died
sends people nowhere, and nobody notices until a user complains. `check_links` asks each
published address once (HEAD, then GET when HEAD is refused), follows redirects, and stores
the answer in `link_checks` for the dashboard (bot/data_health.py). Staff run it as
`bot data check-links`, by hand or from a scheduler (docs/data.md).

Plain urllib in a few threads: the check runs rarely, a handful of addresses at a time, and
the runtime image has no async HTTP client to add for it.
"""

from __future__ import annotations

import datetime as dt
import http.client
import itertools
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Event, LinkCheck, Partner

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 8
# At most this many requests to one host at a time: most addresses are on a few sites
# (ecrin.org, eupati.eu), and a link check must not look like a burst of traffic to them.
PER_HOST = 2
# Names the project and says what the request is, so a site's staff reading their logs know.
USER_AGENT = "ECRIN-assistant-link-check/1.0 (checks the links the ECRIN assistant gives)"

# The columns that hold an address the assistant shows, per table.
EVENT_URL_FIELDS = ("url", "source_url")
PARTNER_URL_FIELDS = ("website", "contact_url", "source_url")


@dataclass(frozen=True)
class RowRef:
    """A live row that shows an address: which table, which row, and in which fields."""

    table: str  # "events" or "partners"
    slug: str
    name: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.table}/{self.slug}"


@dataclass(frozen=True)
class LinkResult:
    """One address's answer: ok when the final status (after redirects) is below 400."""

    url: str
    ok: bool
    status: int | None
    error: str | None
    checked_at: dt.datetime

    @property
    def problem(self) -> str:
        """What went wrong, in a few words ("HTTP 404", "timed out"); "" when ok."""
        return "" if self.ok else (self.error or f"HTTP {self.status}")


@dataclass(frozen=True)
class LinkReport:
    """The answers of one run, with the rows that use each address."""

    results: tuple[LinkResult, ...]
    used_by: Mapping[str, list[RowRef]]

    @property
    def checked(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[LinkResult]:
        return [result for result in self.results if not result.ok]

    def summary(self) -> str:
        failed = len(self.failures)
        return f"Checked {self.checked} link(s): {self.checked - failed} ok, {failed} failed."


def published_urls(session: Session) -> dict[str, list[RowRef]]:
    """Every http(s) address a live (not retired) event or partner shows, with the rows that
    show it; an address in two fields of one row is one RowRef naming both fields."""
    found: dict[str, dict[tuple[str, str], RowRef]] = defaultdict(dict)

    def add(table: str, slug: str, name: str, values: Iterable[tuple[str, str | None]]) -> None:
        for field, value in values:
            url = (value or "").strip()
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                continue
            known = found[url].get((table, slug))
            fields = (*known.fields, field) if known else (field,)
            found[url][(table, slug)] = RowRef(table, slug, name, fields)

    for event in session.scalars(select(Event).where(Event.retired_at.is_(None))):
        values = [(field, getattr(event, field)) for field in EVENT_URL_FIELDS]
        add("events", event.slug, event.title, values)
    for partner in session.scalars(select(Partner).where(Partner.retired_at.is_(None))):
        values = [(field, getattr(partner, field)) for field in PARTNER_URL_FIELDS]
        add("partners", partner.slug, partner.display_name, values)
    return {url: list(rows.values()) for url, rows in sorted(found.items())}


def check_links(
    session: Session,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    only_failed: bool = False,
) -> LinkReport:
    """Check every published address once (only those whose last check failed, with
    `only_failed`) and store each answer in `link_checks`. A full run also forgets the answers
    of addresses no live row shows any more, so the dashboard lists only what people see.

    The session's reads are committed before the network is asked: a check takes minutes, and
    a transaction left open that long holds locks (and may be ended by the server). The
    answers are written in a new transaction that the caller commits."""
    used_by = published_urls(session)
    urls = list(used_by)
    if only_failed:
        failed = set(session.scalars(select(LinkCheck.url).where(LinkCheck.ok.is_(False))))
        urls = [url for url in urls if url in failed]
    session.commit()
    results = check_urls(urls, timeout=timeout, concurrency=concurrency)
    for result in results:
        session.merge(
            LinkCheck(
                url=result.url,
                checked_at=result.checked_at,
                ok=result.ok,
                status=result.status,
                error=result.error,
            )
        )
    if not only_failed:
        session.execute(delete(LinkCheck).where(LinkCheck.url.not_in(urls)))
    session.flush()
    return LinkReport(tuple(results), {url: used_by[url] for url in urls})


def check_urls(
    urls: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[LinkResult]:
    """Check each address (duplicates once) in up to `concurrency` threads, at most PER_HOST
    at a time per host; the results come back in the order of `urls`."""
    unique = list(dict.fromkeys(urls))
    if not unique:
        return []
    host_slots = {_host(url): threading.Semaphore(PER_HOST) for url in unique}

    def check(url: str) -> LinkResult:
        with host_slots[_host(url)]:
            return check_url(url, timeout=timeout)

    order = _interleaved(unique)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        answers = dict(zip(order, pool.map(check, order), strict=True))
    return [answers[url] for url in unique]


def check_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> LinkResult:
    """Ask `url` with HEAD, following redirects; when HEAD gets an error status, ask once more
    with GET, whose answer counts: many servers refuse HEAD (405, 501, some 403 or 404) while
    serving the page. `timeout` bounds each wait on the network (connecting, each read)."""
    try:
        status = _status(url, "HEAD", timeout)
        if status >= 400:
            status = _status(url, "GET", timeout)
    except _RedirectLeadsNowhere as nowhere:
        return LinkResult(url, False, nowhere.status, str(nowhere), _now())
    except (OSError, http.client.HTTPException, ValueError) as error:
        return LinkResult(url, False, None, describe_error(error), _now())
    ok = status < 400
    return LinkResult(url, ok, status, None if ok else f"HTTP {status}", _now())


class _RedirectLeadsNowhere(Exception):
    """A redirect urllib would not follow: a loop, too many hops, no Location, or a move to a
    scheme other than http(s). Its 3xx status is no answer: the page is not reached."""

    def __init__(self, status: int, message: str) -> None:
        loop = "infinite loop" in message
        super().__init__("redirect loop" if loop else f"HTTP {status}: redirect not followed")
        self.status = status


class _RedirectsKeepTheMethod(urllib.request.HTTPRedirectHandler):
    """urllib rebuilds a redirected request without its method, so a HEAD would turn into a
    GET and download the page; here a HEAD stays a HEAD to the end of the redirects."""

    def redirect_request(
        self, req: urllib.request.Request, fp, code: int, msg: str, headers, newurl: str
    ) -> urllib.request.Request | None:
        follow = super().redirect_request(req, fp, code, msg, headers, newurl)
        if follow is not None and req.get_method() == "HEAD":
            follow.method = "HEAD"
        return follow


_opener = urllib.request.build_opener(_RedirectsKeepTheMethod)


def _status(url: str, method: str, timeout: float) -> int:
    """The final HTTP status of `method url` after redirects; the body is never read."""
    request = urllib.request.Request(
        url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:  # an answer, only not a good one
        error.close()
        if error.code < 400:
            raise _RedirectLeadsNowhere(error.code, str(error.msg)) from None
        return int(error.code)


def describe_error(error: BaseException) -> str:
    """A few words for an address that gave no HTTP answer, for staff to read."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, socket.gaierror):
        return "host name not found"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed the connection without answering"
    if isinstance(error, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(error).__name__})"
    if isinstance(error, ValueError):
        return f"not a valid address ({error})"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _interleaved(urls: list[str]) -> list[str]:
    """`urls` taken one host at a time, round-robin, so the threads spread over the hosts
    instead of all waiting for one host's PER_HOST slots."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[_host(url)].append(url)
    rounds = itertools.zip_longest(*by_host.values())
    return [url for round_ in rounds for url in round_ if url is not None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
