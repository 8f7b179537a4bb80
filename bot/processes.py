"""The process plan: every process of the assistant, described once.

Each entry says what a process runs, where it listens, how to tell it is up, which environment
variables it reads (its settings) and which secrets it needs, whether it may run as several
replicas, what must be there before it, and which set-ups start it. Everything that starts the
processes builds them from here:

* `bot run` and `bot run --only NAME` (bot/serve.py: `running`, `running_one`; `make run`),
* `bot run --scaled` (bot/scaled.py: `running_scaled`; `make run-scaled`, the load and fault
  tests),

and tests/test_process_plan.py checks the rest against it, naming the file, the service and the
difference when they drift: docker-compose.yml, deploy/k8s/, the Dockerfile, the Makefile's
`run` targets and the process table in docs/deployment.md (`python -m bot.processes` prints
it). To add a process, add it to PLAN; the tests then say what else must follow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from bot.settings import BY_NAME as REGISTERED_VARIABLES
from bot.settings import PROJECT_ROOT, Settings


def rasa_cli(*args: str) -> list[str]:
    """The command line that runs `rasa ARGS` through bot.rasa_main (the project's changes
    inside Rasa applied first), with this interpreter."""
    return [sys.executable, "-m", "bot.rasa_main", *args]


class SetUp(str, Enum):
    """The ways the processes are run together."""

    BOT_RUN = "bot run"  # `make run`: one of each on this machine
    SCALED = "bot run --scaled"  # `make run-scaled`: replicas behind nginx on this machine
    COMPOSE = "docker-compose.yml"
    KUBERNETES = "deploy/k8s"


# What every process gets on top of its own settings. Rasa phones home unless told not to;
# the network here is closed and users' privacy matters.
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    # TensorFlow's oneDNN kernels cost the Rasa server ~125 MB of memory and were no faster
    # for these small models (docs/benchmarks.md: 1,524 → 1,399 MB peak, 21.8 → 25.9 msg/s).
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

# Where a server listens when its interface variable is unset: this machine only.
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Launching:
    """What the commands of one start share: the files written for it and the model."""

    endpoints: Path | None = None
    credentials: Path | None = None
    model: Path | None = None
    nginx: str = "nginx"
    nginx_prefix: Path | None = None
    nginx_config: Path | None = None


# (port, interface, launching) → argv.
CommandBuilder = Callable[[int, str, Launching], list[str]]


def actions_command(actions_port: int, interface: str, launching: Launching) -> list[str]:
    """The action server (rasa-sdk listens on every interface; it has no option for one)."""
    return rasa_cli("run", "actions", "--actions", "actions", "--port", str(actions_port))


def rasa_command(rasa_port: int, interface: str, launching: Launching) -> list[str]:
    """A Rasa server with our channels, endpoints and the trained model."""
    if launching.endpoints is None or launching.credentials is None:
        raise ValueError("the Rasa server needs the endpoints and credentials files")
    return rasa_cli(
        "run",
        "--port",
        str(rasa_port),
        "--interface",
        interface,
        "--endpoints",
        str(launching.endpoints),
        "--credentials",
        str(launching.credentials),
        "--model",
        str(launching.model or PROJECT_ROOT / "models"),
    )


def review_command(review_port: int, interface: str, launching: Launching) -> list[str]:
    """The review app, its migrations already done by the caller."""
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "review",
        "serve",
        "--no-upgrade",
        "--port",
        str(review_port),
        "--host",
        interface,
    ]


def nginx_command(nginx_port: int, interface: str, launching: Launching) -> list[str]:
    """nginx in the foreground on its rendered configuration (which names port and interface)."""
    if launching.nginx_prefix is None or launching.nginx_config is None:
        raise ValueError("nginx needs its rendered configuration")
    return [
        launching.nginx,
        "-p",
        str(launching.nginx_prefix),
        "-c",
        str(launching.nginx_config),
        "-e",
        "stderr",
        "-g",
        "daemon off;",
    ]


@dataclass(frozen=True)
class ProcessKind:
    """One process of the assistant. Run alone, it is `bot <steps>` in our image."""

    name: str
    title: str
    runs_in: frozenset[SetUp]
    # The `bot` command lines a container of it runs, in order (joined by &&); empty for a
    # process of another image (`image`).
    steps: tuple[tuple[str, ...], ...] = ()
    image: str | None = None
    # Its port's variable; the default port is that variable's default in the settings
    # registry (bot/settings/variables.py), never repeated here.
    port_variable: str | None = None
    # The variable naming the address it listens on (default LOOPBACK); None: it has no
    # choice (rasa-sdk listens on every interface).
    interface_variable: str | None = None
    health_path: str | None = None
    # Environment it reads besides its port, its interface and QUIET_ENV.
    settings: frozenset[str] = frozenset()
    # Secrets (credentials, or URLs carrying them) a deployment must give it, and those it
    # may be given.
    secrets: frozenset[str] = frozenset()
    optional_secrets: frozenset[str] = frozenset()
    replicable: bool = False
    # What must be there first: migrations done, the servers it calls or fronts.
    depends_on: tuple[str, ...] = ()
    # Started without a port of its own, to completion, before the others.
    one_shot: bool = False
    # Brings the tracker store's schema to head before it starts (bot/serve.py).
    migrates_tracker_store: bool = False
    # Needs the endpoints and credentials files written from the environment (bot/serve.py).
    needs_rasa_files: bool = False
    build: CommandBuilder | None = field(default=None, compare=False, repr=False)

    @property
    def default_port(self) -> int | None:
        """Where it listens when its port variable is unset: the registry's default for that
        variable (None: it listens on no port)."""
        if self.port_variable is None:
            return None
        port = REGISTERED_VARIABLES[self.port_variable].parse_default()
        if not isinstance(port, int):
            raise TypeError(f"{self.port_variable} is not a port variable with a default")
        return port

    @property
    def reads(self) -> frozenset[str]:
        """Every variable this process reads."""
        own = {self.port_variable, self.interface_variable} - {None}
        return self.settings | self.secrets | self.optional_secrets | own | set(QUIET_ENV)

    @property
    def runs_alone(self) -> bool:
        """Whether `bot run --only NAME` starts it."""
        return self.steps == (("run", "--only", self.name),)

    def listen_port(self, env: Mapping[str, str] | None = None) -> int:
        """Its port in the settings of `env` (default: this process's environment)."""
        if self.port_variable is None:
            raise ValueError(f"{self.name} listens on no port")
        return Settings.from_env(env).network.port(self.port_variable)

    def interface(self, env: Mapping[str, str]) -> str:
        """The address it listens on in the settings of `env` (LOOPBACK unless set)."""
        if self.interface_variable is None:
            return "0.0.0.0"
        return Settings.from_env(env).network.interface(self.interface_variable)

    def command(self, listen_port: int, interface: str, launching: Launching) -> list[str]:
        """The command line that starts it on this machine (`bot run`, `bot run --scaled`)."""
        if self.build is None:
            raise ValueError(f"{self.name} is not started by bot run")
        return self.build(listen_port, interface, launching)

    def health_url(self, listen_port: int) -> str:
        """Where it answers 200 once it is up, from this machine."""
        return f"http://127.0.0.1:{listen_port}{self.health_path}"


EVERYWHERE = frozenset(SetUp)
DEPLOYED = frozenset({SetUp.SCALED, SetUp.COMPOSE, SetUp.KUBERNETES})
RATE_LIMITS = frozenset(
    {
        "RATE_LIMIT_PER_SENDER",
        "RATE_LIMIT_SENDER_WINDOW",
        "RATE_LIMIT_PER_ADDRESS",
        "RATE_LIMIT_ADDRESS_WINDOW",
    }
)

# In start order: a process comes after what it depends on.
PLAN: tuple[ProcessKind, ...] = (
    ProcessKind(
        name="migrate",
        title="migrations and seed data, once per release",
        runs_in=DEPLOYED,  # `make run`: `make db`, and `bot run` migrates the tracker store
        steps=(("db", "upgrade"), ("db", "seed"), ("review", "upgrade")),
        secrets=frozenset({"DATABASE_URL", "TRACKER_STORE_URL"}),
        one_shot=True,
    ),
    ProcessKind(
        name="actions",
        title="action server: partners, events, involvement plans, crisis lines",
        runs_in=EVERYWHERE,
        steps=(("run", "--only", "actions"),),
        port_variable="ACTIONS_PORT",
        health_path="/health",
        secrets=frozenset({"DATABASE_URL"}),
        replicable=True,  # stateless: the database is shared
        depends_on=("migrate",),
        build=actions_command,
    ),
    ProcessKind(
        name="rasa",
        title="Rasa server: channels (web chat, REST, Telegram), NLU, dialogue",
        runs_in=EVERYWHERE,
        steps=(("run", "--only", "rasa"),),
        port_variable="RASA_PORT",
        interface_variable="RASA_INTERFACE",
        health_path="/",  # answers once the model is loaded
        settings=frozenset(
            {
                "ACTION_ENDPOINT_URL",
                "ACTIONS_PORT",  # the default ACTION_ENDPOINT_URL
                "ACTION_TIMEOUT",
                "TICKET_LOCK_LIFETIME",
                "FAQ_ANSWERS_DIR",
                # Following the live model: where to pull it, how often (default: the review
                # app on this host, REVIEW_PORT), and the store, to start on the live archive
                # when it is on this machine (bot/serve.py).
                "MODEL_SERVER_URL",
                "MODEL_PULL_SECONDS",
                "REVIEW_PORT",
                "MODEL_STORE_DIR",
                "WEB_FRAME_ANCESTORS",
                "TRUSTED_PROXIES",
                "TELEGRAM_API_URL",
                *RATE_LIMITS,
            }
        ),
        # DATABASE_URL: the plan page's partner contacts. LOCK_STORE_URL: replicas take turns
        # on a conversation only through a shared lock store. MODEL_SERVER_TOKEN: shown to
        # the model server to pull the live model.
        secrets=frozenset(
            {"DATABASE_URL", "TRACKER_STORE_URL", "LOCK_STORE_URL", "MODEL_SERVER_TOKEN"}
        ),
        optional_secrets=frozenset(
            {
                "TELEGRAM_TOKEN",
                "TELEGRAM_WEBHOOK_SECRET",
                "PSEUDONYM_SECRET",
                "RATE_LIMIT_REDIS_URL",
            }
        ),
        replicable=True,  # with the shared tracker and lock stores (docs/scale-out.md)
        depends_on=("migrate", "actions"),
        migrates_tracker_store=True,
        needs_rasa_files=True,
        build=rasa_command,
    ),
    ProcessKind(
        name="review",
        title="staff review app and the model server; the scheduled retention purge runs beside it",
        runs_in=EVERYWHERE,
        steps=(("run", "--only", "review"),),
        port_variable="REVIEW_PORT",
        interface_variable="REVIEW_INTERFACE",
        health_path="/health",
        settings=frozenset(
            {
                "REVIEW_SECURE_COOKIES",
                "REVIEW_LOW_CONFIDENCE",
                "REVIEW_HASH_CONCURRENCY",
                "TRUSTED_PROXIES",
                "RETENTION_DAYS",
                "PURGE_INTERVAL",
                # The trained models (the Models page) and the model server's archives.
                "MODEL_STORE_DIR",
            }
        ),
        # DATABASE_URL: the events and partners staff edit (/events, /partners, the dashboard's
        # data health); TRACKER_STORE_URL: conversations and the review tables;
        # MODEL_SERVER_TOKEN: what the Rasa servers must show the model server.
        secrets=frozenset(
            {"DATABASE_URL", "TRACKER_STORE_URL", "REVIEW_SECRET_KEY", "MODEL_SERVER_TOKEN"}
        ),
        # The login back-off, shared between processes through Redis when given.
        optional_secrets=frozenset({"RATE_LIMIT_REDIS_URL", "LOCK_STORE_URL"}),
        replicable=False,  # one per deployment: it runs the retention schedule
        depends_on=("migrate",),
        migrates_tracker_store=True,
        build=review_command,
    ),
    ProcessKind(
        name="nginx",
        title="proxy: balances the channels over the Rasa replicas",
        # Kubernetes: the Ingress controller takes its place (deploy/k8s/ingress.yaml).
        runs_in=frozenset({SetUp.SCALED, SetUp.COMPOSE}),
        image="nginx",
        port_variable="NGINX_PORT",
        # The public address: where the Rasa server listens when it runs alone.
        interface_variable="RASA_INTERFACE",
        health_path="/nginx-health",  # nginx itself, without touching the replicas
        settings=frozenset({"NGINX_ACTIONS_PORT"}),  # `bot run --scaled`'s action upstream
        # What it may front: the Rasa replicas always, the action servers (`bot run
        # --scaled`) or the review app (Compose).
        depends_on=("rasa", "actions", "review"),
        build=nginx_command,
    ),
)

BY_NAME: dict[str, ProcessKind] = {kind.name: kind for kind in PLAN}

# What `bot run --only` can start.
RUN_ONLY: tuple[str, ...] = tuple(kind.name for kind in PLAN if kind.runs_alone)


def process(name: str) -> ProcessKind:
    """The plan's process `name`; KeyError names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no process {name!r} in the plan; known: {', '.join(BY_NAME)}") from None


def started_by(set_up: SetUp) -> list[ProcessKind]:
    """The processes `set_up` starts, in start order."""
    return [kind for kind in PLAN if set_up in kind.runs_in]


def servers(set_up: SetUp) -> list[ProcessKind]:
    """The long-running processes of `set_up` (not the one-shot migrations)."""
    return [kind for kind in started_by(set_up) if not kind.one_shot]


def shell_line(kind: ProcessKind) -> str:
    """Its steps as one shell line: `bot db upgrade && bot db seed && …`."""
    return " && ".join(" ".join(("bot", *step)) for step in kind.steps)


def table() -> str:
    """The plan as the Markdown table in docs/deployment.md."""

    def names(variables: frozenset[str], style: str = "`{}`") -> list[str]:
        return [style.format(variable) for variable in sorted(variables)]

    rows = [
        "| process | command | port (variable) | health check | replicas | run by | reads "
        "| secrets (*optional*) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in PLAN:
        command = f"`{shell_line(kind)}`" if kind.steps else f"{kind.image}'s own image"
        where = f"{kind.default_port} (`{kind.port_variable}`)" if kind.port_variable else "—"
        health = f"`GET {kind.health_path}`" if kind.health_path else "exit code"
        replicas = "several" if kind.replicable else "one"
        run_by = ", ".join(f"`{set_up.value}`" for set_up in SetUp if set_up in kind.runs_in)
        reads = kind.reads - kind.secrets - kind.optional_secrets - set(QUIET_ENV)
        secrets = names(kind.secrets) + names(kind.optional_secrets, "*`{}`*")
        rows.append(
            f"| `{kind.name}`: {kind.title} | {command} | {where} | {health} | {replicas} "
            f"| {run_by} | {', '.join(names(reads)) or '—'} | {', '.join(secrets) or '—'} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
