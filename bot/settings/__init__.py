"""The assistant's settings: one typed object built from the environment, the only place that
reads it.

Every process (Rasa server, action server, review app, staff tools) reads the same variables,
registered once in bot/settings/variables.py with their defaults (a laptop needs none set) and
parsed by bot/settings/parsing.py. `current()` is the settings of this process's environment;
`Settings.from_env(env)` those of another environment (a child process's, a test's). A bad
value raises SystemExit naming the variable and the reason, so a start stops with one line.
`bot config` prints the effective settings, secrets hidden.

Modules read their concern: `current().rate_limits.trusted_proxies`,
`Settings.from_env(env).stores.lock_store`. Passing the whole environment on to a child
process is not reading it; interpreting a variable anywhere but here is
(tests/test_settings.py fails on it).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.settings import parsing
from bot.settings.parsing import IPNetwork, SettingError, parse_trusted_proxies
from bot.settings.variables import BY_NAME, NAMES, PROJECT_ROOT, VARIABLES, Variable

__all__ = [
    "BY_NAME",
    "PROJECT_ROOT",
    "VARIABLES",
    "SettingError",
    "Settings",
    "Variable",
    "current",
    "database_url",
    "parse_trusted_proxies",
    "redis_lock_store",
    "tracker_store_url",
]

# The lock of a conversation must outlast its turn, custom actions included.
LOCK_LIFETIME_PER_ACTION_TIMEOUT = 4
PSEUDONYM_SECRET_MIN_CHARS = 16


# --- The concerns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stores:
    """Where data lives."""

    database_url: str = field(repr=False)
    tracker_store_url: str = field(repr=False)
    lock_store_url: str | None = field(repr=False)
    faq_answers_dir: str | None
    # The trained models' archives, corrections files and logs (bot/model_store.py).
    model_store_dir: str

    @property
    def lock_store(self) -> dict[str, object] | None:
        """LOCK_STORE_URL as the `lock_store:` section of Rasa's endpoints file, or None for
        Rasa's in-memory lock store (right for one Rasa server, wrong for two or more: each
        would serialise only its own requests for a conversation)."""
        if not self.lock_store_url:
            return None
        return parsing.redis_section(self.lock_store_url)


@dataclass(frozen=True)
class Network:
    """Where each process listens, and where the Rasa server calls the actions."""

    rasa_port: int
    actions_port: int
    review_port: int
    nginx_port: int
    nginx_actions_port: int
    rasa_interface: str
    review_interface: str
    # ACTION_ENDPOINT_URL as given; None: the action server on this host.
    action_endpoint_given: str | None

    @property
    def action_endpoint_url(self) -> str:
        return self.action_endpoint()

    def action_endpoint(self, actions_port: int | None = None) -> str:
        """The action server webhook that Rasa calls: ACTION_ENDPOINT_URL when set (action
        servers elsewhere or behind a load balancer: `bot run --scaled` points it at nginx's
        action upstream, a container at the actions service), else the action server on this
        host, on `actions_port` (default ACTIONS_PORT)."""
        if self.action_endpoint_given:
            return self.action_endpoint_given
        return f"http://127.0.0.1:{actions_port or self.actions_port}/webhook"

    def port(self, variable: str) -> int:
        """The port a port variable (RASA_PORT, REVIEW_PORT…) gives."""
        return _network_value(self, variable, parsing.port)

    def interface(self, variable: str) -> str:
        """The address an interface variable (RASA_INTERFACE, REVIEW_INTERFACE) gives."""
        return _network_value(self, variable, parsing.stripped)


def _network_value(network: Network, variable: str, kind: Any) -> Any:
    registered = BY_NAME.get(variable)
    if registered is None or registered.concern != "network" or registered.parse is not kind:
        raise KeyError(f"{variable} is not a registered {kind.__name__} variable")
    return getattr(network, registered.field)


@dataclass(frozen=True)
class ModelServer:
    """How the Rasa servers follow the live model: Rasa's model server protocol, answered by the
    review app (bot/review/model_server.py) and pulled by every Rasa server (bot/serve.py
    writes the `models:` section of its endpoints file)."""

    # MODEL_SERVER_URL as given; None: the review app on the same host.
    url: str | None
    token: str | None = field(repr=False)
    pull_seconds: int


@dataclass(frozen=True)
class Timeouts:
    """How long the Rasa server waits for one custom action, and how long a conversation's
    lock lasts at least (several times that: a turn may run several actions)."""

    action: int
    lock_lifetime: int


@dataclass(frozen=True)
class RateLimits:
    """The channels' rate limits (0 switches one off) and the proxies whose forwarded
    headers give the client address (bot/ratelimit.py)."""

    per_sender: int
    sender_window: float
    per_address: int
    address_window: float
    # RATE_LIMIT_REDIS_URL, else LOCK_STORE_URL; None: each process counts in its memory.
    store_url: str | None = field(repr=False)
    trusted_proxies: tuple[IPNetwork, ...]

    @property
    def store(self) -> dict[str, object] | None:
        """The Redis of `store_url`, as a lock-store section (host, port, db, key prefix…)."""
        return parsing.redis_section(self.store_url) if self.store_url else None


@dataclass(frozen=True)
class Review:
    """The staff review app's settings (bot/review/config.py turns them into its own)."""

    secret_key: str | None = field(repr=False)
    secure_cookies: bool
    low_confidence: float
    hash_concurrency: int

    def session_secret(self) -> str:
        """The key that signs staff sessions: REVIEW_SECRET_KEY, or a random key for this run
        with a warning. Secure cookies mean a real deployment behind HTTPS: sessions signed
        with a key that changes at every restart (and differs between workers) would be a
        silent failure there, so the key is then required (SystemExit)."""
        if self.secret_key:
            return self.secret_key
        if self.secure_cookies:
            raise SystemExit(
                "REVIEW_SECRET_KEY is not set. Generate one with "
                '`python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
            )
        print(
            "warning: REVIEW_SECRET_KEY is not set; using a random key for this run, so staff "
            "must log in again after every restart. Set it in production.",
            file=sys.stderr,
            flush=True,
        )
        return secrets.token_urlsafe(48)


