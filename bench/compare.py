"""Benchmark the ECRIN assistant side by side with a stock `rasa init` bot (`make bench`).

One run, on the same machine and venv, measures for both bots:

* full training time (cold Rasa cache) and retraining time after one answer's text changed;
* cold start: from launching the servers to the first successful REST answer;
* latency p50/p95/p99 and throughput through the REST webhook at several concurrency levels
  (default: 1, 8 and 32 concurrent users), each bot answering questions of its own domain;
* peak RSS (VmHWM) of the Rasa server and of the action server, after the load.

It prints a table (ours | stock | ratio | target | met?) and writes it, with the machine, the
commit, the commands and the request counts, to bench/results/<YYYY-MM-DD>.md. Missed targets
are marked, but the exit code is 0: this is a report, not a test.

    .venv/bin/python bench/compare.py [--skip-training] [--load 1:200,8:400,32:640]
                                      [--turns 5] [--only ours|stock] [--stock-dir DIR]
                                      [--py-spy BINARY] [--out FILE]

A full run takes 6 to 10 minutes on 2 cores, most of it our training (twice) and the stock
bot's. `--skip-training` serves the existing models/ecrin.tar.gz (`make bench` builds it) and
reports training as "not measured"; the stock bot is still created and trained by `rasa init`
unless `--stock-dir` names one kept from an earlier run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import LoadResult, run_load, send
from bot import db
from bot.answers import answer_files
from bot.processes import QUIET_ENV, rasa_cli
from bot.seed import seed_events, seed_partners
from bot.serve import Ports, Stack, free_port, running
from bot.settings import PROJECT_ROOT

MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"
RESULTS = PROJECT_ROOT / "bench" / "results"
WEBHOOK = "/webhooks/rest/webhook"
MB = 1_000_000

# What each bot is asked: questions of its own domain, so that each does the work it was
# built for (our bot cannot be asked about moods, nor the stock bot about clinical trials).
# A script is one exchange: a message, or a message and the answer to the bot's follow-up.
# Ours: FAQ answers (ResponseSelector, some with typos), database look-ups through the action
# server (partners by country, with and without the form's question; events) and small talk,
# roughly as the review inbox sees them.
OURS_SCRIPTS = [
    ["what is a placebo"],
    ["wat is a placebo, is it a fake pill?"],
    ["can I leave a trial"],
    ["can i stop taking part in a clincal trial whenever I want"],
    ["what is a clinical trail"],
    ["does it cost anything to take part"],
    ["what is ECRIN"],
    ["what does EUPATI do"],
    ["what is patient involvement"],
    ["what is randomisation"],
    ["and what is a control group?"],
    ["who is the ECRIN partner in Spain"],
    ["ECRIN partner in italy please"],
    ["who do I contact in my country?", "France"],
    ["any upcoming events?"],
    ["are there webinars for patients?"],
    ["hello"],
    ["hi there"],
    ["thanks a lot"],
]
# Stock: the paths of the `rasa init` stories and rules (happy, sad with "yes" and "no",
# bot challenge, goodbye), so that "yes" and "no" come where its stories expect them.
STOCK_SCRIPTS = [
    ["hello", "I am great"],
    ["hey there", "very good"],
    ["hi", "I am sad", "yes"],
    ["good morning", "not good", "no"],
    ["are you a bot?"],
    ["am I talking to a human?"],
    ["bye"],
]
# The answer whose text the retraining benchmark edits, and where it lives (in a copy).
OURS_EDITED_RESPONSE = "utter_faq_trials/placebo"
STOCK_EDITED_RESPONSE = "utter_greet"
EDIT_MARK = "(Edited for the benchmark.)"


# --- the report ----------------------------------------------------------------------------

Value = float | str | None
"""A measurement: a number, None for "not measured", or a string shown as is ("none")."""


@dataclass(frozen=True)
class Target:
    """A goal for our bot: on its own value, or (`relative`) on the ratio ours / stock."""

    limit: float
    relative: bool = False
    at_least: bool = False

    def describe(self, unit: str) -> str:
        sign = "≥" if self.at_least else "≤"
        if self.relative:
            return f"{sign} {self.limit:g}x stock"
        return f"{sign} {format_value(self.limit, unit)}"

    def met(self, ours: Value, stock: Value) -> bool | None:
        """True or False, or None when the numbers it needs were not measured."""
        value = ratio(ours, stock) if self.relative else ours
        if not isinstance(value, float | int) or math.isnan(value):
            return None
        return value >= self.limit if self.at_least else value <= self.limit


@dataclass
class Metric:
    """One row of the table."""

    name: str
    unit: str
    ours: Value
    stock: Value
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.stock)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        met = self.target.met(self.ours, self.stock)
        return "not measured" if met is None else ("yes" if met else "**MISSED**")


def ratio(ours: Value, stock: Value) -> float | None:
    """ours / stock, when both are numbers and stock is not zero."""
    if isinstance(ours, float | int) and isinstance(stock, float | int) and stock:
        return ours / stock
    return None


def format_value(value: Value, unit: str) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, str):
        return value
    if math.isnan(value):
        return "n/a"
    if unit == "s" and value >= 100:
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes} min {seconds:02d} s"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "msg/s":
        return f"{value:.1f} msg/s"
    if unit == "":
        return f"{value:g}"
    return f"{value:.0f} {unit}"


def markdown_table(metrics: list[Metric]) -> str:
    """The side-by-side table, as Markdown (also readable as plain text in a terminal)."""
    rows = [["metric", "ours", "stock", "ratio", "target", "met?"]]
    for m in metrics:
        rows.append(
            [
                m.name,
                format_value(m.ours, m.unit),
                format_value(m.stock, m.unit),
                "—" if m.ratio is None else f"{m.ratio:.2f}x",
                m.target.describe(m.unit) if m.target else "",
                m.verdict,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- what one bot measured ---------------------------------------------------------------------


@dataclass
class BotRun:
    """Everything measured for one bot; None means not measured."""

    name: str
    training: Value = None
    retraining: Value = None
    # Ours: from saving an edited answer to the running server saying it (bot/rasa_ext/nlg.py).
    live_edit: Value = None
    cold_start: Value = None
    loads: dict[int, LoadResult] = field(default_factory=dict)
    rss: dict[str, Value] = field(default_factory=dict)  # "rasa", "actions" → bytes
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def metrics(ours: BotRun, stock: BotRun) -> list[Metric]:
    """The rows the issue asks for, with its targets (on these 2-core machines)."""

    def latency(run: BotRun, users: int, percentile: float) -> Value:
        return run.loads[users].latency_ms(percentile) if users in run.loads else None

    def throughput(run: BotRun, users: int) -> Value:
        return run.loads[users].throughput if users in run.loads else None

    def megabytes(run: BotRun, process: str) -> Value:
        value = run.rss.get(process)
        return value / MB if isinstance(value, int | float) else value

    def failures(run: BotRun) -> Value:
        if not run.loads:
            return None
        return float(sum(len(load.failures) for load in run.loads.values()))

    rows = []
    for users in sorted(set(ours.loads) | set(stock.loads)):
        for percentile in (50, 95, 99):
            target = Target(1.5, relative=True) if (users, percentile) == (1, 95) else None
            rows.append(
                Metric(
                    f"latency p{percentile}, {users} user{'s' if users > 1 else ''}",
                    "ms",
                    latency(ours, users, percentile),
                    latency(stock, users, percentile),
                    target,
                )
            )
    for users in sorted(set(ours.loads) | set(stock.loads)):
        if users > 1:
            target = Target(1.0, relative=True, at_least=True) if users == 8 else None
            rows.append(
                Metric(
                    f"throughput, {users} users",
                    "msg/s",
                    throughput(ours, users),
                    throughput(stock, users),
                    target,
                )
            )
    return [
        *rows,
        Metric("failed requests (all loads)", "", failures(ours), failures(stock), Target(0)),
        Metric(
            "peak RSS, Rasa server",
            "MB",
            megabytes(ours, "rasa"),
            megabytes(stock, "rasa"),
            Target(1300),
        ),
        Metric(
            "peak RSS, action server", "MB", megabytes(ours, "actions"), megabytes(stock, "actions")
        ),
        Metric("cold start to first answer", "s", ours.cold_start, stock.cold_start, Target(40)),
        Metric("full training", "s", ours.training, stock.training, Target(300)),
        Metric(
            "retraining after one answer changed",
            "s",
            ours.retraining,
            stock.retraining,
            Target(60),
        ),
        Metric(
            "  … said by the running server, without training",
            "s",
            ours.live_edit,
            stock.live_edit,
            Target(60),
        ),
    ]


def load_table(runs: list[BotRun]) -> str:
    """Every load level of every bot, with the request counts behind the percentiles."""
    lines = [
        "| bot | users | conversations | requests | p50 ms | p95 ms | p99 ms | max ms "
        "| msg/s | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for users, load in sorted(run.loads.items()):
            conversations = len({reply.user for reply in load.replies})
            lines.append(
                f"| {run.name} | {users} | {conversations} | {len(load.replies)} "
                f"| {load.latency_ms(50):.0f} | {load.latency_ms(95):.0f} "
                f"| {load.latency_ms(99):.0f} | {load.latency_ms(100):.0f} "
                f"| {load.throughput:.1f} | {len(load.failures)} |"
            )
    return "\n".join(lines)


def failure_examples(runs: list[BotRun], limit: int = 5) -> list[str]:
    found = []
    for run in runs:
        for users, load in sorted(run.loads.items()):
            for reply in load.failures[:limit]:
                found.append(
                    f"{run.name}, {users} users: {reply.message!r} → status {reply.status}, "
                    f"{reply.error or 'no text in the reply'}"
                )
    return found


def machine() -> dict[str, str]:
    """What the numbers depend on: cores, CPU, memory, and how busy the machine was."""
    cpu = "unknown"
    memory = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    return {
        "cores (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": cpu,
        "RAM": memory,
        "load average (1, 5, 15 min)": load_average(),
        "Python": sys.version.split()[0],
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head} (with uncommitted changes)" if git("status", "--porcelain") else head


def report(
    ours: BotRun,
    stock: BotRun,
    settings: dict[str, str],
    machine_before: dict[str, str],
    load_after: str,
) -> str:
    """The whole Markdown report written to bench/results/."""
    runs = [run for run in (ours, stock) if run.loads or run.training is not None]
    sections = [
        f"# Benchmark: ECRIN assistant vs stock `rasa init` bot — "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "## Results",
        markdown_table(metrics(ours, stock)),
        "Ratio = ours / stock. Targets are on our bot (from issue #7); relative ones on the "
        "ratio. Each bot answers questions of its own domain (see Notes).",
        "## Every load level",
        load_table(runs),
        "## Machine",
        "\n".join(f"- {key}: {value}" for key, value in machine_before.items())
        + f"\n- load average at the end: {load_after}\n- commit: {commit()}",
        "## Settings",
        "\n".join(f"- {key}: {value}" for key, value in settings.items()),
        "## Commands",
        "\n".join(
            f"- {run.name}: `{command}`" for run in (ours, stock) for command in run.commands
        ),
        "## Notes",
        "\n".join(f"- {note}" for run in (ours, stock) for note in run.notes)
        + "\n"
        + "\n".join(f"- {note}" for note in METHOD_NOTES),
    ]
    failures = failure_examples([ours, stock])
    if failures:
        sections += ["## Failed requests (first few)", "\n".join(f"- {f}" for f in failures)]
    return "\n\n".join(sections) + "\n"


METHOD_NOTES = [
    "Each bot answers its own domain: ours gets FAQ questions (some with typos), partner and "
    "event look-ups (through the action server and SQLite) and small talk; the stock bot gets "
    "the paths of its own stories and rules (greet, moods, 'did that help?' answered yes or "
    "no, bot challenge, goodbye). The ratio compares the cost of a realistic message for "
    "each, not the same sentence.",
    "Ours stores conversations in SQLite (bot.rasa_ext.tracker_store.SQLTrackerStore, as "
    "`make run`); the stock bot keeps them in memory (its default). Ours also runs spaCy, a second "
    "featurizer set, a SafetyGuard, and calls the action server for partner and event "
    "questions and forms (docs/benchmarks.md).",
    "Latency: wall time of one POST to /webhooks/rest/webhook, from the client (same machine), "
    "a new connection per request; percentiles interpolate linearly and include failed requests.",
    "Users: each simulated user is one conversation of a few messages sent one after another, "
    "each waiting for the previous reply; 'N users' = at most N conversations at once. Every "
    "level starts with fresh sender ids, after a warm-up that plays every script once.",
    "Peak RSS: VmHWM of the server process plus its child processes (an upper bound if their "
    "peaks did not coincide), read after all loads.",
    "Cold start: from launching the processes (ours: action server and Rasa server, not the "
    "staff review app) to the first REST reply with text; includes loading the model and the "
    "first prediction.",
    "Training: wall time of `rasa train` (ours) and `rasa init --no-prompt` (stock, which "
    "trains its model), including Python start-up, with an empty Rasa cache; retraining: "
    "`rasa train` again with the warm cache after editing the text of one response. Ours "
    "trains on a placeholder for every FAQ answer and its server says the text from the "
    "answer files (bot/rasa_ext/nlg.py): the last row is the time from saving an edited answer "
    "to the running server saying it.",
    "The machine has 2 cores shared by the load generator, the servers and anything else "
    "running (see the load average): compare runs made on a quiet machine only.",
]


# --- processes ---------------------------------------------------------------------------------


def peak_rss(pid: int) -> int | None:
    """VmHWM (peak resident set) of `pid` plus its live descendants, in bytes."""
    total = None
    for process in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{process}/status", encoding="utf-8") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        total = (total or 0) + int(line.split()[1]) * 1024
        except OSError:  # ended meanwhile
            continue
    return total


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, waiting = [], list(children.get(pid, []))
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting += children.get(child, [])
    return found


def wait_for_answer(url: str, alive: Callable[[], bool], timeout: float) -> None:
    """Send "hello" until a reply with text comes back; raise if the server dies or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the Rasa server exited while starting")
        if not send(url, "bench-cold-start", 0, "hello", timeout=30).failed:
            return
        time.sleep(0.2)
    raise TimeoutError(f"no answer from {url} within {timeout:.0f} s")


