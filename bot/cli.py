"""`bot`: one command line for running the assistant and for staff tasks.

bot run                 start the action server, the Rasa server and the review app (Ctrl-C)
bot run --only rasa     one of them alone (rasa, actions or review), for containers/replicas
bot run --scaled        2 Rasa + 2 action servers behind nginx, on PostgreSQL and Redis
bot db upgrade          create or migrate the database schema (Alembic)
bot db seed             load data/db/*.yml (idempotent)
bot partners list       partner organisations in the database
bot events list         events in the database
bot nlp build           rebuild the spaCy pipeline from the places and partners
bot eval [--model M]    held-out NLU split against a TF-IDF baseline, then multi-turn conversations
bot staff add NAME      create a staff account for the review app (--role admin)
bot review serve        the staff review app alone (bot run starts it too)
bot review export-nlu   staff's corrected NLU examples as Rasa training data
bot privacy purge       delete messages older than e.g. 180d (bot run also does it hourly)
bot data history        who changed which event or partner, and when
bot data check-links    check every link the assistant gives (from a scheduler too)
bot data health         stale rows, failed links, how far the dated calendar reaches
bot models train        retrain with staff's corrections, judge, deploy (list, deploy, rollback)
bot config              the effective settings, where each came from, secrets hidden
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.settings import PROJECT_ROOT, current, database_url, tracker_store_url


def _run(args: argparse.Namespace) -> int:
    if args.scaled:
        from bot.scaled import serve_scaled

        return serve_scaled()
    from bot.serve import serve_forever

    return serve_forever(args.only)


def _db_upgrade(_: argparse.Namespace) -> int:
    from bot.db import upgrade

    # Locked on PostgreSQL (bot.db.migration_lock): replicas may all run this at start.
    upgrade(database_url())
    print(f"Database schema is up to date ({_safe_url()}).")
    return 0


def _db_seed(_: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.seed import SeedError, seed_crisis_lines, seed_events, seed_partners

    try:
        with session_scope() as session:
            partners, events = seed_partners(session), seed_events(session)
            crisis_lines = seed_crisis_lines(session)
    except SeedError as error:
        print(f"Nothing was written: {error}", file=sys.stderr)
        return 1
    print(f"Partners: {partners}. Events: {events}. Crisis lines: {crisis_lines}.")
    return 0


def _partners_list(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.partners import list_partners

    with session_scope() as session:
        rows = list_partners(session, args.kind)
        for p in rows:
            print(f"{p.country}  {p.kind:<16} {p.display_name:<60} {p.website or '-'}")
        print(f"{len(rows)} partner(s).")
    return 0


def _events_list(args: argparse.Namespace) -> int:
    from bot import dates
    from bot.dates import DateWindow, upcoming
    from bot.db import session_scope
    from bot.events import EventQuery, find

    today = dates.today()
    when = DateWindow(None, today, "in the past", past=True) if args.past else upcoming(today)
    with session_scope() as session:
        rows = find(session, EventQuery(when=when), limit=10_000)
        for e in rows:
            day = f"{e.local(e.starts_at):%Y-%m-%d}" if e.starts_at else "self-paced"
            print(f"{day:<10}  {e.kind:<13} {e.title}  {e.url or ''}")
        print(f"{len(rows)} {'past' if args.past else 'upcoming'} event(s).")
    return 0


def _events_import(args: argparse.Namespace) -> int:
    from bot import dates
    from bot.db import session_scope
    from bot.importer import read_csv, read_ics
    from bot.models import Event
    from bot.seed import SeedError, upsert

    today = dates.today()
    try:
        if args.file.suffix.lower() == ".ics":
            rows = read_ics(
                args.file, today, args.kind, args.organiser, args.audience,
                args.source_url, args.allow_past,
            )  # fmt: skip
        elif args.file.suffix.lower() == ".csv":
            rows = read_csv(args.file, today, args.allow_past)
        else:
            print(f"{args.file}: expected a .csv or .ics file.", file=sys.stderr)
            return 2
        with session_scope() as session:
            report = upsert(session, Event, rows)
    except (SeedError, OSError) as error:
        print(f"Nothing was written: {error}", file=sys.stderr)
        return 1
    print(f"Events from {args.file.name}: {report}.")
    return 0


def _nlp_build(args: argparse.Namespace) -> int:
    from bot.nlp import PIPELINE_DIR, build

    print(f"spaCy pipeline written to {build(args.out or PIPELINE_DIR)}.")
    return 0


def _answers_check(args: argparse.Namespace) -> int:
    from bot.answers import AnswerError, check, trained_topics

    try:
        answers = check(args.dir, required=trained_topics())
    except AnswerError as error:
        print(f"Not live-ready: {error}", file=sys.stderr)
        return 1
    print(f"{len(answers)} FAQ answers in {args.dir} pass the checks.")
    from bot.welcome import report  # its buttons lead to intents and answers: checked with them

    return report()


def _eval(args: argparse.Namespace) -> int:
    from bot.evaluation import MODEL, compare, evaluate, running_assistant_report

    if args.compare:
        for row in compare(args.compare):
            print(row, flush=True)
        return 0
    print(evaluate(args.model or MODEL), flush=True)
    if not args.single_only:
        print("\n" + running_assistant_report(args.model or MODEL))
    return 0


def _score(args: argparse.Namespace) -> int:
    from bot.evaluation import SHARED_SCORER, score_running_assistant

    scorer = args.scorer or SHARED_SCORER
    if not scorer.exists():
        print(f"The shared scorer is missing: {scorer}", file=sys.stderr)
        return 2
    return score_running_assistant(args.cases, scorer)


def _telegram(args: argparse.Namespace) -> int:
    import asyncio

    from bot import telegram_admin

    try:
        return asyncio.run(telegram_admin.run(args.telegram_command, args))
    except telegram_admin.ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2


def _read_new_password() -> str:
    """A new password, typed twice: at a prompt, or as two lines on stdin when piped."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password again: ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
        second = sys.stdin.readline().rstrip("\r\n")
    if first != second:
        raise ValueError("The two passwords differ.")
    return first