@dataclass(frozen=True)
class Retention:
    """Messages older than `days` are purged every `interval` seconds; 0 days: never."""

    days: float
    interval: float


@dataclass(frozen=True)
class Telegram:
    """The Telegram channel: on when `token` is set."""

    token: str | None = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    api_url: str
    pseudonym_secret: str | None = field(repr=False)
    # pytest sets PYTEST_CURRENT_TEST for the test running now (and `bot run` started by a
    # test inherits it): the only place a missing pseudonym key may fall back to another.
    under_tests: bool

    def pseudonym_secret_problem(self) -> str | None:
        """Why the Telegram channel must not start with these settings, or None.

        In production (a token, not under tests) the keyed hash that replaces chat ids needs
        its own secret, PSEUDONYM_SECRET: not the webhook secret (which is sent to Telegram
        and may be rotated, which would cut every chat off from its stored history), not the
        bot token, and long enough not to be guessed.
        """
        if not self.token or self.under_tests:
            return None
        key = self.pseudonym_secret or ""
        how = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        if not key:
            return f"TELEGRAM_TOKEN is set but PSEUDONYM_SECRET is not: {how}, and keep it."
        if key in (self.webhook_secret, self.token):
            return (
                "PSEUDONYM_SECRET must be its own secret, not the webhook secret or the bot "
                f"token: {how}."
            )
        if len(key) < PSEUDONYM_SECRET_MIN_CHARS:
            return (
                f"PSEUDONYM_SECRET is shorter than {PSEUDONYM_SECRET_MIN_CHARS} characters: {how}."
            )
        return None

    @property
    def pseudonym_key(self) -> str | None:
        """The key of the chat-id hash: PSEUDONYM_SECRET, else (under tests only, see
        pseudonym_secret_problem) the webhook secret."""
        return self.pseudonym_secret or self.webhook_secret


@dataclass(frozen=True)
class Web:
    """The web chat page: the sites that may show it in a frame (`frame-ancestors`)."""

    frame_ancestors: str


@dataclass(frozen=True)
class Clock:
    """The day the assistant answers for, when fixed (tests); None: the UTC date."""

    today: dt.date | None


