"""The deployment files (Dockerfile, .dockerignore, docker-compose.yml, deploy/) against the
code they run.

No Docker engine and no cluster are needed: these read the files and catch what would only
fail at deploy time — a command the `bot` parser rejects, a path that is not in the
repository, an environment variable that no code reads (a typo), a port, service or label
that does not line up with the other end. `docker compose config` and `nginx -t` run too
where those tools are installed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from bot.cli import build_parser
from bot.processes import BY_NAME, PLAN, QUIET_ENV
from bot.settings import BY_NAME as REGISTERED_SETTINGS
from tests.nginx_helpers import NGINX_CONF, compose_nginx_config, nginx_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SCALED_NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "scaled.conf.j2"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init-databases.sh"
K8S_DIR = ROOT / "deploy" / "k8s"

# Where each process of our image listens: (the variable that moves it, the default), from
# the process plan (bot/processes.py; tests/test_process_plan.py checks the rest against it).
LISTEN_PORTS = {
    kind.name: (kind.port_variable, kind.default_port)
    for kind in PLAN
    if kind.runs_alone and kind.port_variable and kind.default_port
}
# The address each server binds to, when the code reads one (the action server always
# listens on every interface).
INTERFACES = {
    kind.name: kind.interface_variable
    for kind in PLAN
    if kind.runs_alone and kind.interface_variable
}

# What `.env` gives Compose in these tests: stand-ins for the secrets docker-compose.yml
# requires (`${VAR:?…}`, listed in .env.example), URL-safe as the real ones must be.
COMPOSE_TEST_ENV = {
    "POSTGRES_PASSWORD": "test-postgres-password",
    "ECRIN_DB_PASSWORD": "test-ecrin-db-password",
    "REDIS_PASSWORD": "test-redis-password",
    "REVIEW_SECRET_KEY": "test-review-secret-key-of-40-characters-x",
    "PSEUDONYM_SECRET": "test-pseudonym-secret",
    "MODEL_SERVER_TOKEN": "test-model-server-token-of-40-characters",
}
# Secrets Compose passes through from `.env` when set and leaves unset otherwise: the
# Telegram channel is optional.
OPTIONAL_COMPOSE_SECRETS = {"TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET"}
# A variable whose name says it holds a secret.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")

# The keys of the Kubernetes Secret each process reads, as (variable, key): each pod gets
# these and no other (secretKeyRef). The Rasa server reads DATABASE_URL for the plan page's
# partner contacts; the review app reads the tracker store, the events and partners its staff
# edit, and the lock store's Redis for the conversation lock of its erase button and its
# login back-off.
K8S_SECRET_KEYS = {
    "rasa": {
        ("DATABASE_URL", "DATABASE_URL"),
        ("TRACKER_STORE_URL", "TRACKER_STORE_URL"),
        ("LOCK_STORE_URL", "LOCK_STORE_URL"),
        ("TELEGRAM_TOKEN", "TELEGRAM_TOKEN"),
        ("TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_SECRET"),
        ("PSEUDONYM_SECRET", "PSEUDONYM_SECRET"),
        # Shown to the review app's model server to pull the live model.
        ("MODEL_SERVER_TOKEN", "MODEL_SERVER_TOKEN"),
    },
    "actions": {("DATABASE_URL", "DATABASE_URL")},
    "review": {
        ("DATABASE_URL", "DATABASE_URL"),
        ("TRACKER_STORE_URL", "TRACKER_STORE_URL"),
        ("REVIEW_SECRET_KEY", "REVIEW_SECRET_KEY"),
        # The conversation lock of the erase button, and the login back-off.
        ("LOCK_STORE_URL", "LOCK_STORE_URL"),
        ("RATE_LIMIT_REDIS_URL", "LOCK_STORE_URL"),
        # What the Rasa servers must show its model server.
        ("MODEL_SERVER_TOKEN", "MODEL_SERVER_TOKEN"),
    },
    # The migration Job.
    None: {("DATABASE_URL", "DATABASE_URL"), ("TRACKER_STORE_URL", "TRACKER_STORE_URL")},
}
# Keys a Secret may leave out (secretKeyRef optional): the Telegram channel is off then.
K8S_OPTIONAL_SECRET_KEYS = {"TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "PSEUDONYM_SECRET"}
# Variables holding a Redis URL: with the Redis password in it, everywhere.
REDIS_URL_VARIABLES = {"LOCK_STORE_URL", "RATE_LIMIT_REDIS_URL"}
DATABASE_URL_VARIABLES = {"DATABASE_URL", "TRACKER_STORE_URL"}

# Set by the Dockerfile for Python, the venv and Hugging Face (no downloads), not for our code.
PLATFORM_VARIABLES = {
    "VIRTUAL_ENV",
    "PATH",
    "HOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "HF_HUB_OFFLINE",
}

# Manifests kept out of kustomization.yaml on purpose (see the comments in those files).
K8S_NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "migrate-job.yaml"}


# --- helpers -------------------------------------------------------------------------------


def bot_invocations(command: list[str] | str) -> list[list[str]]:
    """The `bot` argument lists in a container command: `["bot", "run"]` or
    `["sh", "-c", "bot db upgrade && bot db seed"]`. Anything that is not `bot` fails."""
    if isinstance(command, str):
        command = shlex.split(command)
    if command[:2] == ["sh", "-c"]:
        steps = [shlex.split(step) for step in command[2].split("&&")]
    else:
        steps = [command]
    for step in steps:
        assert step and step[0] == "bot", f"not a `bot` command: {shlex.join(step)}"
    return [step[1:] for step in steps]


def parse_cli(argv: list[str]):
    """`argv` as the real `bot` parser reads it; an argument it rejects fails the test."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`bot {shlex.join(argv)}` is rejected by bot.cli: {errors.getvalue()}")