def stock_rasa(*args: str) -> list[str]:
    """Plain `rasa ARGS` for the stock bot, as its users run it (telemetry off by the
    variable in quiet_env). Ours runs through bot.rasa_main and its changes."""
    return [sys.executable, "-m", "rasa", *args]


def quiet_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **QUIET_ENV, **extra}


def run_logged(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    """Run `command` to completion with its output in `log`; the wall time in seconds."""
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.run(command, cwd=cwd, env=env, stdout=output, stderr=output)
    elapsed = time.perf_counter() - started
    if process.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{shlex.join(command)} failed ({process.returncode}):\n{tail}")
    return elapsed


@contextmanager
def py_spy(binary: str | None, pid: int, output: Path) -> Iterator[None]:
    """Sample `pid` with py-spy while the block runs (nothing without a binary): a flame
    graph, or collapsed stacks when `output` ends in .txt (to count frames)."""
    if not binary:
        yield
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [binary, "record", "--pid", str(pid), "--rate", "100", "--output", str(output)]
    command += ["--format", "raw" if output.suffix == ".txt" else "flamegraph"]
    with tempfile.TemporaryFile() as errors:
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            yield
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                recorder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
            if output.exists():
                print(f"  py-spy profile of the Rasa server: {output}", flush=True)
            else:
                errors.seek(0)
                print(f"  py-spy failed: {errors.read()[-500:].decode(errors='replace')}")


# --- training --------------------------------------------------------------------------------


def find_response(project: Path, response: str) -> tuple[Path, int]:
    """The file defining `response` in `project` (a Rasa project, or a folder of answer
    files) and the line of its first text."""
    header = re.compile(rf"^\s+{re.escape(response)}:\s*$")
    for path in [*sorted(project.glob("*.yml")), *sorted((project / "data").rglob("*.yml"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if header.match(line):
                for following in range(number + 1, len(lines)):
                    if '- text: "' in lines[following]:
                        return path, following
    raise LookupError(f"no text for {response} in {project}")


def edit_response(project: Path, response: str) -> Path:
    """Change the text of `response` (its first variation) where it is defined in `project`,
    as an editor fixing one answer would; returns the edited file."""
    path, number = find_response(project, response)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number] = lines[number].replace('- text: "', f'- text: "{EDIT_MARK} ', 1)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def copy_training_inputs(destination: Path) -> None:
    """What `rasa train` reads for our bot: config.yml points at models/spacy/en_ecrin
    relative to the working directory, so the spaCy pipeline comes along."""
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(PROJECT_ROOT / name, destination / name)
    shutil.copytree(PROJECT_ROOT / "data", destination / "data")
    spacy = Path("models", "spacy", "en_ecrin")
    shutil.copytree(PROJECT_ROOT / spacy, destination / spacy)


def train_ours(run: BotRun, scratch: Path) -> None:
    """Full training in a copy with an empty cache; then, after one answer changed, `rasa
    train` again with the warm cache (answers are not training data: nothing retrains)."""
    project = scratch / "ours-training"
    project.mkdir()
    copy_training_inputs(project)
    find_response(project, OURS_EDITED_RESPONSE)  # fail now, not after a full training
    env = quiet_env(RASA_CACHE_DIRECTORY=str(project / ".rasa" / "cache"))
    full = ["train", "--fixed-model-name", "full", "--out", "models"]
    steps = (
        ("full training (`rasa train`, cold cache)", full),
        ("retraining (`rasa train`, warm cache)", [*full[:2], "retrained", *full[3:]]),
    )
    timings = []
    for number, (label, arguments) in enumerate(steps):
        if number == 1:
            edited = edit_response(project, OURS_EDITED_RESPONSE)
            run.notes.append(
                f"Ours, retraining: edited {OURS_EDITED_RESPONSE} in "
                f"{edited.relative_to(project)}."
            )
        print(f"Ours: {label} in {project}…", flush=True)
        log = scratch / f"ours-train-{arguments[2]}.log"
        timings.append(run_logged(rasa_cli(*arguments), project, env, log))
        print(f"  {format_value(timings[-1], 's')}", flush=True)
        run.commands.append("rasa " + " ".join(arguments) + f"  # {label}")
    run.training, run.retraining = timings


def create_stock(run: BotRun, project: Path, measure: bool, log_dir: Path) -> Path:
    """`rasa init --no-prompt` in `project` (it trains the model); its model's path. A project
    kept from an earlier run (`--stock-dir`) is reused as it is."""
    existing = sorted((project / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if existing:
        run.notes.append(f"Stock: reused the bot in {project} (training not measured).")
        return existing[0]
    project.mkdir(parents=True, exist_ok=True)
    env = quiet_env(RASA_CACHE_DIRECTORY=str(project / ".rasa" / "cache"))
    print(f"Stock: rasa init --no-prompt --init-dir {project} (trains its model)…", flush=True)
    log = log_dir / "stock-init.log"
    seconds = run_logged(
        stock_rasa("init", "--no-prompt", "--init-dir", str(project)), project, env, log
    )
    print(f"  {format_value(seconds, 's')}", flush=True)
    run.training = seconds
    run.commands.append("rasa init --no-prompt --init-dir DIR")
    found = re.search(r"trained and saved at '([^']+)'", log.read_text(errors="replace"))
    model = project / found.group(1) if found else None
    if model is None or not model.exists():
        raise RuntimeError(f"rasa init made no model (see {log})")
    if measure:
        edit_response(project, STOCK_EDITED_RESPONSE)
        run.notes.append(f"Stock, retraining: edited {STOCK_EDITED_RESPONSE} in domain.yml.")
        print("Stock: retraining after one answer changed…", flush=True)
        command = stock_rasa("train", "--fixed-model-name", "retrained", "--out", "models")
        run.retraining = run_logged(command, project, env, log_dir / "stock-retrain.log")
        run.commands.append("rasa train --fixed-model-name retrained --out models  # warm cache")
        print(f"  {format_value(run.retraining, 's')}", flush=True)
    return model


# --- load --------------------------------------------------------------------------------------


def conversations(
    scripts: list[list[str]], total: int, turns: int, prefix: str, seed: int = 7
) -> dict[str, list[str]]:
    """`total` messages as conversations of `turns` messages each (the last one shorter if
    need be), under sender ids starting with `prefix`. Each conversation strings scripts drawn
    at random, whole: only its end may cut one short."""
    rng = random.Random(seed)
    plays: dict[str, list[str]] = {}
    remaining = total
    while remaining > 0:
        length = min(turns, remaining)
        messages: list[str] = []
        while len(messages) < length:
            messages += rng.choice(scripts)
        plays[f"{prefix}-{len(plays):04d}"] = messages[:length]
        remaining -= length
    return plays


def measure_load(
    run: BotRun,
    url: str,
    scripts: list[list[str]],
    levels: list[tuple[int, int]],
    turns: int,
    profile: Callable[[int], AbstractContextManager[None]] | None = None,
) -> None:
    """Warm up (every script once), then play every (users, requests) level, printing as it
    goes."""
    stamp = dt.datetime.now().strftime("%H%M%S")
    warm = run_load(url, {f"bench-{stamp}-warm-{i}": s for i, s in enumerate(scripts)}, 2)
    if warm.failures:
        example = warm.failures[0]
        print(f"  warm-up: {len(warm.failures)} failed, e.g. {example}", flush=True)
    for users, total in levels:
        plays = conversations(scripts, total, turns, f"bench-{stamp}-{users}u")
        with profile(users) if profile else nullcontext():
            load = run_load(url, plays, users)
        run.loads[users] = load
        print(
            f"  {users:>2} users, {len(load.replies)} requests: p50 {load.latency_ms(50):.0f} ms, "
            f"p95 {load.latency_ms(95):.0f} ms, p99 {load.latency_ms(99):.0f} ms, "
            f"{load.throughput:.1f} msg/s, {len(load.failures)} failed",
            flush=True,
        )


def seeded_database(directory: Path) -> str:
    """A new SQLite database with the seed partners and events, as `bot db seed` makes it."""
    url = f"sqlite:///{directory / 'ecrin.db'}"
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_partners(session)
        seed_events(session)
    db.get_engine(url).dispose()
    return url


def serve_ours(run: BotRun, args: argparse.Namespace, scratch: Path, log_dir: Path) -> None:
    """Our action server and Rasa server, started as `make run` starts them (review app left
    out), on temporary databases."""
    answers = scratch / "answers"
    answers.mkdir()
    for path in answer_files():
        shutil.copy2(path, answers)
    env = {
        "DATABASE_URL": seeded_database(scratch),
        "TRACKER_STORE_URL": f"sqlite:///{scratch / 'tracker.db'}",
        "FAQ_ANSWERS_DIR": str(answers),
    }
    ports = Ports(rasa=free_port(), actions=free_port(), review=0)
    print(f"Ours: starting the action server and the Rasa server ({MODEL.name})…", flush=True)
    run.commands.append(
        f"bot.serve.running(model={MODEL.relative_to(PROJECT_ROOT)}): `rasa run actions` and "
        "`rasa run` as `bot run` starts them, without the review app; temporary SQLite databases"
    )
    started = time.perf_counter()
    with running(ports, model=MODEL, env=env, log_dir=log_dir, timeout=600) as stack:
        rasa_process = stack.processes["rasa"]
        url = stack.rasa_url + WEBHOOK
        wait_for_answer(url, lambda: rasa_process.poll() is None, timeout=600)
        run.cold_start = time.perf_counter() - started
        print(f"  cold start: {format_value(run.cold_start, 's')}", flush=True)

        def profile(users: int) -> AbstractContextManager[None]:
            # The 8-user level: the server busy, as it is at peak times.
            if users != 8:
                return nullcontext()
            output = args.out.with_name(f"{args.out.stem}-profile.svg")
            return py_spy(args.py_spy, rasa_process.pid, output)

        measure_load(run, url, OURS_SCRIPTS, args.load, args.turns, profile)
        for name, process in stack.processes.items():
            run.rss[name] = peak_rss(process.pid)
        run.live_edit = seconds_until_said(url, answers)
        print(f"  edited answer said after {format_value(run.live_edit, 's')}", flush=True)


def seconds_until_said(url: str, answers: Path, timeout: float = 60) -> float | None:
    """Edit one answer in the running server's answer folder, then ask until it is said."""
    edit_response(answers, OURS_EDITED_RESPONSE)
    started = time.perf_counter()
    for index in itertools.count():
        reply = send(url, f"bench-live-edit-{index}", 0, OURS_SCRIPTS[0][0], timeout=30)
        if any(EDIT_MARK in text for text in reply.texts):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            break
        time.sleep(0.2)
    return None


def serve_stock(run: BotRun, project: Path, model: Path, args: argparse.Namespace) -> None:
    """The stock bot's Rasa server (and its action server, if its endpoints name one)."""
    endpoints = yaml.safe_load((project / "endpoints.yml").read_text(encoding="utf-8")) or {}
    ports = Ports(rasa=free_port(), actions=free_port(), review=0)
    stack = Stack(ports)
    log_dir = project / "logs"
    log_dir.mkdir(exist_ok=True)
    env = quiet_env()
    print(f"Stock: starting the Rasa server ({model.name})…", flush=True)

    def start(name: str, command: list[str]) -> subprocess.Popen:
        output = (log_dir / f"{name}.log").open("wb")
        stack.processes[name] = subprocess.Popen(
            command, cwd=project, env=env, stdout=output, stderr=output
        )
        output.close()
        run.commands.append(shlex.join(command[2:]).replace(str(project), "DIR"))
        return stack.processes[name]

    started = time.perf_counter()
    try:
        if endpoints.get("action_endpoint"):
            start("actions", stock_rasa("run", "actions", "--port", str(ports.actions)))
        else:
            run.rss["actions"] = "none"
            run.notes.append(
                "Stock: no action server (its endpoints.yml has no action_endpoint; the "
                "example action in actions.py is commented out)."
            )
        process = start(
            "rasa",
            stock_rasa(
                "run",
                "--model",
                str(model),
                "--port",
                str(ports.rasa),
                "--interface",
                "127.0.0.1",
                "--credentials",
                "credentials.yml",
            ),
        )
        url = stack.rasa_url + WEBHOOK
        wait_for_answer(url, lambda: process.poll() is None, timeout=600)
        run.cold_start = time.perf_counter() - started
        print(f"  cold start: {format_value(run.cold_start, 's')}", flush=True)
        measure_load(run, url, STOCK_SCRIPTS, args.load, args.turns)
        for name, child in stack.processes.items():
            run.rss[name] = peak_rss(child.pid)
    finally:
        stack.stop()


# --- main --------------------------------------------------------------------------------------


def parse_levels(text: str) -> list[tuple[int, int]]:
    """ "1:200,8:400" → [(1, 200), (8, 400)]: concurrent users and requests at each level."""
    levels = []
    for part in text.split(","):
        users, _, requests = part.partition(":")
        try:
            level = (int(users), int(requests))
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected USERS:REQUESTS, got {part!r}") from error
        if min(level) < 1:
            raise argparse.ArgumentTypeError(f"users and requests must be positive: {part!r}")
        levels.append(level)
    return levels


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-training",
        action="store_true",
        help="serve models/ecrin.tar.gz as it is; training reported as not measured",
    )
    parser.add_argument(
        "--load",
        type=parse_levels,
        default=parse_levels("1:200,8:400,32:640"),
        help="concurrent users:requests per level (default 1:200,8:400,32:640)",
    )
    parser.add_argument("--turns", type=int, default=5, help="messages per conversation")
    parser.add_argument("--only", choices=["ours", "stock"], help="benchmark one bot only")
    parser.add_argument(
        "--stock-dir",
        type=Path,
        help="keep the stock bot here, or reuse the one an earlier run kept (default: temporary)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="BINARY",
        help="record our Rasa server with this py-spy during the 8-user load "
        "(a flame graph next to the report: <date>-profile.svg)",
    )
    parser.add_argument("--out", type=Path, help="report file (default bench/results/<date>.md)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    args.out = args.out or RESULTS / f"{dt.date.today()}.md"
    if not MODEL.exists() and args.only != "stock":
        print(f"{MODEL} is missing: run `make train` (make bench does it).", file=sys.stderr)
        return 1
    machine_before = machine()
    ours, stock = BotRun("ours"), BotRun("stock")
    with tempfile.TemporaryDirectory(prefix="ecrin-bench-") as temporary:
        scratch = Path(temporary)
        log_dir = scratch / "logs"
        log_dir.mkdir()
        try:
            if args.only != "ours":
                project = args.stock_dir.resolve() if args.stock_dir else scratch / "stock"
                stock_model = create_stock(stock, project, not args.skip_training, log_dir)
            if not args.skip_training and args.only != "stock":
                train_ours(ours, scratch)
            if args.skip_training:
                ours.notes.append("Ours: training skipped (--skip-training).")
            if args.only != "stock":
                serve_ours(ours, args, scratch, log_dir)
            if args.only != "ours":
                serve_stock(stock, project, stock_model, args)
        except BaseException:
            for log in sorted(log_dir.glob("*.log")):
                print(f"--- {log.name} (end) ---\n{log.read_text(errors='replace')[-2000:]}")
            raise
    settings = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "load levels (users: requests)": ", ".join(f"{u}: {n}" for u, n in args.load),
        "messages per conversation": str(args.turns),
        "scripts (exchanges) drawn from": f"ours {len(OURS_SCRIPTS)}, stock {len(STOCK_SCRIPTS)}",
        "model served (ours)": str(MODEL.relative_to(PROJECT_ROOT)),
    }
    text = report(ours, stock, settings, machine_before, load_average())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print("\n" + markdown_table(metrics(ours, stock)) + f"\n\nWritten to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