def _staff_add(args: argparse.Namespace) -> int:
    from bot.review.accounts import AccountError, add_staff, check_new_account
    from bot.review.database import upgrade
    from bot.tracker_db.engine import get_engine

    try:
        password = _read_new_password()
        check_new_account(args.name, password, args.role)
    except (AccountError, ValueError) as error:
        print(f"No account was created: {error}", file=sys.stderr)
        return 1
    upgrade()
    try:
        added = add_staff(get_engine(), args.name, password, args.role)
    except AccountError as error:
        print(f"No account was created: {error}", file=sys.stderr)
        return 1
    print(f"Account {added.username} ({added.role}) created in {_safe_url(tracker_store_url())}.")
    return 0


def _staff_remove(args: argparse.Namespace) -> int:
    from bot.review.accounts import remove_staff
    from bot.review.database import upgrade
    from bot.tracker_db.engine import get_engine

    upgrade()
    if not remove_staff(get_engine(), args.name):
        print(f"There is no account {args.name}.", file=sys.stderr)
        return 1
    print(f"Account {args.name} removed; its sessions end at their next request.")
    return 0


def _staff_list(_: argparse.Namespace) -> int:
    from bot.review.accounts import list_staff
    from bot.review.database import upgrade
    from bot.tracker_db.engine import get_engine

    upgrade()
    members = list_staff(get_engine())
    for member in members:
        print(f"{member.username:<40} {member.role}")
    print(f"{len(members)} account(s).")
    return 0


def _review_upgrade(_: argparse.Namespace) -> int:
    from bot.serve import upgrade_tracker_store

    upgrade_tracker_store(os.environ)
    print(f"Review tables are up to date ({_safe_url(tracker_store_url())}).")
    return 0


def _review_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.review.app import create_app
    from bot.review.database import upgrade

    if not args.no_upgrade:
        upgrade()
    # No access log: URLs carry search terms and conversation ids. No WebSockets: the app
    # has none, and Rasa pins a `websockets` too old for uvicorn's WebSocket support.
    network = current().network
    uvicorn.run(
        create_app(),
        host=args.host or network.review_interface,
        port=args.port or network.review_port,
        log_level="info",
        access_log=False,
        server_header=False,
        # The client address comes from bot.ratelimit's rule (TRUSTED_PROXIES), never from
        # uvicorn's own reading of X-Forwarded-For.
        proxy_headers=False,
        ws="none",
    )
    return 0