# --- The settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting of the assistant, typed and checked, one frozen object per concern."""

    stores: Stores
    model_server: ModelServer
    network: Network
    timeouts: Timeouts
    rate_limits: RateLimits
    review: Review
    retention: Retention
    telegram: Telegram
    web: Web
    clock: Clock
    # The registered variables the environment set (not blank), as given: where each
    # effective value came from. Holds secrets: never shown.
    given: Mapping[str, str] = field(repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of `env`; of this process's environment when None (`current()`).

        SystemExit with the reason when a value cannot be used."""
        if env is None:
            return current()
        given = {name: env[name] for name in NAMES if env.get(name, "").strip()}
        try:
            return cls._parse(given)
        except SettingError as error:
            raise SystemExit(str(error)) from None

    @classmethod
    def _parse(cls, given: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {
            variable.name: (
                variable.parse(variable.name, given[variable.name])
                if variable.name in given
                else variable.parse_default()
            )
            for variable in VARIABLES
        }
        action = values["ACTION_TIMEOUT"]
        shortest_lock = action * LOCK_LIFETIME_PER_ACTION_TIMEOUT
        lock = values["TICKET_LOCK_LIFETIME"] or shortest_lock
        if lock < shortest_lock:
            raise SettingError(
                f"TICKET_LOCK_LIFETIME ({lock} s) must be at least "
                f"{LOCK_LIFETIME_PER_ACTION_TIMEOUT} times ACTION_TIMEOUT ({action} s): a "
                "conversation's lock must outlast its turn"
            )
        return cls(
            stores=Stores(
                database_url=values["DATABASE_URL"],
                tracker_store_url=values["TRACKER_STORE_URL"],
                lock_store_url=values["LOCK_STORE_URL"],
                faq_answers_dir=values["FAQ_ANSWERS_DIR"],
                model_store_dir=values["MODEL_STORE_DIR"],
            ),
            model_server=ModelServer(
                url=values["MODEL_SERVER_URL"],
                token=values["MODEL_SERVER_TOKEN"],
                pull_seconds=values["MODEL_PULL_SECONDS"],
            ),
            network=Network(
                rasa_port=values["RASA_PORT"],
                actions_port=values["ACTIONS_PORT"],
                review_port=values["REVIEW_PORT"],
                nginx_port=values["NGINX_PORT"],
                nginx_actions_port=values["NGINX_ACTIONS_PORT"],
                rasa_interface=values["RASA_INTERFACE"],
                review_interface=values["REVIEW_INTERFACE"],
                action_endpoint_given=values["ACTION_ENDPOINT_URL"],
            ),
            timeouts=Timeouts(action=action, lock_lifetime=lock),
            rate_limits=RateLimits(
                per_sender=values["RATE_LIMIT_PER_SENDER"],
                sender_window=values["RATE_LIMIT_SENDER_WINDOW"],
                per_address=values["RATE_LIMIT_PER_ADDRESS"],
                address_window=values["RATE_LIMIT_ADDRESS_WINDOW"],
                store_url=values["RATE_LIMIT_REDIS_URL"] or values["LOCK_STORE_URL"],
                trusted_proxies=values["TRUSTED_PROXIES"],
            ),
            review=Review(
                secret_key=values["REVIEW_SECRET_KEY"],
                secure_cookies=values["REVIEW_SECURE_COOKIES"],
                low_confidence=values["REVIEW_LOW_CONFIDENCE"],
                hash_concurrency=values["REVIEW_HASH_CONCURRENCY"],
            ),
            retention=Retention(days=values["RETENTION_DAYS"], interval=values["PURGE_INTERVAL"]),
            telegram=Telegram(
                token=values["TELEGRAM_TOKEN"],
                webhook_secret=values["TELEGRAM_WEBHOOK_SECRET"],
                api_url=values["TELEGRAM_API_URL"],
                pseudonym_secret=values["PSEUDONYM_SECRET"],
                under_tests=bool(values["PYTEST_CURRENT_TEST"]),
            ),
            web=Web(frame_ancestors=values["WEB_FRAME_ANCESTORS"]),
            clock=Clock(today=values["ECRIN_TODAY"]),
            given=dict(given),
        )

    def value(self, name: str) -> object:
        """The effective value of the registered variable `name` (KeyError if unregistered)."""
        variable = BY_NAME[name]
        return getattr(getattr(self, variable.concern), variable.field)

    def source(self, name: str) -> str:
        """Where `name`'s value came from: "environment" or "default"."""
        if name not in BY_NAME:
            raise KeyError(name)
        return "environment" if name in self.given else "default"

    def shown(self, name: str) -> str:
        """`name`'s effective value as `bot config` prints it: a secret only as set or unset,
        a URL without its password."""
        variable = BY_NAME[name]
        value = self.value(name)
        if variable.secret:
            return "unset" if value is None else "set (hidden)"
        return variable.show(value)


_cache: tuple[tuple[str | None, ...], Settings] | None = None


def current() -> Settings:
    """The settings of this process's environment, parsed again only when one of the
    registered variables changed (a test's monkeypatch, Rasa's TICKET_LOCK_LIFETIME)."""
    global _cache
    snapshot = tuple(os.environ.get(name) for name in NAMES)
    cached = _cache
    if cached is not None and cached[0] == snapshot:
        return cached[1]
    pairs = zip(NAMES, snapshot, strict=True)
    environment = {name: value for name, value in pairs if value is not None}
    settings = Settings.from_env(environment)
    _cache = (snapshot, settings)
    return settings


# --- Shortcuts for the settings read everywhere ------------------------------------------------


def database_url() -> str:
    """Where partners, events and crisis lines live (DATABASE_URL)."""
    return current().stores.database_url


def tracker_store_url() -> str:
    """Where Rasa stores conversations, with the review tables (TRACKER_STORE_URL)."""
    return current().stores.tracker_store_url


def redis_lock_store(url: str) -> dict[str, object]:
    """A LOCK_STORE_URL as the `lock_store:` section of Rasa's endpoints file; SystemExit
    with the problem (never the password) when it cannot be used."""
    try:
        return parsing.redis_section(url)
    except SettingError as error:
        raise SystemExit(str(error)) from None