def role(command: list[str] | str) -> str | None:
    """Which process a container runs: "rasa", "actions", "review", "all" or None."""
    for argv in bot_invocations(command):
        if argv[:1] == ["run"]:
            args = parse_cli(argv)
            return getattr(args, "only", None) or "all"
    return None


def split_image(reference: str) -> tuple[str, str]:
    """`registry:5000/name:tag` → (`registry:5000/name`, `tag`). The tag may be a Compose
    variable with a default, `${TAG:-latest}`, which has a colon of its own."""
    colon = reference.find(":", reference.rfind("/") + 1)
    return (reference, "latest") if colon < 0 else (reference[:colon], reference[colon + 1 :])


def image_repository(reference: str) -> str:
    return split_image(reference)[0]


def image_tag(reference: str) -> str:
    return split_image(reference)[1]


def read_by_the_assistant(name: str) -> bool:
    """Whether the assistant reads the variable: a setting registered in bot.settings (the
    only code that reads the environment, tests/test_settings.py), or one that every process
    sets for its libraries (bot.processes.QUIET_ENV: Rasa, TensorFlow, SQLAlchemy). A typo in
    a deployment file is neither."""
    return name in REGISTERED_SETTINGS or name in QUIET_ENV


def url_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, f"{url} names no host and port"
    return parts.hostname, parts.port


# --- Dockerfile and .dockerignore ---------------------------------------------------------


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment between continuation lines
            continue
        pending += " " + stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    return instructions


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """The instructions of each named stage, in order."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, arguments in dockerfile():
        if keyword == "FROM":
            words = arguments.split()
            assert len(words) == 3 and words[1].upper() == "AS", f"unnamed stage: {arguments}"
            current = stages.setdefault(words[2], [])
        current.append((keyword, arguments))
    return stages


def runtime_stage() -> list[tuple[str, str]]:
    return list(dockerfile_stages().values())[-1]


def runtime_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in runtime_stage():
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def copy_sources() -> Iterator[str]:
    """Sources of the COPY instructions that read the build context (not --from=stage)."""
    for keyword, arguments in dockerfile():
        if keyword in ("COPY", "ADD"):
            words = shlex.split(arguments)
            if any(word.startswith("--from=") for word in words):
                continue
            yield from (word for word in words[:-1] if not word.startswith("--"))


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(re-included?, regex) for each line, with Docker's glob rules: `*` and `?` stay
    within one path element, `**` crosses them."""
    patterns = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.removeprefix("!").strip().strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        patterns.append((negated, re.compile(regex)))
    return patterns


