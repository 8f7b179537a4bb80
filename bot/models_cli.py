"""`bot models …`: the trained models from the command line (the review app's /models page
does the same for editors and admins; docs/models.md).

bot models list                  every model: status, who trained it, its figures, why refused
bot models train [--full] [--config PATH] [--no-deploy] [--epoch-fraction F] [--conversations P]
                                 train with the corrections, evaluate, deploy if the gate passes
bot models deploy ID             put a candidate live (one that passed the gate, not deployed)
bot models rollback [ID]         put an earlier live model back (default: the previous one)

Every change is recorded with the staff name "cli:<the system user>". Kept apart from
bot/cli.py, which only calls `register`; the work is in bot/model_store.py and bot/training.py,
which this module imports only when a command runs (the training job loads Rasa).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def staff_name() -> str:
    """Who runs the command, for the audit: "cli:" and the system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a name
        return "cli:unknown"


def _registry() -> tuple[Any, Path]:
    """The tracker database (its review tables migrated) and the store directory."""
    from bot.model_store import store_directory
    from bot.review.database import upgrade
    from bot.tracker_db.engine import get_engine

    upgrade()
    return get_engine(), store_directory()


def _figures(evaluation: dict[str, Any]) -> str:
    figures = evaluation.get("figures") or {}
    if not figures:
        return "-"
    text = (
        f"intent {figures['intent_accuracy']:.3f}, FAQ {figures['faq_accuracy']:.3f}, "
        f"safety {figures['safety_accuracy']:.0%}"
    )
    if figures.get("conversations_total") is not None:
        text += (
            f", conversations {figures['conversations_passed']}/{figures['conversations_total']}"
        )
    return text


def _list(_: argparse.Namespace) -> int:
    from bot.model_store import list_models

    engine, store = _registry()
    versions = list_models(engine, store)
    for version in versions:
        made = f"{version.created:%Y-%m-%d %H:%M}"
        how = version.method or ("adopted" if version.id == "initial" else "-")
        if version.evaluation.get("refused_finetune"):
            how += " (fine-tuned first: refused)"
        print(
            f"{version.id:<20} {version.status:<9} {made}  {version.created_by:<20} {how:<8} "
            f"{_figures(version.evaluation)}"
        )
        for reason in version.reasons:
            print(f"{'':<20} refused: {reason}")
    print(f"{len(versions)} model(s) in {store}.")
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.model_jobs import JobRunning, claim_training
    from bot.model_store import get_model
    from bot.training import DEFAULT_EPOCH_FRACTION, TrainingRequest, run_job

    engine, store = _registry()
    if args.job:
        # Started by the review app, which claimed the lock for the staff member who asked.
        job = get_model(engine, store, args.job)
        if job is None or job.status != "training":
            print(f"There is no training job {args.job}.", file=sys.stderr)
            return 2
    else:
        try:
            job = claim_training(engine, store, staff_name())
        except JobRunning as running:
            print(running, file=sys.stderr)
            return 1
    request = TrainingRequest(
        by=job.created_by,
        full=args.full,
        config=args.config,
        deploy=not args.no_deploy,
        epoch_fraction=args.epoch_fraction or DEFAULT_EPOCH_FRACTION,
        conversations=args.conversations,
    )
    print(f"Training model {job.id}; log: {job.log_path}", flush=True)
    ended = run_job(engine, store, job, request, echo=None if args.job else sys.stdout)
    print(f"Model {ended.id}: {ended.status}.")
    for reason in ended.reasons:
        print(f"  {reason}")
    return 0 if ended.status in ("live", "candidate") else 1


def _deploy(args: argparse.Namespace) -> int:
    from bot.model_store import ModelStoreError, set_live

    engine, store = _registry()
    try:
        set_live(engine, args.id, staff_name(), "deploy", store)
    except ModelStoreError as error:
        print(f"Nothing changed: {error}", file=sys.stderr)
        return 1
    print(f"Model {args.id} is live.")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from bot.model_store import ModelStoreError, rollback

    engine, store = _registry()
    try:
        done = rollback(engine, args.id, staff_name(), store)
    except ModelStoreError as error:
        print(f"Nothing changed: {error}", file=sys.stderr)
        return 1
    print(f"Model {done.model_id} is live again (it replaces {done.previous_model_id}).")
    return 0


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1")
    return value


def register(
    group: Callable[[str, str], Any], add: Callable[[Any, str, Handler, str], Any]
) -> None:
    """Add the `models` group to the `bot` parser, with bot/cli.py's own `group` and `add`."""
    models = group("models", "trained models: train, judge, deploy, roll back (docs/models.md)")
    add(models, "list", _list, "every model, its status, figures and reasons")
    training = add(
        models, "train", _train, "train with staff's corrections; deploy if the gate passes"
    )
    training.add_argument("--full", action="store_true", help="train from scratch, never fine-tune")
    training.add_argument("--config", type=Path, help="another config.yml (a full training)")
    training.add_argument(
        "--no-deploy", action="store_true", help="judge it, but leave the live model live"
    )
    training.add_argument(
        "--epoch-fraction",
        type=_fraction,
        help="fine-tuning: this fraction of config.yml's epochs (default 0.5, as make retrain)",
    )
    training.add_argument(
        "--conversations",
        type=Path,
        metavar="PATH",
        help="the multi-turn conversations the gate plays: a YAML file or a folder of them "
        "(default: tests/conversations/)",
    )
    # The review app's "Train and deploy": the job it queued (and the lock it took).
    training.add_argument("--job", help=argparse.SUPPRESS)
    deploying = add(models, "deploy", _deploy, "put a candidate that passed the gate live")
    deploying.add_argument("id")
    rolling = add(models, "rollback", _rollback, "put an earlier live model back")
    rolling.add_argument("id", nargs="?", help="default: the model the last deployment replaced")
