"""`bot run --scaled` (`make run-scaled`): Rasa and action server replicas behind nginx.

    nginx :8000 ──► Rasa :5005, :5006 ──► nginx 127.0.0.1:8055 ──► actions :5055, :5056
                         │  tracker store: PostgreSQL (TRACKER_STORE_URL)
                         └─ lock store:    Redis (LOCK_STORE_URL)

Any replica can take any message: conversations live in the shared tracker store and a Redis
ticket lock makes the replicas take turns on one conversation. Which processes start, how
many of each, and their commands and health checks come from the process plan
(bot/processes.py, SetUp.SCALED). The load test (bench/load_test.py) and
tests/test_scale_out.py start exactly what `make run-scaled` starts, through `running_scaled`.
See docs/scale-out.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bot.processes import LOOPBACK, QUIET_ENV, SetUp, process, servers
from bot.serve import (
    free_port,
    in_foreground,
    on_the_live_model,
    prepared_for,
    with_model_server_token,
)
from bot.settings import PROJECT_ROOT, Settings, current
from bot.supervisor import Launch, Processes, StartError

# Where `make run-scaled` keeps its data unless the environment says otherwise: the local
# PostgreSQL and Redis. SQLite and the in-memory lock store cannot be shared by replicas.
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/ecrin"
DEFAULT_TRACKER_STORE_URL = "postgresql://postgres@127.0.0.1:5432/ecrin_tracker"
DEFAULT_LOCK_STORE_URL = "redis://127.0.0.1:6379/0"
# The scaled set-up's own defaults, where they differ from bot.settings'. nginx, on this
# machine, is the one proxy whose X-Forwarded-For the replicas believe.
SCALED_DEFAULTS = {
    "DATABASE_URL": DEFAULT_DATABASE_URL,
    "TRACKER_STORE_URL": DEFAULT_TRACKER_STORE_URL,
    "LOCK_STORE_URL": DEFAULT_LOCK_STORE_URL,
    "TRUSTED_PROXIES": "127.0.0.1",
}

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "scaled.conf.j2"
REPLICAS = 2


@dataclass(frozen=True)
class ScaledPorts:
    """Where each process of the scaled set-up listens; `review` 0 leaves the review app out.

    `nginx` is the public port; `nginx_actions` the action upstream, on loopback only.
    """

    nginx: int = 8000
    nginx_actions: int = 8055
    rasa: tuple[int, ...] = (5005, 5006)
    actions: tuple[int, ...] = (5055, 5056)
    review: int = 8080

    def __post_init__(self) -> None:
        if not self.rasa or not self.actions:
            raise SystemExit("The scaled set-up needs at least one Rasa and one action server.")
        used = [self.nginx, self.nginx_actions, *self.rasa, *self.actions]
        used += [self.review] if self.review else []
        clashes = sorted({p for p in used if used.count(p) > 1})
        if clashes:
            raise SystemExit(
                f"Port(s) {', '.join(map(str, clashes))} would be used twice: replicas take "
                "RASA_PORT, RASA_PORT+1… and ACTIONS_PORT, ACTIONS_PORT+1…; NGINX_PORT, "
                "NGINX_ACTIONS_PORT and REVIEW_PORT must differ from them."
            )

    @classmethod
    def from_env(cls, replicas: int = REPLICAS) -> ScaledPorts:
        """Each process's port variable or the plan's default (bot/processes.py): NGINX_PORT
        (8000), REVIEW_PORT (8080); the replicas count up from RASA_PORT (5005) and
        ACTIONS_PORT (5055). NGINX_ACTIONS_PORT (8055): nginx's action upstream."""
        rasa, actions = process("rasa").listen_port(), process("actions").listen_port()
        nginx_actions = current().network.nginx_actions_port
        if max(rasa, actions) + replicas - 1 > 65535:
            raise SystemExit("RASA_PORT and ACTIONS_PORT leave no room for the replicas' ports")
        return cls(
            nginx=process("nginx").listen_port(),
            nginx_actions=nginx_actions,
            rasa=tuple(rasa + i for i in range(replicas)),
            actions=tuple(actions + i for i in range(replicas)),
            review=process("review").listen_port(),
        )

    def of(self, name: str) -> tuple[int, ...]:
        """The ports of the plan's process `name`: one per replica; none when left out."""
        ports = getattr(self, name)
        if isinstance(ports, tuple):
            return ports
        return (ports,) if ports else ()

    @classmethod
    def free(cls, replicas: int = REPLICAS, review: bool = True) -> ScaledPorts:
        """Free ports everywhere: tests and the load test run beside a `make run-scaled`."""
        ports = iter(_free_ports(2 + 2 * replicas + 1))
        return cls(
            nginx=next(ports),
            nginx_actions=next(ports),
            rasa=tuple(next(ports) for _ in range(replicas)),
            actions=tuple(next(ports) for _ in range(replicas)),
            review=next(ports) if review else 0,
        )