def docker_ignores(path: str) -> bool:
    """Whether `path` (relative to the context) is left out of the build context: the last
    pattern matching it or one of its parent directories decides, as in Docker."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negated, pattern in dockerignore_patterns():
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def test_dockerfile_copies_only_what_exists() -> None:
    sources = list(copy_sources())
    assert sources, "the Dockerfile copies nothing from the build context"
    missing = [source for source in sources if not list(ROOT.glob(source.removeprefix("./")))]
    assert not missing, f"COPY sources not in the repository: {missing}"


def test_copy_from_names_an_earlier_stage() -> None:
    seen: list[str] = []
    for name, instructions in dockerfile_stages().items():
        for keyword, arguments in instructions:
            for stage in re.findall(r"--from=(\S+)", arguments):
                assert keyword == "COPY" and stage in seen, f"{name}: --from={stage}"
        seen.append(name)


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to list the tracked files")
    for source in copy_sources():
        source = source.removeprefix("./")
        tracked = subprocess.run(
            ["git", "ls-files", "--", source], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        assert tracked, f"{source} is copied but not tracked by git"
        left_out = [path for path in tracked if docker_ignores(path)]
        assert not left_out, f".dockerignore leaves out files the Dockerfile copies: {left_out}"


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".env",
        "data/.env",
        "ecrin.db",
        "tracker.db",
        "data/db/local.db",
        "models/ecrin.tar.gz",
        "models/spacy/en_ecrin/meta.json",
        ".rasa/cache/x",
        "tests/test_cli.py",
        "bot/__pycache__/cli.cpython-310.pyc",
        "docker-compose.yml",
    ],
)
def test_dockerignore_leaves_out(path: str) -> None:
    # Secrets, local databases and models, the venv and caches never enter the build
    # context (models are trained inside the image, from the sources).
    assert docker_ignores(path), f"{path} would be sent to the Docker build"


def test_dockerfile_runtime_stage() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a slim runtime stage"
    args = dict(arguments.split("=", 1) for keyword, arguments in dockerfile() if keyword == "ARG")
    # pyproject.toml: requires-python = ">=3.10,<3.11"; the lock file is compiled for 3.10.
    assert args["PYTHON_IMAGE"].startswith("python:3.10-"), args["PYTHON_IMAGE"]

    instructions = runtime_stage()
    env = runtime_env()
    assert env.get("RASA_TELEMETRY_ENABLED") == "false"
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users, "the runtime stage runs as root"
    uid = users[-1].split(":")[0]
    # Numeric, so that Kubernetes' runAsNonRoot can check it; and the one the manifests use.
    assert uid.isdigit() and int(uid) != 0, users[-1]
    for manifest in k8s_objects():
        pod = pod_spec(manifest)
        if pod is not None:
            assert str(pod["securityContext"]["runAsUser"]) == uid, manifest["kind"]

    (cmd,) = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    assert role(yaml.safe_load(cmd)) == "all", f"default command: {cmd}"
    exposed = {
        int(port)
        for keyword, arguments in instructions
        if keyword == "EXPOSE"
        for port in arguments.split()
    }
    assert exposed == {default for _, default in LISTEN_PORTS.values()}
    ours = set(env) - PLATFORM_VARIABLES
    unread = sorted(variable for variable in ours if not read_by_the_assistant(variable))
    assert not unread, f"Dockerfile ENV that is no setting of bot.settings (a typo?): {unread}"


# --- docker-compose.yml ----------------------------------------------------------------------


# Compose's variable syntax: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
# ${NAME?error} and $NAME.
COMPOSE_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}|(?P<bare>\w+))"
)


class ComposeError(Exception):
    """What `docker compose` stops with: a required variable without a value."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with its variables resolved from `env`, as Compose resolves them."""

    def resolve(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        operator, argument = match.group("operator"), match.group("argument")
        value = env.get(name)
        missing = value is None or (value == "" and (operator or "").startswith(":"))
        if operator in (":-", "-"):
            return argument if missing else value
        if operator in (":?", "?"):
            if missing:
                raise ComposeError(f"required variable {name} is missing a value: {argument}")
            return value
        return value or ""

    return COMPOSE_VARIABLE.sub(resolve, text)


def resolved(node: Any, env: Mapping[str, str]) -> Any:
    """The parsed Compose file with every string interpolated (Compose does it after parsing
    the YAML, so comments are never interpolated)."""
    if isinstance(node, dict):
        return {key: resolved(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value, env) for value in node]
    return interpolate(node, env) if isinstance(node, str) else node


def strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML document."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


@cache
def raw_compose() -> dict:
    """docker-compose.yml as written, its variables unresolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@cache
def compose() -> dict:
    """docker-compose.yml as Compose runs it with the test `.env` (COMPOSE_TEST_ENV)."""
    return resolved(raw_compose(), COMPOSE_TEST_ENV)


def compose_variables() -> list[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every variable docker-compose.yml uses."""
    return [
        (
            match.group("name") or match.group("bare"),
            match.group("operator"),
            match.group("argument"),
        )
        for text in strings(raw_compose())
        for match in COMPOSE_VARIABLE.finditer(text)
        if match.group(0) != "$$"
    ]


def services() -> dict[str, dict]:
    return compose()["services"]


def our_image() -> str:
    """The image the Dockerfile builds, as docker-compose.yml names it."""
    built = [service for service in services().values() if "build" in service]
    assert len(built) == 1, "exactly one service builds the image; the others use it by name"
    return image_repository(built[0]["image"])


def our_services() -> dict[str, dict]:
    image = our_image()
    return {
        name: service
        for name, service in services().items()
        if image_repository(service.get("image", "")) == image
    }


def listen_port(process: str, env: dict) -> int:
    variable, default = LISTEN_PORTS[process]
    return int(env.get(variable, default))


def test_compose_file_is_valid_for_docker_compose() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker client is not installed")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker client has no compose plugin (`docker compose` is unknown)")
    # `config` loads, interpolates and validates the file against the Compose schema; it
    # needs no engine. The required secrets come from the environment, as from `.env`.
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **COMPOSE_TEST_ENV},
    )
    assert result.returncode == 0, result.stderr


