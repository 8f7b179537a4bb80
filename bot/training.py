"""The training job behind "Train and deploy" and `bot models train`: staff's corrections
merged into a copy of the training data, a model trained from it (incrementally when it can
be), measured, judged by the gate (bot/model_gate.py) and put live only if it passes.

It runs as its own process (`bot models train`, which the review app starts in the
background and never imports: this module loads Rasa), one at a time: its row in
`review_models`, status "training", is the lock (bot.model_jobs.claim_training), and it
reports its stage (preparing, training, evaluating, gate), its process and a heartbeat there,
and everything it does in its log file beside the archive.

1. **Preparing**: the project's training data (config.yml, domain.yml, data/*.yml,
   data/nlu/*.yml, as `make train` reads them) is copied to a scratch folder, and the active
   corrections whose wording no training example has are written into it as
   data/nlu/corrections.yml. That file is also kept beside the model (`<id>.corrections.yml`):
   the change staff review on the /models page, as a diff against the live model's.
2. **Training**: `rasa train --finetune <live model> --epoch-fraction F` (Rasa's incremental
   training: the live model's weights, a fraction of the epochs), when the live model was
   trained with the same config.yml and domain.yml; otherwise, or with `--full`, or when
   Rasa refuses to fine-tune, a full training. A fine-tuned model the gate refuses is trained
   again in full and judged again. The row and the log say which method gave the model.
3. **Evaluating** and 4. **gate**: bot/model_gate.py; the live model's figures are measured
   once per version of the evaluation set and kept in its row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine

from bot import corrections_file, model_jobs, model_store
from bot.corrections import Correction
from bot.model_gate import (
    ACCURACIES,
    EvaluationSet,
    Figures,
    compare,
    conversation_set,
    evaluation_set,
    gate,
    measure,
    play_conversations,
)
from bot.model_store import ModelVersion
from bot.processes import QUIET_ENV, rasa_cli
from bot.review.nlu import training_examples
from bot.settings import PROJECT_ROOT
from bot.tracker_db.corrections import list_corrections

# Half the epochs, as `make retrain` (docs/models.md, measured on 2 cores with the five
# languages' data): a fifth took 7.3 minutes and lost 1.7 points of FAQ selection, which the
# gate refused (a full training then followed: 22 minutes in all); half took 10 minutes and
# stayed within retraining noise on the held-out split; a full training takes 13.5.
DEFAULT_EPOCH_FRACTION = 0.5
CORRECTIONS_FILE = Path("data") / "nlu" / "corrections.yml"
# At most one heartbeat per this many seconds while Rasa prints its progress.
HEARTBEAT_EVERY = 20.0


@dataclass(frozen=True)
class TrainingRequest:
    """What staff asked for: by whom, and how."""

    by: str
    full: bool = False  # never fine-tune
    config: Path | None = None  # another pipeline (default: the project's config.yml)
    deploy: bool = True  # put live when the gate lets it through
    epoch_fraction: float = DEFAULT_EPOCH_FRACTION
    # The multi-turn conversations the gate plays (a YAML file or a folder of them); None:
    # tests/conversations/, as the review app always uses.
    conversations: Path | None = None


def training_files(project: Path = PROJECT_ROOT) -> list[Path]:
    """What Rasa trains on, as the Makefile's TRAINING_DATA lists it (relative paths)."""
    data = (
        sorted((project / "data").glob("*.yml"))
        + sorted((project / "data/nlu").glob("*.yml"))
        + sorted((project / "data/nlu").glob("*/*.yml"))  # the other languages' examples
    )
    return [Path("config.yml"), Path("domain.yml"), *(path.relative_to(project) for path in data)]