def _free_ports(count: int) -> list[int]:
    # free_port() closes its socket, so two calls may return the same port: ask until
    # `count` distinct ones came back.
    found: list[int] = []
    while len(found) < count:
        candidate = free_port()
        if candidate not in found:
            found.append(candidate)
    return found


def scaled_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the scaled set-up's defaults filled in, checked.

    DATABASE_URL, TRACKER_STORE_URL and LOCK_STORE_URL default to the local PostgreSQL and
    Redis (SCALED_DEFAULTS). The tracker store must be a database server every replica reaches
    (not SQLite) and not the partners database (both have an `events` table). Any bad setting
    stops here with the reason (SystemExit).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    given = Settings.from_env(env)
    result = dict(env)
    for name, default in SCALED_DEFAULTS.items():
        if given.source(name) == "default":
            result[name] = default
    stores = Settings.from_env(result).stores
    try:
        database, tracker = make_url(stores.database_url), make_url(stores.tracker_store_url)
    except (ArgumentError, ValueError) as error:
        raise SystemExit(f"DATABASE_URL or TRACKER_STORE_URL is not a valid URL: {error}") from None
    if tracker.get_backend_name() == "sqlite":
        raise SystemExit(
            "bot run --scaled shares the tracker store between replicas: TRACKER_STORE_URL must "
            "be a database server such as postgresql://…, not SQLite."
        )
    if (database.host, database.port, database.database) == (
        tracker.host,
        tracker.port,
        tracker.database,
    ):
        raise SystemExit(
            "DATABASE_URL and TRACKER_STORE_URL name the same database; they must differ "
            "(both have an `events` table)."
        )
    return result


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _admin_connection(url: str) -> Iterator[tuple[object, str]]:
    """An autocommit connection to the server of `url` (its `postgres` database), and the
    name of `url`'s database."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(url)
    admin = sa.create_engine(
        parsed.set(database="postgres"),
        future=True,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            yield connection, parsed.database
    except sa.exc.OperationalError as error:
        raise SystemExit(f"PostgreSQL for {_safe(url)} is not reachable: {error.orig}") from None
    finally:
        admin.dispose()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_database_if_missing(url: str) -> bool:
    """Create `url`'s PostgreSQL database unless it exists; True when it was created.

    Other databases are left alone (SQLite creates its file itself).
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() != "postgresql":
        return False
    with _admin_connection(url) as (connection, name):
        exists = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
        if connection.execute(exists, {"name": name}).scalar():
            return False
        try:
            connection.execute(sa.text(f"CREATE DATABASE {_quoted(name)}"))
        except sa.exc.ProgrammingError:  # someone else created it just now
            if not connection.execute(exists, {"name": name}).scalar():
                raise
            return False
        return True


def drop_database(url: str) -> None:
    """Drop `url`'s PostgreSQL database, closing its connections (load test, tests)."""
    import sqlalchemy as sa

    with _admin_connection(url) as (connection, name):
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))


def prepare_databases(env: Mapping[str, str], log_dir: Path | None = None) -> None:
    """Create the two databases if missing, then run the plan's migration step (`bot db
    upgrade && bot db seed && bot review upgrade`, what Compose's `migrate` service and the
    Kubernetes Job run) — once, before any replica starts. Its output goes to migrate.log in
    `log_dir`; a step that fails raises StartError with the end of it."""
    stores = Settings.from_env(env).stores
    for url in (stores.database_url, stores.tracker_store_url):
        create_database_if_missing(url)
    output: list[str] = []
    for step in process("migrate").steps:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", *step],
            cwd=PROJECT_ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
        )
        output.append(f"$ bot {' '.join(step)}\n{result.stdout}{result.stderr}")
        if log_dir:
            (log_dir / "migrate.log").write_text("".join(output), encoding="utf-8")
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip()[-2000:]
            raise StartError(f"`bot {' '.join(step)}` exited with code {result.returncode}: {tail}")


