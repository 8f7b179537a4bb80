"""`bot`: one command line for running the assistant and for staff tasks.

bot run                 start the action server and the Rasa server (Ctrl-C stops both)
bot db upgrade          create or migrate the database schema (Alembic)
bot db seed             load data/db/*.yml (idempotent)
bot partners list       partner organisations in the database
bot events list         events in the database
bot nlp build           rebuild the spaCy pipeline from the places and partners
bot eval [--model M]    score the held-out split (tests/nlu/) against a TF-IDF baseline
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.settings import database_url


def _run(_: argparse.Namespace) -> int:
    from bot.serve import serve_forever

    return serve_forever()


def _db_upgrade(_: argparse.Namespace) -> int:
    from bot.db import upgrade

    upgrade()
    print(f"Database schema is up to date ({_safe_url()}).")
    return 0


def _db_seed(_: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.seed import SeedError, seed_events, seed_partners

    try:
        with session_scope() as session:
            partners, events = seed_partners(session), seed_events(session)
    except SeedError as error:
        print(f"Nothing was written: {error}", file=sys.stderr)
        return 1
    print(f"Partners: {partners}. Events: {events}.")
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
    from bot.dates import DateWindow, upcoming
    from bot.db import session_scope
    from bot.events import EventQuery, find

    today = dt.date.today()
    when = DateWindow(None, today, "in the past", past=True) if args.past else upcoming(today)
    with session_scope() as session:
        rows = find(session, EventQuery(when=when), limit=10_000)
        for e in rows:
            day = f"{e.local(e.starts_at):%Y-%m-%d}" if e.starts_at else "self-paced"
            print(f"{day:<10}  {e.kind:<13} {e.title}  {e.url or ''}")
        print(f"{len(rows)} {'past' if args.past else 'upcoming'} event(s).")
    return 0


def _events_import(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.importer import read_csv, read_ics
    from bot.models import Event
    from bot.seed import SeedError, upsert

    today = dt.date.today()
    try:
        if args.file.suffix.lower() == ".ics":
            if not (args.kind and args.organiser):
                print("An .ics file needs --kind and --organiser.", file=sys.stderr)
                return 2
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


def _nlp_build(_: argparse.Namespace) -> int:
    from bot.nlp import build

    print(f"spaCy pipeline written to {build()}.")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.evaluation import compare, evaluate

    if args.compare:
        print(compare(args.compare))
    else:
        print(evaluate(args.model) if args.model else evaluate())
    return 0


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url()).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    from bot.events import AUDIENCES, KINDS

    parser = argparse.ArgumentParser(
        prog="bot", description="The ECRIN assistant and its staff tools."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(group, name: str, handler: Callable[[argparse.Namespace], int], help: str):
        sub = group.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    add(commands, "run", _run, "start the action server and the Rasa server")

    db = commands.add_parser("db", help="database schema and seed data").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    add(db, "upgrade", _db_upgrade, "create or migrate the schema to the latest version")
    add(db, "seed", _db_seed, "load data/db/*.yml; re-running updates, never duplicates")

    partners = commands.add_parser("partners", help="partner organisations").add_subparsers(
        dest="partners_command", required=True, metavar="COMMAND"
    )
    listing = add(partners, "list", _partners_list, "list partner organisations")
    listing.add_argument("--kind", choices=["ecrin_partner", "eupati_platform", "ecrin_office"])

    events = commands.add_parser("events", help="events").add_subparsers(
        dest="events_command", required=True, metavar="COMMAND"
    )
    listing = add(events, "list", _events_list, "list upcoming events")
    listing.add_argument("--past", action="store_true", help="list past events instead")
    importing = add(events, "import", _events_import, "add or update events from CSV or .ics")
    importing.add_argument(
        "file", type=Path, help="a .csv (columns as in data/db/events.yml) or .ics"
    )
    importing.add_argument("--kind", choices=KINDS, help="for .ics: the kind of every event")
    importing.add_argument("--organiser", help="for .ics: who organises the events")
    importing.add_argument("--audience", choices=AUDIENCES, default="everyone")
    importing.add_argument("--source-url", help="for .ics: where the feed comes from")
    importing.add_argument("--allow-past", action="store_true", help="accept events that are over")

    nlp = commands.add_parser("nlp", help="the spaCy pipeline").add_subparsers(
        dest="nlp_command", required=True, metavar="COMMAND"
    )
    add(nlp, "build", _nlp_build, "rebuild models/spacy/en_ecrin from places and partners")

    evaluation = add(commands, "eval", _eval, "score the held-out NLU split and a baseline")
    evaluation.add_argument(
        "--model", type=Path, help="model archive (default: models/ecrin.tar.gz)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
