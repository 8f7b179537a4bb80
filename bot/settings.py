"""Configuration read from the environment, with embedded defaults for a laptop.

Every process (Rasa server, action server, staff tools) reads the same variables, so a value
set once in the environment reaches all of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{PROJECT_ROOT / filename}"


def database_url() -> str:
    """Where partners and events live (`DATABASE_URL`, default: `ecrin.db` in the project)."""
    return os.environ.get("DATABASE_URL") or _sqlite_url("ecrin.db")


def tracker_store_url() -> str:
    """Where Rasa stores conversations (`TRACKER_STORE_URL`, default: `tracker.db`)."""
    return os.environ.get("TRACKER_STORE_URL") or _sqlite_url("tracker.db")


def port(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """A TCP port from the environment (or `env`), e.g. `port("RASA_PORT", 5005)`."""
    raw = (os.environ if env is None else env).get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a port number, got {raw!r}") from error
    if not 0 < value < 65536:
        raise SystemExit(f"{name} must be between 1 and 65535, got {value}")
    return value


def action_endpoint_url(
    env: Mapping[str, str] | None = None, actions_port: int | None = None
) -> str:
    """The action server webhook that Rasa calls (`ACTION_ENDPOINT_URL`).

    Default: the action server on this host, `http://127.0.0.1:$ACTIONS_PORT/webhook`. Set it
    when the action servers run elsewhere or behind a load balancer (`bot run --scaled` points
    it at nginx's action upstream, a container at the actions service).
    """
    env = os.environ if env is None else env
    if env.get("ACTION_ENDPOINT_URL"):
        return env["ACTION_ENDPOINT_URL"]
    return f"http://127.0.0.1:{actions_port or port('ACTIONS_PORT', 5055, env)}/webhook"


def lock_store_url(env: Mapping[str, str] | None = None) -> str | None:
    """The Redis lock store shared by Rasa replicas (`LOCK_STORE_URL`), or None.

    None means Rasa's in-memory lock store, which is right for one Rasa server and wrong for
    two or more: each would serialise only its own requests for a conversation.
    """
    env = os.environ if env is None else env
    return env.get("LOCK_STORE_URL") or None


def faq_answers_dir(env: Mapping[str, str] | None = None) -> str | None:
    """Where the Rasa server reads the FAQ answers (`FAQ_ANSWERS_DIR`), or None for data/nlu.

    For answers kept outside the image (a mounted volume or Kubernetes ConfigMap), so they
    can be edited without a build; the folder holds faq_*.yml files like data/nlu's.
    """
    env = os.environ if env is None else env
    return env.get("FAQ_ANSWERS_DIR") or None


DEFAULT_LOCK_KEY_PREFIX = "ecrin"


def redis_lock_store(url: str) -> dict[str, object]:
    """`LOCK_STORE_URL` as the `lock_store:` section of Rasa 3.6's endpoints file.

    `redis://[[user]:password@]host[:port][/db][?key_prefix=name]`; `rediss://` for TLS.
    The store is bot.lock_store.RedisLockStore: Rasa's RedisLockStore made atomic, with the
    same keys (the parts of the URL as separate keys, `url` being the host). Rasa silently
    falls back to its default prefix for a non-alphanumeric one: a mistake here should stop
    the start with a reason instead, so this raises SystemExit with the problem (never the
    password).
    """
    try:
        parts = urlsplit(url)
        host, redis_port, path = parts.hostname, parts.port or 6379, parts.path.strip("/")
    except ValueError as error:  # a port that is not a number, an unclosed [ in IPv6
        raise SystemExit(f"LOCK_STORE_URL is not a valid URL: {error}") from error
    if parts.scheme not in ("redis", "rediss"):
        raise SystemExit(
            "LOCK_STORE_URL must be redis://[:password@]host[:port][/db] (or rediss:// for "
            f"TLS), got a {parts.scheme or 'scheme-less'} URL"
        )
    if not host:
        raise SystemExit("LOCK_STORE_URL has no host, e.g. redis://127.0.0.1:6379/0")
    if not path.isdigit() and path:
        raise SystemExit(f"LOCK_STORE_URL: the database must be a number (/0, /1…), got /{path}")
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"key_prefix"})
    if unknown:
        raise SystemExit(
            f"LOCK_STORE_URL: unknown option(s) {', '.join(unknown)}; known: key_prefix"
        )
    prefix = query.get("key_prefix", [DEFAULT_LOCK_KEY_PREFIX])[-1]
    if not prefix.isalnum():
        raise SystemExit(f"LOCK_STORE_URL: key_prefix must be letters and digits, got {prefix!r}")
    section: dict[str, object] = {
        "type": "bot.lock_store.RedisLockStore",
        "url": host,
        "port": redis_port,
        "db": int(path or 0),
        "key_prefix": prefix,
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.username:
        section["username"] = unquote(parts.username)
    if parts.password:
        section["password"] = unquote(parts.password)
    return section