def find_nginx() -> str:
    """nginx's path; Debian puts it in /usr/sbin, which a non-root PATH may lack."""
    found = shutil.which("nginx")
    if not found and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    if not found:
        raise SystemExit("nginx is not installed: `make nginx` installs Debian's package.")
    return found


def render_nginx_config(ports: ScaledPorts, prefix: Path, interface: str = "127.0.0.1") -> Path:
    """deploy/nginx/scaled.conf.j2 rendered into `prefix`, with nginx's pid, logs and temp
    files there too, so it runs without touching /etc/nginx or /var/lib/nginx.

    As root, nginx's workers run as www-data (or nobody) and `prefix` is made traversable
    for them; nginx creates and hands them its temp directories itself.
    """
    import jinja2

    user = None
    if os.geteuid() == 0:
        user = next(u for u in ("www-data", "nobody") if _user_exists(u))
        prefix.chmod(0o711)
    for directory in ("logs", "temp"):
        (prefix / directory).mkdir(mode=0o711, exist_ok=True)
    template = jinja2.Template(
        NGINX_TEMPLATE.read_text(encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    host = f"[{interface}]" if ":" in interface else interface
    config = template.render(
        user=user,
        prefix=str(prefix),
        listen=f"{host}:{ports.nginx}",
        actions_port=ports.nginx_actions,
        rasa_ports=ports.rasa,
        action_ports=ports.actions,
    )
    path = prefix / "nginx.conf"
    path.write_text(config, encoding="utf-8")
    return path


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class ScaledStack(Processes):
    """The running replicas, nginx and the review app, and where to reach them."""

    ports: ScaledPorts
    nginx_prefix: Path

    @property
    def url(self) -> str:
        """The public entry point (nginx)."""
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def rasa_urls(self) -> list[str]:
        """Each Rasa replica, directly (tests send to them without nginx)."""
        return [f"http://127.0.0.1:{p}" for p in self.ports.rasa]

    @property
    def action_endpoint(self) -> str:
        """The action webhook the Rasa replicas call: nginx's action upstream."""
        return f"http://127.0.0.1:{self.ports.nginx_actions}/webhook"

    def requests_per_replica(
        self, uri_prefix: str = "/webhooks/", log_name: str = "access.log"
    ) -> Counter[str]:
        """How many requests under `uri_prefix` nginx has passed to each upstream server, by
        address ("127.0.0.1:5005"), from its access log (format `replicas` in the template):
        `access.log` for the Rasa replicas, `actions-access.log` for the action servers. A
        request that nginx passed on after a failure counts for the server that answered."""
        served: Counter[str] = Counter()
        log = self.nginx_prefix / "logs" / log_name
        if not log.exists():
            return served
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split()
            if len(fields) < 5 or not fields[2].startswith(uri_prefix):
                continue
            upstream = fields[4].removeprefix("upstream=").split(",")[-1].strip()
            served[upstream] += 1
        return served


@contextmanager
def running_scaled(
    ports: ScaledPorts,
    env: Mapping[str, str] | None = None,
    model: Path | None = None,
    log_dir: Path | None = None,
    timeout: float = 600,
) -> Iterator[ScaledStack]:
    """Start the processes of the plan's SetUp.SCALED; stop every one on exit (the databases
    stay).

    Before any replica starts, this process creates the databases and runs the plan's
    migration step, so replicas never race to create tables. Then every process starts at
    once (bot.supervisor.Processes.start_all), one per port of `ports` for the replicable
    ones, and this waits until each answers. The Rasa replicas listen on loopback and call
    the action servers through nginx (ACTION_ENDPOINT_URL); nginx listens on RASA_INTERFACE.
    `model` pins the replicas' model; None: they start on the live model and follow it through
    the review app's model server, with a MODEL_SERVER_TOKEN made for the run when none is set.
    """
    nginx = find_nginx()
    process_env = scaled_env({**os.environ, **QUIET_ENV, **(env or {})})
    if ports.review:
        process_env = with_model_server_token(process_env)
    kinds = [kind for kind in servers(SetUp.SCALED) if ports.of(kind.name)]
    with (
        tempfile.TemporaryDirectory(prefix="ecrin-scaled-") as scratch,
        tempfile.TemporaryDirectory(prefix="ecrin-nginx-") as nginx_dir,
    ):
        stack = ScaledStack(ports, Path(nginx_dir), env=process_env, log_dir=log_dir)
        behind_nginx = {"ACTION_ENDPOINT_URL": stack.action_endpoint}
        prepared = prepared_for(
            kinds, Path(scratch), {**process_env, **behind_nginx}, None, model, ports.review or None
        )
        public = process("nginx").interface(process_env)
        config = render_nginx_config(ports, Path(nginx_dir), public)
        prepared = replace(prepared, nginx=nginx, nginx_prefix=Path(nginx_dir), nginx_config=config)
        prepare_databases(process_env, log_dir)
        prepared = on_the_live_model(prepared, process_env)
        launches = []
        for kind in kinds:
            # Those reading ACTION_ENDPOINT_URL (the Rasa servers) call nginx's upstream.
            extra = behind_nginx if "ACTION_ENDPOINT_URL" in kind.reads else None
            for number, listen in enumerate(ports.of(kind.name), start=1):
                name = f"{kind.name}-{number}" if kind.replicable else kind.name
                # Replicas listen on loopback, behind nginx.
                interface = LOOPBACK if kind.replicable else kind.interface(process_env)
                command = kind.command(listen, interface, prepared)
                launches.append(Launch(name, command, kind.health_url(listen), extra))
        try:
            deadline = time.monotonic() + timeout
            stack.start_all(launches, timeout)
            # nginx routes "/" once a Rasa replica answers, its action upstream once an
            # action server does.
            for url in (f"{stack.url}/", f"http://127.0.0.1:{ports.nginx_actions}/health"):
                stack.wait_until_up("nginx", url, max(1.0, deadline - time.monotonic()))
            yield stack
        finally:
            stack.stop()
            if log_dir:  # nginx's logs go with its temporary directory: keep a copy
                for log in (Path(nginx_dir) / "logs").glob("*.log"):
                    shutil.copyfile(log, log_dir / f"nginx-{log.name}")


def serve_scaled() -> int:
    """`bot run --scaled`: the scaled set-up in the foreground until Ctrl-C (or SIGTERM)."""
    ports = ScaledPorts.from_env()
    return in_foreground(running_scaled(ports), _banner)


def _banner(stack: ScaledStack) -> list[str]:
    ports = stack.ports
    public = f"http://localhost:{ports.nginx}"
    settings = Settings.from_env(stack.env)
    lock = settings.stores.lock_store
    assert lock is not None, "scaled_env gives the scaled set-up a lock store"
    lines = [
        f"The ECRIN assistant is running: {len(ports.rasa)} Rasa servers and "
        f"{len(ports.actions)} action servers behind nginx. Ctrl-C stops everything.",
        f"  web chat        {public}/webhooks/web/",
        f"  REST webhook    {public}/webhooks/rest/webhook",
    ]
    if settings.telegram.token:
        lines.append(f"  Telegram        {public}/webhooks/telegram/webhook")
    lines += [
        f"  Rasa replicas   {', '.join(stack.rasa_urls)}",
        f"  action servers  {stack.action_endpoint} (nginx) → "
        + ", ".join(f":{p}" for p in ports.actions),
    ]
    if ports.review:
        lines.append(f"  staff review    http://localhost:{ports.review}/")
    lines += [
        f"  tracker store   {_safe(settings.stores.tracker_store_url)}",
        f"  database        {_safe(settings.stores.database_url)}",
        f"  lock store      redis {lock['url']}:{lock['port']}/{lock['db']} "
        f"(key prefix {lock['key_prefix']})",
        f"  nginx logs      {stack.nginx_prefix / 'logs'}",
    ]
    return lines
