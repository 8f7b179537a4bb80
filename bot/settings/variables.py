"""Every environment variable the assistant reads, registered once: its name, default, parser,
whether it is secret, and what it means.

`bot.settings.Settings.from_env` reads exactly these; `bot config` lists them with their
effective values; tests/test_settings.py checks that every one parses its default, that the
README or docs/deployment.md documents every one, and that no other module reads the
environment by itself. To add a setting, register it here and give it a field in its concern
(bot/settings/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.settings import parsing

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def _plain(value: object) -> str:
    """A value as `bot config` shows it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _url(value: object) -> str:
    return _plain(value) if value is None else parsing.without_password(str(value))


def _seconds(value: object) -> str:
    return f"{_plain(value)} s"


@dataclass(frozen=True)
class Variable:
    """One environment variable.

    `concern` and `field` say where its effective value lives in Settings
    (`settings.<concern>.<field>`). `default` is the text used when the variable is unset or
    blank; None means unset, or a default worked out from other variables (`meaning` says
    which). A secret's value is never shown, only whether it is set.
    """

    name: str
    concern: str
    field: str
    parse: Callable[[str, str], object]
    meaning: str
    default: str | None = None
    secret: bool = False
    show: Callable[[object], str] = _plain

    def parse_default(self) -> object:
        """The default's value (None when there is no default text)."""
        return None if self.default is None else self.parse(self.name, self.default)


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{PROJECT_ROOT / filename}"


