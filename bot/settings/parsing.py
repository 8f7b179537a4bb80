"""How each setting's text is read and checked: one function per kind of value.

Every parser takes the variable's name and its text (never blank: a blank value counts as
unset before a parser sees it) and returns the typed value, or raises SettingError with a
reason a person can act on. `bot.settings.Settings.from_env` turns that error into a
SystemExit, so a bad value stops a start with one line saying why. The messages are the
ones the modules that used to read these variables gave; tests match them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from urllib.parse import parse_qs, unquote, urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingError(ValueError):
    """A variable's value cannot be used; the message names the variable and says why."""


# --- Plain values ------------------------------------------------------------------------------


def text(name: str, raw: str) -> str:
    """The value as given (a path, a URL that is checked where it is used, a secret)."""
    return raw


def stripped(name: str, raw: str) -> str:
    """The value without surrounding spaces (an interface address)."""
    return raw.strip()


def present(name: str, raw: str) -> bool:
    """True: the variable is set, whatever its value (PYTEST_CURRENT_TEST)."""
    return True


TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def flag(name: str, raw: str) -> bool:
    """true/false (also 1/0, yes/no, on/off): a typo in a security switch must not silently
    read as false."""
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise SettingError(f"{name} must be true or false, got {raw!r}")


def port(name: str, raw: str) -> int:
    """A TCP port, 1-65535."""
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name} must be a port number, got {raw!r}") from None
    if not 0 < value < 65536:
        raise SettingError(f"{name} must be between 1 and 65535, got {value}")
    return value


def http_url(name: str, raw: str) -> str:
    """An http:// or https:// URL with a host (where Rasa calls the actions, Telegram's API)."""
    value = raw.strip()
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a port that is not a number, an unclosed [ in IPv6
        usable = False
    if not usable:
        raise SettingError(f"{name} must be an http:// or https:// URL with a host, got {raw!r}")
    return value


def whole_seconds(name: str, raw: str) -> int:
    """A whole number of seconds, 1 or more (ACTION_TIMEOUT, TICKET_LOCK_LIFETIME)."""
    value = raw.strip()
    if not value.isdigit() or int(value) < 1:
        raise SettingError(f"{name} must be a whole number of seconds (1 or more), got {value!r}")
    return int(value)


def positive_whole_number(name: str, raw: str) -> int:
    """A whole number, 1 or more (how many password hashes run at once)."""
    value = raw.strip()
    if not value.isdigit() or int(value) < 1:
        raise SettingError(f"{name} must be a whole number (1 or more), got {value!r}")
    return int(value)


def non_negative_number(name: str, raw: str) -> float:
    """A number, 0 or more (rate-limit windows, in seconds)."""
    value = raw.strip()
    try:
        number = float(value)
    except ValueError:
        raise SettingError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise SettingError(f"{name} must not be negative, got {value!r}")
    return number


def request_count(name: str, raw: str) -> int:
    """A rate limit's number of requests (a fraction is cut off; 0 switches the limit off)."""
    return int(non_negative_number(name, raw))


def fraction(name: str, raw: str) -> float:
    """A number above 0 and at most 1 (a confidence threshold)."""
    value = raw.strip()
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 1:
        raise SettingError(f"{name} must be a number between 0 and 1, got {value!r}")
    return number


def iso_date(name: str, raw: str) -> dt.date:
    """A date like 2026-12-01 (the assistant's fixed today)."""
    value = raw.strip()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SettingError(
            f"{name} must be a date like 2026-12-01 (or unset), got {value!r}"
        ) from None


# --- Retention ---------------------------------------------------------------------------------

_INTERVAL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def days(name: str, raw: str) -> float:
    """A number of days, 0 or more (0: keep everything)."""
    value = raw.strip()
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number < 0:
        raise SettingError(f"{name} must be a number of days (0: keep), not {value!r}")
    return number


def interval(name: str, raw: str) -> float:
    """Seconds between runs: a number of seconds, or a number with s, m, h or d."""
    value = raw.strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", value)
    if not match or float(match.group(1)) <= 0:
        raise SettingError(f"{name} must be e.g. 3600, 30m or 1h, not {value!r}")
    return float(match.group(1)) * _INTERVAL_UNITS[match.group(2)]


# --- The review app's session key --------------------------------------------------------------

REVIEW_SECRET_KEY_MIN_CHARS = 32


def review_secret_key(name: str, raw: str) -> str:
    """The key that signs staff sessions: long enough not to be guessed."""
    key = raw.strip()
    if len(key) < REVIEW_SECRET_KEY_MIN_CHARS:
        raise SettingError(f"{name} must be at least {REVIEW_SECRET_KEY_MIN_CHARS} characters long")
    return key


# The token the Rasa servers show the model server (MODEL_SERVER_TOKEN) guards the trained
# model as the session key guards staff sessions: the same length rule.
model_server_token = review_secret_key


# --- Trusted proxies ---------------------------------------------------------------------------


def parse_trusted_proxies(raw: str) -> tuple[IPNetwork, ...]:
    """`TRUSTED_PROXIES` ("10.0.0.0/8, 127.0.0.1") as networks; SettingError (a ValueError)
    for `*`, a catch-all network or a value that is not an address."""
    networks: list[IPNetwork] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item == "*":
            raise SettingError("TRUSTED_PROXIES must list the proxies' addresses, never *")
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingError(f"TRUSTED_PROXIES: {item!r} is not an address or CIDR") from None
        if network.prefixlen == 0:
            raise SettingError(f"TRUSTED_PROXIES: {item} would trust every address")
        networks.append(network)
    return tuple(networks)


def trusted_proxies(name: str, raw: str) -> tuple[IPNetwork, ...]:
    return parse_trusted_proxies(raw)


# --- Redis URLs (the lock store, the rate limits) ----------------------------------------------

DEFAULT_LOCK_KEY_PREFIX = "ecrin"
LOCK_STORE_CLASS = "bot.rasa_ext.lock_store.RedisLockStore"


def redis_section(url: str, name: str = "LOCK_STORE_URL") -> dict[str, object]:
    """A Redis URL as the `lock_store:` section of Rasa 3.6's endpoints file.

    `redis://[[user]:password@]host[:port][/db][?key_prefix=name]`; `rediss://` for TLS.
    The store is bot.rasa_ext.lock_store.RedisLockStore: Rasa's RedisLockStore made atomic,
    with the same keys (the parts of the URL as separate keys, `url` being the host). Rasa
    silently falls back to its default prefix for a non-alphanumeric one: a mistake here
    should stop the start with a reason instead, so this raises SettingError with the
    problem (never the password).
    """
    try:
        parts = urlsplit(url)
        host, redis_port, path = parts.hostname, parts.port or 6379, parts.path.strip("/")
    except ValueError as error:  # a port that is not a number, an unclosed [ in IPv6
        raise SettingError(f"{name} is not a valid URL: {error}") from None
    if parts.scheme not in ("redis", "rediss"):
        raise SettingError(
            f"{name} must be redis://[:password@]host[:port][/db] (or rediss:// for "
            f"TLS), got a {parts.scheme or 'scheme-less'} URL"
        )
    if not host:
        raise SettingError(f"{name} has no host, e.g. redis://127.0.0.1:6379/0")
    if not path.isdigit() and path:
        raise SettingError(f"{name}: the database must be a number (/0, /1…), got /{path}")
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"key_prefix"})
    if unknown:
        raise SettingError(f"{name}: unknown option(s) {', '.join(unknown)}; known: key_prefix")
    prefix = query.get("key_prefix", [DEFAULT_LOCK_KEY_PREFIX])[-1]
    if not prefix.isalnum():
        raise SettingError(f"{name}: key_prefix must be letters and digits, got {prefix!r}")
    section: dict[str, object] = {
        "type": LOCK_STORE_CLASS,
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


def redis_url(name: str, raw: str) -> str:
    """A Redis URL that redis_section accepts, kept as text."""
    value = raw.strip()
    redis_section(value, name)
    return value


# --- The web chat's frame-ancestors ------------------------------------------------------------

# The value lands inside the chat page's Content-Security-Policy header.
_QUOTED_KEYWORDS = ("'self'", "'none'")
_SCHEME_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE | re.ASCII)
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_SOURCE = re.compile(
    rf"(?:[a-z][a-z0-9+.-]*://)?(?:\*|(?:\*\.)?{_LABEL}(?:\.{_LABEL})*)(?::(?:\d{{1,5}}|\*))?"
    r"(?:/[a-z0-9._~!$&()*+=:@%/-]*)?",
    re.IGNORECASE | re.ASCII,
)