def test_compose_secrets_have_no_defaults_and_are_required() -> None:
    secret_names: set[str] = set()
    for name, operator, argument in compose_variables():
        if SECRET_NAME.search(name):
            secret_names.add(name)
            # `${X:?…}` with a message that says where to set it; never `${X:-default}`,
            # `${X-default}` (a password in the file), nor `${X}` (empty when unset).
            assert operator == ":?", f"${{{name}{operator or ''}{argument or ''}}}: not required"
            assert ".env" in argument, f"{name}: the message should say how to set it"
    assert secret_names == set(COMPOSE_TEST_ENV)
    for service_name, service in raw_compose()["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(variable):
                if value is None:  # passed through from .env when set, else unset
                    assert variable in OPTIONAL_COMPOSE_SECRETS, f"{service_name}: {variable}"
                else:
                    assert "${" in value, f"{service_name}: {variable} is written in the file"
    # Each one missing stops Compose, with that message.
    for name in COMPOSE_TEST_ENV:
        short = {key: value for key, value in COMPOSE_TEST_ENV.items() if key != name}
        with pytest.raises(ComposeError, match=rf"{name} is missing a value: set {name} in \.env"):
            resolved(raw_compose(), short)
        with pytest.raises(ComposeError, match=name):
            resolved(raw_compose(), {**short, name: ""})


def test_env_example_lists_the_variables_without_values() -> None:
    required: dict[str, str] = {}
    optional: set[str] = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            if match.group(1):
                optional.add(match.group(2))
            else:
                required[match.group(2)] = match.group(3)
    # Every required secret, with no value: copying the file unchanged fails loudly.
    assert required == dict.fromkeys(COMPOSE_TEST_ENV, "")
    named = {name for name, _, _ in compose_variables()} | OPTIONAL_COMPOSE_SECRETS
    assert (
        named <= set(required) | optional
    ), f"not in .env.example: {named - set(required) - optional}"
    assert docker_ignores(".env.example"), ".env.example would be sent to the Docker build"


def test_compose_redis_requires_the_password_that_every_url_carries() -> None:
    password = COMPOSE_TEST_ENV["REDIS_PASSWORD"]
    redis = services()["redis"]
    command = redis["command"]
    assert command[command.index("--requirepass") + 1] == password
    # The healthcheck authenticates (redis-cli reads REDISCLI_AUTH) and checks for the PONG:
    # redis-cli exits 0 on a NOAUTH error too.
    assert redis["environment"]["REDISCLI_AUTH"] == password
    assert "PONG" in " ".join(redis["healthcheck"]["test"])
    urls = [
        (name, variable, value)
        for name, service in our_services().items()
        for variable, value in (service.get("environment") or {}).items()
        if variable in REDIS_URL_VARIABLES
    ]
    assert urls, "no service is given the Redis URL"
    for name, variable, value in urls:
        parts = urlsplit(value)
        assert (parts.hostname, parts.password) == ("redis", password), f"{name}: {variable}"


def test_compose_database_urls_take_the_sslmode() -> None:
    def sslmodes(config: dict) -> set[str]:
        modes = set()
        for service in config["services"].values():
            for variable, value in (service.get("environment") or {}).items():
                if variable in DATABASE_URL_VARIABLES:
                    (mode,) = parse_qs(urlsplit(value).query)["sslmode"]
                    modes.add(mode)
        return modes

    # libpq's default, which the postgres image (no TLS) accepts; a managed server's
    # `require` or `verify-full` from ECRIN_DB_SSLMODE.
    assert sslmodes(compose()) == {"prefer"}
    stricter = resolved(raw_compose(), {**COMPOSE_TEST_ENV, "ECRIN_DB_SSLMODE": "verify-full"})
    assert sslmodes(stricter) == {"verify-full"}


def test_compose_passes_the_frame_ancestors_to_the_rasa_servers() -> None:
    for name, service in our_services().items():
        if role(service["command"]) == "rasa":
            assert service["environment"]["WEB_FRAME_ANCESTORS"] == "", name
            chosen = resolved(
                raw_compose(), {**COMPOSE_TEST_ENV, "WEB_FRAME_ANCESTORS": "https://a.example"}
            )
            assert chosen["services"][name]["environment"]["WEB_FRAME_ANCESTORS"] == (
                "https://a.example"
            )


def test_forwarded_allow_ips_is_gone_from_the_deployment() -> None:
    # uvicorn's own reading of X-Forwarded-For is off (`bot review serve` passes
    # proxy_headers=False): TRUSTED_PROXIES is the one rule (docs/security.md).
    files = [COMPOSE_FILE, DOCKERFILE, ROOT / "docs" / "deployment.md", ENV_EXAMPLE]
    files += sorted((ROOT / "deploy").rglob("*.*"))
    naming = [
        str(path.relative_to(ROOT))
        for path in files
        if "FORWARDED_ALLOW_IPS" in path.read_text(encoding="utf-8")
    ]
    assert not naming, f"FORWARDED_ALLOW_IPS still in {naming}"


def test_compose_builds_from_the_dockerfile() -> None:
    for name, service in services().items():
        if "build" in service:
            build = service["build"]
            build = {"context": build} if isinstance(build, str) else build
            context = ROOT / build.get("context", ".")
            assert context.is_dir(), f"{name}: no build context {context}"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
            assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    assert set(our_services()) >= {"migrate", "actions", "review"}


def test_compose_bind_mounts_exist_and_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, not in the repo"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_postgres_init_script_is_mounted_and_executable() -> None:
    mounted = [
        volume
        for volume in services()["postgres"]["volumes"]
        if volume.startswith("./deploy/postgres/")
    ]
    assert any("/docker-entrypoint-initdb.d/" in volume for volume in mounted), mounted
    # The image sources non-executable scripts into its own shell instead of running them.
    assert POSTGRES_INIT.stat().st_mode & 0o111, f"{POSTGRES_INIT} is not executable"
    script = POSTGRES_INIT.read_text(encoding="utf-8")
    for url in (
        our_services()["migrate"]["environment"][v] for v in ("DATABASE_URL", "TRACKER_STORE_URL")
    ):
        database = urlsplit(url).path.strip("/")
        assert f"CREATE DATABASE {database} " in script, f"the init script creates no {database}"


def test_compose_commands_parse_with_the_cli() -> None:
    roles = {}
    for name, service in our_services().items():
        assert "command" in service, f"{name} relies on the image's default command"
        for argv in bot_invocations(service["command"]):
            parse_cli(argv)
        roles[name] = role(service["command"])
    # The one-shot job migrates both databases before anything starts.
    assert bot_invocations(services()["migrate"]["command"])[:2] == [
        ["db", "upgrade"],
        ["db", "seed"],
    ]
    assert sorted(r for r in roles.values() if r) == ["actions", "rasa", "rasa", "review"]


def test_compose_environment_is_read_by_the_assistant() -> None:
    for name, service in our_services().items():
        for variable in service.get("environment", {}):
            assert read_by_the_assistant(variable), f"{name}: {variable} is no setting (a typo?)"


def test_compose_servers_wait_for_migrations_and_listen_where_checked() -> None:
    for name, service in our_services().items():
        process = role(service["command"])
        if process is None:
            continue
        depends = service.get("depends_on", {})
        assert depends.get("migrate", {}).get("condition") == "service_completed_successfully"
        env = service.get("environment", {})
        port = listen_port(process, env)
        assert str(port) in [str(p) for p in service.get("expose", [])], name
        check = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/" in check, f"{name}'s healthcheck is not on port {port}"
        if process in INTERFACES:
            # Behind Docker's network the default 127.0.0.1 is unreachable.
            assert env.get(INTERFACES[process]) == "0.0.0.0", name


def test_compose_rasa_replicas_share_a_lock_store_and_find_the_actions() -> None:
    rasa = {n: s for n, s in our_services().items() if role(s["command"]) == "rasa"}
    assert len(rasa) >= 2
    actions = [n for n, s in our_services().items() if role(s["command"]) == "actions"]
    for name, service in rasa.items():
        env = service["environment"]
        # Without a shared lock store two replicas may handle one conversation at once.
        assert urlsplit(env["LOCK_STORE_URL"]).hostname in services(), name
        host, port = url_host_port(env["ACTION_ENDPOINT_URL"])
        assert host in actions, f"{name}: ACTION_ENDPOINT_URL names {host}"
        assert port == listen_port("actions", services()[host]["environment"])


def test_compose_databases_are_distinct() -> None:
    for name, service in our_services().items():
        env = service.get("environment", {})
        if "DATABASE_URL" in env and "TRACKER_STORE_URL" in env:
            # Both databases have an `events` table.
            assert env["DATABASE_URL"] != env["TRACKER_STORE_URL"], name


def test_compose_depends_on_known_services() -> None:
    for name, service in services().items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services(), f"{name} depends on unknown {dependency}"


# --- deploy/nginx/compose.conf ---------------------------------------------------------------


def nginx_upstreams(text: str) -> dict[str, list[tuple[str, int]]]:
    return {
        name: [(host, int(port)) for host, port in re.findall(r"server\s+([\w.-]+):(\d+)", body)]
        for name, body in re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", text, re.DOTALL)
    }


def test_nginx_is_mounted_and_proxies_to_compose_services() -> None:
    nginx = services()["nginx"]
    assert any(v.startswith("./deploy/nginx/compose.conf:") for v in nginx["volumes"])
    text = NGINX_CONF.read_text(encoding="utf-8")
    upstreams = nginx_upstreams(text)
    assert upstreams, "no upstream blocks"
    for proxied in re.findall(r"proxy_pass\s+https?://([\w.-]+)", text):
        assert proxied in upstreams, f"proxy_pass to undefined upstream {proxied}"
    balanced = set()
    for servers in upstreams.values():
        for host, port in servers:
            assert host in our_services(), f"upstream server {host} is not a compose service"
            service = services()[host]
            process = role(service["command"])
            assert process and port == listen_port(process, service["environment"]), host
            if process == "rasa":
                balanced.add(host)
    rasa = {n for n, s in our_services().items() if role(s["command"]) == "rasa"}
    assert balanced == rasa, "every Rasa replica, and only those, behind the rasa upstream"
    # nginx starts once every upstream exists (it resolves the names at start).
    assert set(nginx["depends_on"]) >= {h for s in upstreams.values() for h, _ in s}


def test_nginx_config_syntax(tmp_path: Path) -> None:
    config = compose_nginx_config(tmp_path)
    result = subprocess.run(
        [nginx_binary(), "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


# A block of an nginx configuration: the blocks around it and itself, each as (its directive
# and arguments, e.g. "location /webhooks/", and a serial number telling siblings apart).
NginxBlock = tuple[tuple[str, int], ...]
NginxDirectives = list[tuple[NginxBlock, str, list[str]]]


def nginx_directives(text: str) -> NginxDirectives:
    """(enclosing block, name, arguments) of every directive of an nginx configuration.
    Quoted strings and comments are understood; nothing else is checked."""
    tokens = re.findall(r"""'(?:\\.|[^'])*'|"(?:\\.|[^"])*"|#[^\n]*|[{};]|[^\s{};'"#]+""", text)
    found: NginxDirectives = []
    blocks: list[tuple[str, int]] = []
    words: list[str] = []
    for serial, token in enumerate(tokens):
        if token.startswith("#"):
            continue
        if token == ";":
            found.append((tuple(blocks), words[0], words[1:]))
            words = []
        elif token == "{":
            blocks.append((" ".join(words), serial))
            words = []
        elif token == "}":
            blocks.pop()
        else:
            words.append(token)
    assert not blocks and not words, "unbalanced braces or a directive without ;"
    return found


def nginx_location(directives: NginxDirectives, server: NginxBlock, name: str) -> NginxBlock:
    """The block `location NAME` directly inside `server`."""
    (found,) = {
        where[: len(server) + 1]
        for where, _, _ in directives
        if where[: len(server)] == server
        and len(where) > len(server)
        and where[len(server)][0] == f"location {name}"
    }
    return found


def nginx_setting(directives: NginxDirectives, block: NginxBlock, name: str) -> list[str] | None:
    """The arguments of `name` in force inside `block`: set there or in the nearest block
    around it (nginx's inheritance), None when nginx's default applies."""
    for depth in range(len(block), -1, -1):
        for where, directive, arguments in directives:
            if where == block[:depth] and directive == name:
                return arguments
    return None


def server_blocks(directives: NginxDirectives, port: int) -> list[NginxBlock]:
    """The server blocks that listen on `port` (on any address)."""
    return [
        where
        for where, directive, arguments in directives
        if directive == "listen" and arguments[0].rsplit(":", 1)[-1] == str(port)
    ]


def rendered_scaled_nginx(tmp_path: Path) -> str:
    from bot.scaled import ScaledPorts, render_nginx_config

    return render_nginx_config(ScaledPorts(), tmp_path).read_text(encoding="utf-8")


def test_nginx_limits_bodies_and_slow_clients(tmp_path: Path) -> None:
    from bot.channels.rest import MAX_BODY_BYTES

    # nginx refuses what the channels would refuse (bot.channels.rest), no more and no less.
    channel_limit = [f"{MAX_BODY_BYTES // 1024}k"]
    compose_conf = nginx_directives(NGINX_CONF.read_text(encoding="utf-8"))
    scaled_conf = nginx_directives(rendered_scaled_nginx(tmp_path))
    (public,) = server_blocks(compose_conf, 80)
    (staff,) = server_blocks(compose_conf, 8080)
    (scaled_public,) = server_blocks(scaled_conf, 8000)
    for directives, server in ((compose_conf, public), (scaled_conf, scaled_public)):
        webhooks = nginx_location(directives, server, "/webhooks/")
        assert nginx_setting(directives, webhooks, "client_max_body_size") == channel_limit
        # A refused body gets the channel's JSON reason, not nginx's HTML page.
        assert nginx_setting(directives, webhooks, "error_page") == ["413", "@body_too_large"]
        # The rest of the public server takes no body above that either.
        assert nginx_setting(directives, server, "client_max_body_size") == channel_limit
    assert nginx_setting(compose_conf, staff, "client_max_body_size") == ["1m"]
    for directives, server in (
        (compose_conf, public),
        (compose_conf, staff),
        (scaled_conf, scaled_public),
    ):
        for timeout in ("client_header_timeout", "client_body_timeout"):
            assert nginx_setting(directives, server, timeout) == ["10s"], (server, timeout)


# --- deploy/k8s --------------------------------------------------------------------------


@cache
def k8s_objects() -> list[dict]:
    objects = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                document["__file__"] = path.name
                objects.append(document)
    return objects


def of_kind(kind: str) -> list[dict]:
    return [o for o in k8s_objects() if o["kind"] == kind]


def pod_spec(manifest: dict) -> dict | None:
    if manifest["kind"] in ("Deployment", "Job"):
        return manifest["spec"]["template"]["spec"]
    return None


def example_secret() -> dict:
    (secret,) = of_kind("Secret")
    return secret


def secret_refs(container: dict) -> set[tuple[str, str]]:
    """(variable, key) of each Secret key the container's environment takes."""
    return {
        (variable["name"], variable["valueFrom"]["secretKeyRef"]["key"])
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


def container_env(container: dict) -> dict[str, str]:
    """The container's environment with the example Secret: the ConfigMap (envFrom), then its
    own `env` (values, and the Secret keys it names)."""
    (config,) = of_kind("ConfigMap")
    secret = example_secret()
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"{container['name']}: envFrom {source}"
        assert source["configMapRef"]["name"] == config["metadata"]["name"]
        env.update(config["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
            continue
        reference = variable["valueFrom"]["secretKeyRef"]
        assert reference["name"] == secret["metadata"]["name"], reference
        if reference["key"] in secret["stringData"]:
            env[variable["name"]] = secret["stringData"][reference["key"]]
        else:
            assert reference.get("optional"), f"{container['name']}: no key {reference['key']}"
    return env


def process_containers() -> dict[str | None, dict]:
    """The container of each process (None: the migration Job)."""
    found = {role(c.get("command", []) + c.get("args", [])): c for _, c in containers()}
    assert len(found) == len(list(containers())), "two containers run the same process"
    return found


def containers() -> Iterator[tuple[dict, dict]]:
    for manifest in k8s_objects():
        pod = pod_spec(manifest)
        for container in pod["containers"] if pod else []:
            yield manifest, container


def container_ports(container: dict) -> dict[str | int, int]:
    ports: dict[str | int, int] = {}
    for port in container.get("ports", []):
        ports[port["containerPort"]] = port["containerPort"]
        if "name" in port:
            ports[port["name"]] = port["containerPort"]
    return ports


def test_k8s_manifests_parse_and_share_one_namespace() -> None:
    (namespace,) = of_kind("Namespace")
    for manifest in k8s_objects():
        assert manifest.get("apiVersion") and manifest.get("kind"), manifest["__file__"]
        metadata = manifest["metadata"]
        assert metadata.get("name") or metadata.get("generateName"), manifest["__file__"]
        if manifest["kind"] != "Namespace":
            assert metadata.get("namespace") == namespace["metadata"]["name"], metadata


def test_kustomization_lists_the_manifests() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    resources = set(kustomization["resources"])
    files = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert resources <= files, f"missing: {resources - files}"
    assert files - resources == K8S_NOT_IN_KUSTOMIZATION
    (image,) = kustomization["images"]
    assert image["name"] == our_image()
    for _, container in containers():
        assert image_tag(container["image"]) == image["newTag"], container["name"]


def test_k8s_containers_run_our_image_with_commands_the_cli_accepts() -> None:
    processes = []
    for manifest, container in containers():
        assert image_repository(container["image"]) == our_image(), container["image"]
        command = container.get("command", []) + container.get("args", [])
        for argv in bot_invocations(command):
            parse_cli(argv)
        processes.append(role(command))
        for source in container.get("envFrom", []):
            kind, ref = next(iter(source.items()))
            kind = {"configMapRef": "ConfigMap", "secretRef": "Secret"}[kind]
            assert ref["name"] in [o["metadata"]["name"] for o in of_kind(kind)], ref
        assert manifest["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    assert sorted(p for p in processes if p) == ["actions", "rasa", "review"]
    (job,) = of_kind("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert bot_invocations(container["command"])[:2] == [["db", "upgrade"], ["db", "seed"]]


def test_k8s_ports_and_probes_line_up() -> None:
    for _, container in containers():
        process = role(container["command"])
        if process is None:
            continue
        env = container_env(container)
        ports = container_ports(container)
        assert listen_port(process, env) in ports.values(), f"{process} listens elsewhere"
        if process in INTERFACES:
            assert env[INTERFACES[process]] == "0.0.0.0", process
        probes = [container.get(p) for p in ("startupProbe", "readinessProbe", "livenessProbe")]
        assert container.get("readinessProbe") and container.get("livenessProbe"), process
        for probe in filter(None, probes):
            port = probe["httpGet"]["port"]
            assert port in ports, f"{process}: probe on {port}, not a containerPort"
            assert ports[port] == listen_port(process, env)
            assert probe["httpGet"]["path"] == BY_NAME[process].health_path, process


def test_k8s_selectors_match_deployments() -> None:
    deployments = of_kind("Deployment")
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()

    def selected(selector: dict) -> dict:
        matches = [
            d
            for d in deployments
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"{selector} selects {len(matches)} Deployments"
        return matches[0]

    for service in of_kind("Service"):
        (container,) = pod_spec(selected(service["spec"]["selector"]))["containers"]
        for port in service["spec"]["ports"]:
            assert port.get("targetPort", port["port"]) in container_ports(container), port
    for budget in of_kind("PodDisruptionBudget"):
        selected(budget["spec"]["selector"]["matchLabels"])


def test_k8s_ingress_routes_to_services() -> None:
    service_ports = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]} for s in of_kind("Service")
    }
    for ingress in of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["number"] in service_ports[backend["name"]], backend


def test_k8s_rasa_replicas_share_a_lock_store_and_find_the_actions() -> None:
    env = container_env(process_containers()["rasa"])
    by_process = {role(c["command"]): m for m, c in containers()}
    assert by_process["rasa"]["spec"]["replicas"] >= 2
    assert env["LOCK_STORE_URL"].startswith("redis")
    host, port = url_host_port(env["ACTION_ENDPOINT_URL"])
    (service,) = [s for s in of_kind("Service") if s["metadata"]["name"] == host]
    assert port in {p["port"] for p in service["spec"]["ports"]}
    actions_labels = by_process["actions"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= actions_labels.items()
    # Both databases have an `events` table.
    assert env["DATABASE_URL"] != env["TRACKER_STORE_URL"]


def test_k8s_environment_is_read_by_the_assistant() -> None:
    (config,) = of_kind("ConfigMap")
    names = set(config["data"]) | set(example_secret()["stringData"])
    names |= {variable["name"] for _, c in containers() for variable in c.get("env", [])}
    # The settings the ConfigMap offers commented out, to be switched on.
    text = (K8S_DIR / "configmap.yaml").read_text(encoding="utf-8")
    offered = set(re.findall(r"^\s*#\s*([A-Z][A-Z0-9_]+):", text, re.MULTILINE))
    assert "WEB_FRAME_ANCESTORS" in offered, "the ConfigMap should offer WEB_FRAME_ANCESTORS"
    unread = sorted(name for name in names | offered if not read_by_the_assistant(name))
    assert not unread, f"set in deploy/k8s but no setting of bot.settings (a typo?): {unread}"


def test_k8s_pods_get_only_the_secrets_they_read() -> None:
    secret = example_secret()
    (config,) = of_kind("ConfigMap")
    leaked = sorted(name for name in config["data"] if SECRET_NAME.search(name))
    assert not leaked, f"secrets in the ConfigMap: {leaked}"
    used: set[str] = set()
    for process, container in process_containers().items():
        # Not the whole Secret (envFrom secretRef: container_env refuses it), only its keys.
        assert secret_refs(container) == K8S_SECRET_KEYS[process], process
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                used.add(reference["key"])
                optional = bool(reference.get("optional"))
                assert optional == (reference["key"] in K8S_OPTIONAL_SECRET_KEYS), variable
            else:
                assert not SECRET_NAME.search(variable["name"]), f"{variable['name']} in clear"
        container_env(container)  # every required key is in the example Secret
    assert used == set(secret["stringData"]), "keys of the example Secret that no pod reads"


def test_k8s_redis_and_database_urls_carry_a_password_and_sslmode() -> None:
    for process, container in process_containers().items():
        env = container_env(container)
        for variable, value in env.items():
            if variable in REDIS_URL_VARIABLES:
                assert urlsplit(value).password, f"{process}: {variable} has no password"
            if variable in DATABASE_URL_VARIABLES:
                assert "sslmode" in parse_qs(urlsplit(value).query), f"{process}: {variable}"
        for variable in container.get("env", []):
            if variable["name"] in REDIS_URL_VARIABLES | DATABASE_URL_VARIABLES:
                assert "value" not in variable, f"{process}: {variable['name']} in clear"
    text = (K8S_DIR / "secret.example.yaml").read_text(encoding="utf-8")
    assert "sslmode=verify-full" in text and "sslmode=require" in text, "document sslmode"


def effective_security(pod: dict, container: dict, field: str) -> Any:
    """A securityContext field of the container, or else of its pod."""
    own = container.get("securityContext", {})
    return own[field] if field in own else pod.get("securityContext", {}).get(field)


def test_k8s_containers_run_read_only_non_root_and_unprivileged() -> None:
    uid = [a for k, a in runtime_stage() if k == "USER"][-1].split(":")[0]
    home = runtime_env()["HOME"]
    checked = 0
    for manifest in k8s_objects():
        pod = pod_spec(manifest)
        if pod is None:
            continue
        where = manifest["metadata"].get("name") or manifest["metadata"]["generateName"]
        assert pod.get("automountServiceAccountToken") is False, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod.get("initContainers", []) + pod["containers"]:
            name = f"{where}/{container['name']}"
            assert effective_security(pod, container, "runAsNonRoot") is True, name
            assert str(effective_security(pod, container, "runAsUser")) == uid, name
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert not context["capabilities"].get("add"), name
            assert not context.get("privileged"), name
            # Where the processes write (bot run's temporary files, Rasa's unpacked model
            # and ~/.config/rasa): scratch volumes, nothing else; and the review app's model
            # store (MODEL_STORE_DIR), a claimed volume.
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            env = {v["name"]: v.get("value") for v in container.get("env", [])}
            store = env.get("MODEL_STORE_DIR")
            if store in mounts:
                claims = {v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
                assert mounts.pop(store) in claims, name
            assert mounts.keys() == {"/tmp", home}, name
            assert set(mounts.values()) <= empty_dirs, name
            checked += 1
    assert checked == len(list(containers()))


def test_k8s_ingress_limits_the_body_per_host() -> None:
    sizes = {}
    for ingress in of_kind("Ingress"):
        size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                sizes[path["backend"]["service"]["name"]] = size
    from bot.channels.rest import MAX_BODY_BYTES

    # The channels' own limit and the review app's.
    assert sizes == {"ecrin-rasa": f"{MAX_BODY_BYTES // 1024}k", "ecrin-review": "1m"}