P = parsing
VARIABLES: tuple[Variable, ...] = (
    # --- stores ---
    Variable(
        name="DATABASE_URL",
        concern="stores",
        field="database_url",
        parse=P.text,
        meaning="partners, events and crisis lines: any SQLAlchemy URL, e.g. postgresql://user@host/db",
        default=_sqlite_url("ecrin.db"),
        show=_url,
    ),
    Variable(
        name="TRACKER_STORE_URL",
        concern="stores",
        field="tracker_store_url",
        parse=P.text,
        meaning="conversations and the review tables; a different database from DATABASE_URL",
        default=_sqlite_url("tracker.db"),
        show=_url,
    ),
    Variable(
        name="LOCK_STORE_URL",
        concern="stores",
        field="lock_store_url",
        parse=P.redis_url,
        meaning="Redis lock store shared by the Rasa servers, redis://[[user]:password@]host[:port][/db]"
        "[?key_prefix=name]; unset: in memory, right for one Rasa server only",
        show=_url,
    ),
    Variable(
        name="FAQ_ANSWERS_DIR",
        concern="stores",
        field="faq_answers_dir",
        parse=P.text,
        meaning="a folder of faq_*.yml answers the Rasa server reads live instead of data/nlu",
    ),
    Variable(
        name="MODEL_STORE_DIR",
        concern="stores",
        field="model_store_dir",
        parse=P.stripped,
        meaning="where trained model archives, their corrections files and training logs are "
        "kept (bot models, the review app's /models page); shared by the review app and the "
        "model server",
        default=str(PROJECT_ROOT / "models" / "store"),
    ),
    # --- the model server: how the Rasa servers follow the live model ---
    Variable(
        name="MODEL_SERVER_URL",
        concern="model_server",
        field="url",
        parse=P.http_url,
        meaning="where the Rasa servers pull the live model (the review app's "
        "/model/live.tar.gz); default: the review app on this host, on REVIEW_PORT",
    ),
    Variable(
        name="MODEL_SERVER_TOKEN",
        concern="model_server",
        field="token",
        parse=P.model_server_token,
        meaning="shared by the review app's model server and the Rasa servers that pull from "
        "it, 32+ characters; unset: `bot run` makes one per run, a Rasa server alone pulls "
        "nothing",
        secret=True,
    ),
    Variable(
        name="MODEL_PULL_SECONDS",
        concern="model_server",
        field="pull_seconds",
        parse=P.whole_seconds,
        meaning="seconds between two asks of a Rasa server for a new live model",
        default="10",
        show=_seconds,
    ),
    # --- network: ports, interfaces, the action endpoint ---
    Variable(
        name="RASA_PORT",
        concern="network",
        field="rasa_port",
        parse=P.port,
        meaning="the Rasa server's port",
        default="5005",
    ),
    Variable(
        name="ACTIONS_PORT",
        concern="network",
        field="actions_port",
        parse=P.port,
        meaning="the action server's port",
        default="5055",
    ),
    Variable(
        name="REVIEW_PORT",
        concern="network",
        field="review_port",
        parse=P.port,
        meaning="the review app's port",
        default="8080",
    ),
    Variable(
        name="NGINX_PORT",
        concern="network",
        field="nginx_port",
        parse=P.port,
        meaning="bot run --scaled: nginx's public port in front of the Rasa replicas",
        default="8000",
    ),
    Variable(
        name="NGINX_ACTIONS_PORT",
        concern="network",
        field="nginx_actions_port",
        parse=P.port,
        meaning="bot run --scaled: nginx's loopback port in front of the action servers",
        default="8055",
    ),
    Variable(
        name="RASA_INTERFACE",
        concern="network",
        field="rasa_interface",
        parse=P.stripped,
        meaning="the address the Rasa server (or nginx, scaled) listens on; 0.0.0.0 exposes it",
        default="127.0.0.1",
    ),
    Variable(
        name="REVIEW_INTERFACE",
        concern="network",
        field="review_interface",
        parse=P.stripped,
        meaning="the address the review app listens on",
        default="127.0.0.1",
    ),
    Variable(
        name="ACTION_ENDPOINT_URL",
        concern="network",
        field="action_endpoint_url",
        parse=P.http_url,
        meaning="where the Rasa server calls the actions; default http://127.0.0.1:$ACTIONS_PORT/webhook",
    ),
    # --- timeouts ---
    Variable(
        name="ACTION_TIMEOUT",
        concern="timeouts",
        field="action",
        parse=P.whole_seconds,
        meaning="seconds the Rasa server waits for one custom action",
        default="20",
        show=_seconds,
    ),
    Variable(
        name="TICKET_LOCK_LIFETIME",
        concern="timeouts",
        field="lock_lifetime",
        parse=P.whole_seconds,
        meaning="seconds a conversation's lock lasts at least; default and minimum: "
        "4 x ACTION_TIMEOUT",
        show=_seconds,
    ),
    # --- rate limits and the client address ---
    Variable(
        name="RATE_LIMIT_PER_SENDER",
        concern="rate_limits",
        field="per_sender",
        parse=P.request_count,
        meaning="messages per conversation or Telegram chat per window; 0 switches it off",
        default="30",
    ),
    Variable(
        name="RATE_LIMIT_SENDER_WINDOW",
        concern="rate_limits",
        field="sender_window",
        parse=P.non_negative_number,
        meaning="the window of RATE_LIMIT_PER_SENDER, in seconds",
        default="60",
        show=_seconds,
    ),
    Variable(
        name="RATE_LIMIT_PER_ADDRESS",
        concern="rate_limits",
        field="per_address",
        parse=P.request_count,
        meaning="requests per client address per window on the public chat endpoints; 0: off",
        default="1200",
    ),
    Variable(
        name="RATE_LIMIT_ADDRESS_WINDOW",
        concern="rate_limits",
        field="address_window",
        parse=P.non_negative_number,
        meaning="the window of RATE_LIMIT_PER_ADDRESS, in seconds",
        default="60",
        show=_seconds,
    ),
    Variable(
        name="RATE_LIMIT_REDIS_URL",
        concern="rate_limits",
        field="store_url",
        parse=P.redis_url,
        meaning="Redis for the rate limits and login back-off, shared by replicas; default "
        "LOCK_STORE_URL, else in memory",
        show=_url,
    ),
    Variable(
        name="TRUSTED_PROXIES",
        concern="rate_limits",
        field="trusted_proxies",
        parse=P.trusted_proxies,
        meaning="addresses or CIDRs of the proxies whose X-Forwarded-For / Forwarded are believed; "
        "never *",
        default="",
    ),
    # --- the review app ---
    Variable(
        name="REVIEW_SECRET_KEY",
        concern="review",
        field="secret_key",
        parse=P.review_secret_key,
        meaning="signs staff sessions, 32+ characters; unset: random per start (refused with "
        "REVIEW_SECURE_COOKIES)",
        secret=True,
    ),
    Variable(
        name="REVIEW_SECURE_COOKIES",
        concern="review",
        field="secure_cookies",
        parse=P.flag,
        meaning="true behind HTTPS: Secure cookies, and the secret key is required",
        default="false",
    ),
    Variable(
        name="REVIEW_LOW_CONFIDENCE",
        concern="review",
        field="low_confidence",
        parse=P.fraction,
        meaning="below this intent confidence a message counts as low confidence",
        default="0.7",
    ),
    Variable(
        name="REVIEW_HASH_CONCURRENCY",
        concern="review",
        field="hash_concurrency",
        parse=P.positive_whole_number,
        meaning="staff password hashes checked at once (each argon2 check takes 64 MiB)",
        default="2",
    ),
    # --- retention ---
    Variable(
        name="RETENTION_DAYS",
        concern="retention",
        field="days",
        parse=P.days,
        meaning="messages older than this many days are purged on a schedule; 0 keeps them",
        default="180",
    ),
    Variable(
        name="PURGE_INTERVAL",
        concern="retention",
        field="interval",
        parse=P.interval,
        meaning="how often the scheduled purge runs: seconds, or a number with s, m, h or d",
        default="1h",
        show=_seconds,
    ),
    # --- Telegram ---
    Variable(
        name="TELEGRAM_TOKEN",
        concern="telegram",
        field="token",
        parse=P.text,
        meaning="the bot token from @BotFather; set, it switches the Telegram channel on",
        secret=True,
    ),
    Variable(
        name="TELEGRAM_WEBHOOK_SECRET",
        concern="telegram",
        field="webhook_secret",
        parse=P.text,
        meaning="checked on every Telegram request (X-Telegram-Bot-Api-Secret-Token)",
        secret=True,
    ),
    Variable(
        name="TELEGRAM_API_URL",
        concern="telegram",
        field="api_url",
        parse=P.http_url,
        meaning="Telegram's Bot API (tests point it at a local fake)",
        default="https://api.telegram.org",
    ),
    Variable(
        name="PSEUDONYM_SECRET",
        concern="telegram",
        field="pseudonym_secret",
        parse=P.text,
        meaning="key of the hash that replaces Telegram chat ids: its own secret of 16+ characters",
        secret=True,
    ),
    Variable(
        name="PYTEST_CURRENT_TEST",
        concern="telegram",
        field="under_tests",
        parse=P.present,
        meaning="set by pytest: only under tests may the pseudonym key fall back to the "
        "webhook secret",
    ),
    # --- the web chat ---
    Variable(
        name="WEB_FRAME_ANCESTORS",
        concern="web",
        field="frame_ancestors",
        parse=P.frame_ancestors,
        meaning="the sites that may show the web chat in a frame (CSP frame-ancestors), "
        "space-separated; * lets any site",
        default="*",
    ),
    # --- the clock ---
    Variable(
        name="ECRIN_TODAY",
        concern="clock",
        field="today",
        parse=P.iso_date,
        meaning="fixes the assistant's today (YYYY-MM-DD), for tests; unset: the UTC date",
    ),
)

BY_NAME: dict[str, Variable] = {variable.name: variable for variable in VARIABLES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
CONCERNS: tuple[str, ...] = tuple(dict.fromkeys(variable.concern for variable in VARIABLES))
