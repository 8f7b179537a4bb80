"""`bot run --scaled` (`make run-scaled`): Rasa and action server replicas behind nginx.

    nginx :8000 ──► Rasa :5005, :5006 ──► nginx 127.0.0.1:8055 ──► actions :5055, :5056
                         │  tracker store: PostgreSQL (TRACKER_STORE_URL)
                         └─ lock store:    Redis (LOCK_STORE_URL)

Any replica can take any message: conversations live in the shared tracker store and a Redis
ticket lock makes the replicas take turns on one conversation. The load test
(bench/load_test.py) and tests/test_scale_out.py start exactly what `make run-scaled` starts,
through `running_scaled`. See docs/scale-out.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot import db
from bot.serve import (
    QUIET_ENV,
    Processes,
    actions_command,
    check_lock_store,
    credentials_file,
    endpoints_file,
    free_port,
    in_foreground,
    rasa_command,
    review_command,
    upgrade_tracker_store,
)
from bot.settings import PROJECT_ROOT, port, redis_lock_store

# Where `make run-scaled` keeps its data unless the environment says otherwise: the local
# PostgreSQL and Redis. SQLite and the in-memory lock store cannot be shared by replicas.
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/ecrin"
DEFAULT_TRACKER_STORE_URL = "postgresql://postgres@127.0.0.1:5432/ecrin_tracker"
DEFAULT_LOCK_STORE_URL = "redis://127.0.0.1:6379/0"

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
        """NGINX_PORT (8000), NGINX_ACTIONS_PORT (8055), REVIEW_PORT (8080); the replicas
        count up from RASA_PORT (5005) and ACTIONS_PORT (5055)."""
        rasa, actions = port("RASA_PORT", 5005), port("ACTIONS_PORT", 5055)
        if max(rasa, actions) + replicas - 1 > 65535:
            raise SystemExit("RASA_PORT and ACTIONS_PORT leave no room for the replicas' ports")
        return cls(
            nginx=port("NGINX_PORT", 8000),
            nginx_actions=port("NGINX_ACTIONS_PORT", 8055),
            rasa=tuple(rasa + i for i in range(replicas)),
            actions=tuple(actions + i for i in range(replicas)),
            review=port("REVIEW_PORT", 8080),
        )

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
    Redis. The tracker store must be a database server every replica reaches (not SQLite) and
    not the partners database (both have an `events` table).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    result = dict(env)
    result["DATABASE_URL"] = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    result["TRACKER_STORE_URL"] = env.get("TRACKER_STORE_URL") or DEFAULT_TRACKER_STORE_URL
    result["LOCK_STORE_URL"] = env.get("LOCK_STORE_URL") or DEFAULT_LOCK_STORE_URL
    # nginx, on this machine, is the one proxy whose X-Forwarded-For the replicas believe.
    result["TRUSTED_PROXIES"] = env.get("TRUSTED_PROXIES") or "127.0.0.1"
    try:
        database, tracker = make_url(result["DATABASE_URL"]), make_url(result["TRACKER_STORE_URL"])
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
    redis_lock_store(result["LOCK_STORE_URL"])  # SystemExit with the reason when bad
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


def prepare_databases(env: Mapping[str, str]) -> None:
    """Create the two databases if missing, migrate both (`bot db upgrade`, the tracker-store
    migrations) and load the seed data (`bot db seed`) — once, before any replica starts."""
    from bot.seed import seed_events, seed_partners

    database, tracker = env["DATABASE_URL"], env["TRACKER_STORE_URL"]
    for url in (database, tracker):
        create_database_if_missing(url)
    db.upgrade(database)
    try:
        with db.session_scope(database) as session:
            seed_partners(session)
            seed_events(session)
    finally:
        db.get_engine(database).dispose()
    upgrade_tracker_store(env)


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
    """Start the scaled set-up; stop every process on exit (the databases stay).

    Before any replica starts, this process creates, migrates and seeds the databases, so
    replicas never race to create tables. Then the action servers, the Rasa servers, the
    review app and nginx start at once (loading the model takes each Rasa server 20 to 30 s of
    CPU, so waiting for them one by one would add up) and this waits until each answers.
    The Rasa replicas listen on loopback and call the action servers through nginx
    (ACTION_ENDPOINT_URL); nginx listens on RASA_INTERFACE.
    """
    nginx = find_nginx()
    process_env = scaled_env({**os.environ, **QUIET_ENV, **(env or {})})
    check_lock_store(process_env)
    with (
        tempfile.TemporaryDirectory(prefix="ecrin-scaled-") as scratch,
        tempfile.TemporaryDirectory(prefix="ecrin-nginx-") as nginx_dir,
    ):
        stack = ScaledStack(ports, Path(nginx_dir), env=process_env, log_dir=log_dir)
        replica_env = {**process_env, "ACTION_ENDPOINT_URL": stack.action_endpoint}
        endpoints = endpoints_file(Path(scratch), replica_env)
        credentials = credentials_file(process_env, Path(scratch))
        config = render_nginx_config(
            ports, Path(nginx_dir), process_env.get("RASA_INTERFACE") or "127.0.0.1"
        )
        prepare_databases(process_env)
        try:
            waits: list[tuple[str, str]] = []
            for number, actions_port in enumerate(ports.actions, start=1):
                stack.start(f"actions-{number}", actions_command(actions_port))
                waits.append((f"actions-{number}", f"http://127.0.0.1:{actions_port}/health"))
            for number, (rasa_port, url) in enumerate(
                zip(ports.rasa, stack.rasa_urls, strict=True), start=1
            ):
                command = rasa_command(rasa_port, "127.0.0.1", endpoints, credentials, model)
                stack.start(f"rasa-{number}", command, replica_env)
                waits.append((f"rasa-{number}", f"{url}/"))
            if ports.review:
                host = process_env.get("REVIEW_INTERFACE") or "127.0.0.1"
                stack.start("review", review_command(ports.review, host))
                waits.append(("review", f"http://127.0.0.1:{ports.review}/health"))
            stack.start("nginx", [nginx, "-p", nginx_dir, "-c", str(config), "-e", "stderr",
                                  "-g", "daemon off;"])  # fmt: skip
            # nginx answers "/" once a Rasa replica does, its action upstream once an action
            # server does: last, after the replicas.
            waits.append(("nginx", f"{stack.url}/"))
            waits.append(("nginx", f"http://127.0.0.1:{ports.nginx_actions}/health"))
            deadline = time.monotonic() + timeout
            for name, url in waits:
                stack.wait_until_up(name, url, max(1.0, deadline - time.monotonic()))
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
    lock = redis_lock_store(stack.env["LOCK_STORE_URL"])
    lines = [
        f"The ECRIN assistant is running: {len(ports.rasa)} Rasa servers and "
        f"{len(ports.actions)} action servers behind nginx. Ctrl-C stops everything.",
        f"  web chat        {public}/webhooks/web/",
        f"  REST webhook    {public}/webhooks/rest/webhook",
    ]
    if stack.env.get("TELEGRAM_TOKEN"):
        lines.append(f"  Telegram        {public}/webhooks/telegram/webhook")
    lines += [
        f"  Rasa replicas   {', '.join(stack.rasa_urls)}",
        f"  action servers  {stack.action_endpoint} (nginx) → "
        + ", ".join(f":{p}" for p in ports.actions),
    ]
    if ports.review:
        lines.append(f"  staff review    http://localhost:{ports.review}/")
    lines += [
        f"  tracker store   {_safe(stack.env['TRACKER_STORE_URL'])}",
        f"  database        {_safe(stack.env['DATABASE_URL'])}",
        f"  lock store      redis {lock['url']}:{lock['port']}/{lock['db']} "
        f"(key prefix {lock['key_prefix']})",
        f"  nginx logs      {stack.nginx_prefix / 'logs'}",
    ]
    return lines