def frame_ancestors(name: str, raw: str) -> str:
    """The chat page's `frame-ancestors` sources, space-separated.

    The value lands inside the Content-Security-Policy header, so anything that could end the
    directive or the header (`;`, `,`, a line break), a quoted keyword other than 'self' or
    'none', or a word that is not a CSP source is refused with the reason: a typo must not
    silently loosen, or break, the policy."""

    def refuse(why: str) -> SettingError:
        return SettingError(
            f"{name} {why}. Give the sites that may embed the chat, "
            'separated by spaces, e.g. "https://www.example.org https://*.example.org", '
            "or 'self' or 'none'."
        )

    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in raw):
        raise refuse("contains a line break or another control character")
    if not raw.isascii():
        raise refuse("is not ASCII (write an internationalised name in its xn-- form)")
    if ";" in raw or "," in raw:
        raise refuse("contains ';' or ',', which would end the frame-ancestors directive")
    sources = []
    for source in raw.split():
        if source.lower() in _QUOTED_KEYWORDS:
            sources.append(source.lower())
        elif "'" in source or '"' in source:
            raise refuse(f"has {source!r}: of the quoted keywords only 'self' and 'none' apply")
        elif source.lower() == "frame-ancestors":
            raise refuse("holds the sources only, without the directive's name")
        elif source == "*" or _SCHEME_SOURCE.fullmatch(source) or _HOST_SOURCE.fullmatch(source):
            sources.append(source)
        else:
            raise refuse(f"has {source!r}, which is not a host, origin or scheme")
    if "'none'" in sources and len(sources) > 1:
        raise refuse("combines 'none' with other sources; 'none' stands alone")
    return " ".join(sources)


# --- Showing values ----------------------------------------------------------------------------


def without_password(url: str) -> str:
    """`url` with its password replaced by ***, for `bot config` and banners."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(not a valid URL)"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