def digest(root: Path, files: Sequence[Path]) -> str:
    """A hash of the files' names and contents under `root` (16 hex digits)."""
    hashed = hashlib.sha256()
    for relative in sorted(files):
        hashed.update(str(relative).encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return hashed.hexdigest()[:16]


CONFIG_FILES = (Path("config.yml"), Path("domain.yml"))


def project_model_digests(
    model: Path = model_store.PROJECT_MODEL, project: Path = PROJECT_ROOT
) -> tuple[str | None, str | None]:
    """The data and config digests of the project's model when `make` would call it up to
    date (newer than every training file): the inputs it was trained on. (None, None) when an
    input changed since, as nobody can tell what it was trained on then."""
    files = training_files(project)
    if not model.exists() or any(
        (project / f).stat().st_mtime > model.stat().st_mtime for f in files
    ):
        return None, None
    return digest(project, files), digest(project, CONFIG_FILES)


@dataclass(frozen=True)
class PreparedData:
    root: Path
    data_digest: str
    config_digest: str
    corrections_yaml: str
    corrections_count: int

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    @property
    def data(self) -> Path:
        return self.root / "data"


def prepare(
    work: Path,
    corrections: Sequence[Correction],
    config: Path | None = None,
    project: Path = PROJECT_ROOT,
) -> PreparedData:
    """The training data in `work`: the project's files (config.yml replaced by `config`) and
    the corrections no example already has, as data/nlu/corrections.yml."""
    for relative in training_files(project):
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / relative, work / relative)
    if config is not None:
        shutil.copyfile(config, work / "config.yml")
    if (work / CORRECTIONS_FILE).exists():
        raise model_store.ModelStoreError(
            f"{CORRECTIONS_FILE} exists in the project: merge it into the other data/nlu "
            "files, or rename it, so the corrections file can be written."
        )
    new = corrections_file.not_yet_trained(corrections, training_examples(project / "data" / "nlu"))
    text = corrections_file.corrections_yaml((c.text, c.label) for c in new)
    if new:
        (work / CORRECTIONS_FILE).write_text(text, encoding="utf-8")
    files = training_files(work)
    return PreparedData(work, digest(work, files), digest(work, CONFIG_FILES), text, len(new))


