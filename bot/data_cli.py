"""`bot data …`: keeping the events and partners current from the command line.

bot data history        who changed which event or partner, and how (newest first)
bot data check-links    check every published address; exit 1 when one failed (for cron)
bot data health         stale rows, failed links, how far the calendar reaches; exit 1 on a warning

Kept apart from bot/cli.py (which only calls `register`) so the staff data tools live in one
place; the work itself is in bot/audit.py, bot/link_check.py and bot/data_health.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from bot.link_check import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, RowRef

TABLES = ("events", "partners")
Handler = Callable[[argparse.Namespace], int]


def register(
    group: Callable[[str, str], Any], add: Callable[[Any, str, Handler, str], Any]
) -> None:
    """Add the `data` group to the `bot` parser, with bot/cli.py's own `group` and `add`."""
    data = group("data", "keeping events and partners current (docs/data.md)")
    history = add(data, "history", _history, "who changed which event or partner, newest first")
    history.add_argument("--table", choices=TABLES, help="only events or only partners")
    history.add_argument("--slug", help="only this row (its slug)")
    history.add_argument(
        "--limit", type=_positive_int, default=20, help="at most N changes (default 20)"
    )
    checking = add(
        data, "check-links", _check_links, "check every published link; exit 1 if one failed"
    )
    checking.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"longest wait on one address (default {DEFAULT_TIMEOUT:g})",
    )
    checking.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"addresses checked at once (default {DEFAULT_CONCURRENCY})",
    )
    checking.add_argument(
        "--only-failed", action="store_true", help="re-check only the links that failed last time"
    )
    add(data, "health", _health, "stale rows, failed links, the calendar; exit 1 on a warning")


def _history(args: argparse.Namespace) -> int:
    from bot.audit import history
    from bot.db import session_scope

    with session_scope() as session:
        changes = history(session, args.table, args.slug, args.limit)
    if not changes:
        print("No changes recorded.")
        return 0
    for change in changes:
        print(
            f"{change.changed_at:%Y-%m-%d %H:%M} UTC  {change.table_name}/{change.slug}  "
            f"{change.action} by {change.staff}"
        )
        for field, (before, after) in change.changes.items():
            print(f"    {field}: {_shown(before)} -> {_shown(after)}")
    print(f"{len(changes)} change(s), newest first.")
    return 0


def _check_links(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.link_check import check_links

    with session_scope() as session:
        report = check_links(
            session,
            timeout=args.timeout,
            concurrency=args.concurrency,
            only_failed=args.only_failed,
        )
    print(report.summary())
    for failure in report.failures:
        used_by = _rows(report.used_by[failure.url])
        print(f"FAILED {failure.url}: {failure.problem} (used by {used_by})")
    return 1 if report.failures else 0


def _health(_: argparse.Namespace) -> int:
    from bot import dates
    from bot.data_health import data_health
    from bot.db import session_scope

    with session_scope() as session:
        health = data_health(session, dates.today())
    print("\n".join(health.summary()))
    for row in health.stale_rows:
        checked = row.last_checked.isoformat() if row.last_checked else "never"
        print(f"STALE {row.table}/{row.slug} ({row.name}): last checked {checked}")
    for link in health.failed_links:
        print(f"FAILED {link.url}: {link.problem} (used by {_rows(link.used_by)})")
    return 1 if health.warnings else 0


def _rows(refs: Iterable[RowRef]) -> str:
    return ", ".join(str(ref) for ref in refs)


def _shown(value: object) -> str:
    """A trail value as staff read it: "(none)" for no value, else quoted (spaces show)."""
    return "(none)" if value is None else repr(value)


def _positive_int(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text}")
    return number


def _positive_float(text: str) -> float:
    number = float(text)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text}")
    return number