def _review_export_nlu(args: argparse.Namespace) -> int:
    from bot.i18n import default_language
    from bot.review.config import NLU_DIR
    from bot.review.database import upgrade
    from bot.review.nlu import export_nlu
    from bot.tracker_db.engine import get_engine

    upgrade()
    exported = export_nlu(
        get_engine(), NLU_DIR, language=args.language, default_language=default_language()
    )
    note = f"{exported.examples} corrected example(s)"
    if exported.skipped_known:
        note += f"; {exported.skipped_known} already in data/nlu/ left out"
    if args.out:
        args.out.write_text(exported.yaml, encoding="utf-8")
        print(f"Wrote {note} to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(exported.yaml)
        print(note, file=sys.stderr)
    return 0


def _privacy_purge(args: argparse.Namespace) -> int:
    from bot.tracker_db.erasure import ErasureError, parse_age, purge_conversations

    try:
        age = parse_age(args.older_than)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        conversations, events = purge_conversations(age, dry_run=args.dry_run)
    except ErasureError as error:
        print(f"Nothing was purged: {error}", file=sys.stderr)
        return 1
    verb = "Would delete" if args.dry_run else "Deleted"
    print(
        f"{verb} {events} message event(s) older than {age.days} days, with their review "
        f"data; {conversations} conversation(s) had nothing newer and are gone whole."
    )
    return 0


def _config(_: argparse.Namespace) -> int:
    """Every registered setting, its effective value and where it came from; a secret only as
    set or unset, a URL without its password. Invalid settings: the reason, exit 1."""
    from bot.settings import VARIABLES

    try:
        settings = current()
    except SystemExit as error:
        print(f"The settings are invalid: {error}", file=sys.stderr)
        return 1
    width = max(len(variable.name) for variable in VARIABLES)
    lines: list[str] = []
    concern = None
    for variable in VARIABLES:
        if variable.concern != concern:
            concern = variable.concern
            lines += ["", f"# {concern}"] if lines else [f"# {concern}"]
        shown = settings.shown(variable.name)
        lines.append(f"{variable.name:<{width}}  {shown}  ({settings.source(variable.name)})")
    print("\n".join(lines))
    return 0


def _safe_url(url: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url or database_url()).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    from bot.answers import ANSWERS_DIR
    from bot.data_cli import register as register_data_commands
    from bot.events import AUDIENCES, KINDS
    from bot.models_cli import register as register_model_commands
    from bot.processes import RUN_ONLY
    from bot.tracker_db.schema import ROLES

    parser = argparse.ArgumentParser(
        prog="bot", description="The ECRIN assistant and its staff tools."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help: str):
        """A command with sub-commands of its own (`bot db upgrade`)."""
        return commands.add_parser(name, help=help).add_subparsers(
            dest=f"{name}_command", required=True, metavar="COMMAND"
        )

    def add(group, name: str, handler: Callable[[argparse.Namespace], int], help: str):
        sub = group.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    running = add(
        commands, "run", _run, "start the action server, the Rasa server and the review app"
    )
    how = running.add_mutually_exclusive_group()
    how.add_argument(
        "--only",
        choices=RUN_ONLY,
        help="start just this process in the foreground (containers, replicas)",
    )
    how.add_argument(
        "--scaled",
        action="store_true",
        help="2 Rasa and 2 action servers behind nginx, on PostgreSQL and Redis (make run-scaled)",
    )

    db = group("db", "database schema and seed data")
    add(db, "upgrade", _db_upgrade, "create or migrate the schema to the latest version")
    add(db, "seed", _db_seed, "load data/db/*.yml; re-running updates, never duplicates")

    partners = group("partners", "partner organisations")
    listing = add(partners, "list", _partners_list, "list partner organisations")
    listing.add_argument("--kind", choices=["ecrin_partner", "eupati_platform", "ecrin_office"])

    events = group("events", "events")
    listing = add(events, "list", _events_list, "list upcoming events")
    listing.add_argument("--past", action="store_true", help="list past events instead")
    importing = add(events, "import", _events_import, "add or update events from CSV or .ics")
    importing.add_argument(
        "file", type=Path, help="a .csv (columns as in data/db/events.yml) or .ics"
    )
    importing.add_argument(
        "--kind", choices=KINDS, help="for .ics: the kind of events without CATEGORIES naming one"
    )
    importing.add_argument(
        "--organiser", help="for .ics: the organiser of events without ORGANIZER;CN=…"
    )
    importing.add_argument("--audience", choices=AUDIENCES, default="everyone")
    importing.add_argument("--source-url", help="for .ics: where the feed comes from")
    importing.add_argument("--allow-past", action="store_true", help="accept events that are over")

    nlp = group("nlp", "the spaCy pipeline")
    building = add(nlp, "build", _nlp_build, "rebuild the pipeline from places and partners")
    building.add_argument(
        "--out", type=Path, help="where to write it (default: models/spacy/en_ecrin)"
    )

    answers = group("answers", "the FAQ answers (live: edits need no training)")
    checking = add(answers, "check", _answers_check, "check every answer as the server will")
    checking.add_argument(
        "--dir", type=Path, default=ANSWERS_DIR, help="folder of faq_*.yml (default: data/nlu)"
    )

    evaluation = add(commands, "eval", _eval, "score the held-out NLU split and a baseline")
    evaluation.add_argument(
        "--model", type=Path, help="model archive (default: models/ecrin.tar.gz)"
    )
    evaluation.add_argument(
        "--single-only",
        action="store_true",
        help="skip the multi-turn conversations (they start the assistant, ~1 min)",
    )
    evaluation.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="CONFIG",
        help="train each NLU pipeline config and print a comparison table",
    )

    tg = group("telegram", "the Telegram bot's webhook")
    hook = add(tg, "set-webhook", _telegram, "tell Telegram to send updates to URL (HTTPS)")
    hook.add_argument("url", help="public HTTPS URL ending in /webhooks/telegram/webhook")
    add(tg, "delete-webhook", _telegram, "stop Telegram sending updates to the webhook")
    poll = add(tg, "poll", _telegram, "long-poll Telegram and feed updates to the local webhook")
    poll.add_argument(
        "--webhook", default=None, help="local webhook (default: http://127.0.0.1:$RASA_PORT/...)"
    )

    scoring = add(commands, "score", _score, "score the running assistant on a case file")
    scoring.add_argument(
        "cases", type=Path, nargs="?", default=PROJECT_ROOT.parent / "shared" / "eval" / "dev.tsv"
    )
    scoring.add_argument(
        "--scorer", type=Path, help="the scoring script (default: ../shared/eval/score.py)"
    )

    staff = group("staff", "staff accounts of the review app")
    adding = add(staff, "add", _staff_add, "create an account (password: prompt or 2 stdin lines)")
    adding.add_argument("name", help="username, e.g. jane.doe")
    adding.add_argument("--role", choices=ROLES, default="reviewer")
    removing = add(staff, "remove", _staff_remove, "remove an account")
    removing.add_argument("name")
    add(staff, "list", _staff_list, "list the accounts")

    review = group("review", "the staff review app")
    add(review, "upgrade", _review_upgrade, "create or migrate the review tables (Alembic)")
    serving = add(review, "serve", _review_serve, "run the review app alone")
    serving.add_argument("--host", default=None, help="default: $REVIEW_INTERFACE or 127.0.0.1")
    serving.add_argument("--port", type=int, default=None, help="default: $REVIEW_PORT or 8080")
    serving.add_argument("--no-upgrade", action="store_true", help="skip the migrations")
    exporting = add(review, "export-nlu", _review_export_nlu, "corrected examples as NLU YAML")
    exporting.add_argument("--out", type=Path, help="write to FILE instead of stdout")
    exporting.add_argument("--language", metavar="CODE", help="only this language's (e.g. fr)")

    privacy = group("privacy", "stored conversations")
    purging = add(privacy, "purge", _privacy_purge, "delete messages older than an age")
    purging.add_argument(
        "--older-than", required=True, metavar="AGE", help="e.g. 180d (days) or 26w (weeks)"
    )
    purging.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    register_data_commands(group, add)  # bot data …: bot/data_cli.py
    register_model_commands(group, add)  # bot models …: bot/models_cli.py
    add(commands, "config", _config, "the effective settings and where each came from")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