class JobLog:
    """The job's log file (and the terminal, for `bot models train`), and its heartbeat."""

    def __init__(self, path: Path, echo: TextIO | None, engine: Engine, model_id: str) -> None:
        self.path, self.echo, self.engine, self.model_id = path, echo, engine, model_id
        self.last_beat = 0.0

    def __call__(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S', time.gmtime())} {line.rstrip()}\n"
        with self.path.open("a", encoding="utf-8") as log:
            log.write(stamped)
        if self.echo is not None:
            self.echo.write(stamped)
            self.echo.flush()
        if time.monotonic() - self.last_beat > HEARTBEAT_EVERY:
            self.last_beat = time.monotonic()
            model_jobs.update_job(self.engine, self.model_id)

    def stage(self, stage: str) -> None:
        model_jobs.update_job(self.engine, self.model_id, stage=stage)
        self(f"--- {stage}")


def _rasa_train(arguments: list[str], log: JobLog) -> int:
    """Run `rasa train ARGUMENTS` from the project root (config.yml's spaCy path is relative
    to it), its output in the log; its exit code."""
    command = rasa_cli("train", *arguments)
    log("$ " + " ".join(command[1:]))
    env = {**os.environ, **QUIET_ENV}
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            # Rasa's progress bars redraw with carriage returns: keep the last state.
            log(line.rsplit("\r", 1)[-1])
        return process.wait()


def train(
    prepared: PreparedData,
    out: Path,
    model_id: str,
    base: ModelVersion | None,
    request: TrainingRequest,
    log: JobLog,
) -> str:
    """Train `out/<model_id>.tar.gz`; "finetune" or "full", whichever was used."""
    common = [
        "--config", str(prepared.config), "--domain", str(prepared.domain),
        "--data", str(prepared.data), "--out", str(out), "--fixed-model-name", model_id,
    ]  # fmt: skip
    same_config = base is not None and base.config_digest in (None, prepared.config_digest)
    if request.full:
        log("Full training: fine-tuning is off for this training.")
    elif base is None or base.path is None:
        log("Full training: there is no live model to start from.")
    elif not same_config:
        log(f"Full training: config.yml or domain.yml changed since {base.id} was trained.")
    else:
        log(f"Fine-tuning {base.id} with {request.epoch_fraction:g} of the epochs.")
        finetune = ["--finetune", str(base.path), "--epoch-fraction", str(request.epoch_fraction)]
        if _rasa_train([*common, *finetune], log) == 0:
            return "finetune"
        log("Rasa could not fine-tune (its output is above): full training instead.")
    if _rasa_train(common, log) != 0:
        raise model_store.ModelStoreError("rasa train failed: the end of the log says why.")
    return "full"


def live_figures(
    engine: Engine, store_dir: Path, live: ModelVersion, cases: EvaluationSet, log: JobLog
) -> Figures | None:
    """The live model's figures on `cases`: kept in its row, measured when the set changed."""
    live = model_store.get_model(engine, store_dir, live.id) or live  # as measured until now
    cached = Figures.from_dict(live.evaluation.get("figures"))
    # Figures kept before the gate compared examples one by one have no outcomes: measure again.
    if cached is not None and cached.split_digest == cases.digest and cached.intent_outcomes:
        log(f"Live model {live.id}: figures measured before.")
        return cached
    if live.path is None or not live.path.exists():
        log(f"Live model {live.id}: its archive is missing; nothing to compare with.")
        return None
    log(f"Measuring the live model {live.id}.")
    figures = measure(live.path, cases)
    model_jobs.save_evaluation(engine, live.id, {**live.evaluation, "figures": figures.to_dict()})
    return figures


def describe(name: str, figures: Figures) -> str:
    languages = ", ".join(
        f"{code} {scores['intent_accuracy']:.3f} / {scores['faq_accuracy']:.3f}"
        for code, scores in figures.by_language.items()
    )
    return (
        f"{name}: intent accuracy {figures.intent_accuracy:.3f}, FAQ selection "
        f"{figures.faq_accuracy:.3f} ({figures.held_out} held-out examples"
        f"{f'; {languages}' if languages else ''}), safety "
        f"{figures.safety_accuracy:.1%} of {figures.safety_cases}"
    )


def describe_comparison(candidate: Figures, live: Figures) -> str:
    parts = [
        f"{ACCURACIES[name]} {compared.lost} lost and {compared.gained} gained "
        f"(chance {compared.chance:.2g})"
        for name, compared in compare(candidate, live).items()
    ]
    return "Example by example against the live model: " + "; ".join(parts) + "."


@dataclass
class Verdict:
    """A trained candidate as the gate judged it."""

    method: str
    figures: Figures
    compared: Figures | None
    reasons: list[str]
    seconds: dict[str, float]


def _train_and_judge(
    engine: Engine,
    store_dir: Path,
    job: ModelVersion,
    live: ModelVersion | None,
    prepared: PreparedData,
    request: TrainingRequest,
    log: JobLog,
) -> Verdict:
    """Train (fine-tuning when it can), measure, apply the gate."""
    log.stage("training")
    started = time.monotonic()
    method = train(prepared, store_dir, job.id, live, request, log)
    trained = time.monotonic() - started
    log(f"Trained ({method}) in {trained:.0f} s.")
    model_jobs.update_job(engine, job.id, method=method, file_name=f"{job.id}.tar.gz")
    log.stage("evaluating")
    model = store_dir / f"{job.id}.tar.gz"
    cases = evaluation_set()
    candidate = measure(model, cases)
    log(describe("Candidate", candidate))
    compared = live_figures(engine, store_dir, live, cases, log) if live else None
    if compared and live:
        log(describe(f"Live {live.id}", compared))
        log(describe_comparison(candidate, compared))
    reasons = gate(candidate, compared, conversations_required=False)
    if not reasons:
        log("Playing the multi-turn conversations against the candidate.")
        conversations = conversation_set(request.conversations)
        candidate = candidate.with_conversations(
            *play_conversations(model, conversations, report=log)
        )
        reasons = gate(candidate, compared)
    for reason in reasons:
        log(f"Refused: {reason}")
    seconds = {"training": trained, "evaluation": time.monotonic() - started - trained}
    return Verdict(method, candidate, compared, reasons, seconds)


def run_job(
    engine: Engine,
    store_dir: Path,
    job: ModelVersion,
    request: TrainingRequest,
    echo: TextIO | None = None,
) -> ModelVersion:
    """Run the claimed `job` to its end; the model as it ended (live, candidate, rejected or
    failed). Never raises for a failed training: the row and the log say why.

    A fine-tuned model the gate refuses is not the last word: the job then trains in full,
    as `make train` does, and judges that one (measured here: fine-tuning often moves a few
    multi-turn conversations, docs/models.md)."""
    assert job.log_path is not None
    log = JobLog(job.log_path, echo, engine, job.id)
    model_jobs.mark_running_here(engine, job.id)
    try:
        log.stage("preparing")
        data_digest, config_digest = project_model_digests()
        live = model_store.adopt_initial(
            engine, store_dir, data_digest=data_digest, config_digest=config_digest
        )
        with tempfile.TemporaryDirectory(prefix=f".{job.id}-", dir=store_dir) as scratch:
            prepared = prepare(Path(scratch), list_corrections(engine), request.config)
            assert job.corrections_path is not None
            job.corrections_path.write_text(prepared.corrections_yaml, encoding="utf-8")
            log(f"{prepared.corrections_count} correction(s) added to the training data.")
            model_jobs.update_job(
                engine, job.id, data_digest=prepared.data_digest,
                config_digest=prepared.config_digest,
                corrections_count=prepared.corrections_count,
                base_model_id=live.id if live else None,
            )  # fmt: skip
            verdict = _train_and_judge(engine, store_dir, job, live, prepared, request, log)
            refused_finetune = None
            if verdict.reasons and verdict.method == "finetune":
                log("The gate refused the fine-tuned model: training in full instead.")
                refused_finetune = {"reasons": verdict.reasons, **verdict.figures.to_dict()}
                full = dataclasses.replace(request, full=True)
                verdict = _train_and_judge(engine, store_dir, job, live, prepared, full, log)
        return _conclude(engine, store_dir, job, live, request, verdict, refused_finetune, log)
    except KeyboardInterrupt:
        model_jobs.finish_job(engine, job.id, "failed", ["Interrupted (Ctrl-C)."])
        raise
    except Exception as error:  # the job's end must be recorded whatever went wrong
        log(traceback.format_exc())
        model_jobs.finish_job(engine, job.id, "failed", [f"{type(error).__name__}: {error}"])
        found = model_store.get_model(engine, store_dir, job.id)
        assert found is not None
        return found


def _conclude(
    engine: Engine,
    store_dir: Path,
    job: ModelVersion,
    live: ModelVersion | None,
    request: TrainingRequest,
    verdict: Verdict,
    refused_finetune: dict | None,
    log: JobLog,
) -> ModelVersion:
    """Record the verdict; put the model live when the gate let it through."""
    log.stage("gate")
    compared = verdict.compared
    evaluation = {
        "figures": verdict.figures.to_dict(),
        "compared_with": {"id": live.id, **compared.to_dict()} if live and compared else None,
        "seconds": verdict.seconds,
        "refused_finetune": refused_finetune,
    }
    if verdict.reasons:
        model_jobs.finish_job(engine, job.id, "rejected", verdict.reasons, evaluation=evaluation)
    else:
        log("The gate lets it through.")
        model_jobs.finish_job(engine, job.id, "candidate", evaluation=evaluation)
        if request.deploy:
            model_store.set_live(engine, job.id, request.by, "deploy", store_dir)
            log(f"Deployed: {job.id} is live.")
        else:
            log(f"Not deployed (--no-deploy): `bot models deploy {job.id}` puts it live.")
    found = model_store.get_model(engine, store_dir, job.id)
    assert found is not None
    return found
