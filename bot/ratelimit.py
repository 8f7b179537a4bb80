"""Rate limits, login back-off and the client address, shared by the channels and the review app.

* `client_address(peer, forwarded_for, forwarded)`: who is asking. Forwarded headers
  (`X-Forwarded-For`, `Forwarded`) count only when the direct peer is one of
  `TRUSTED_PROXIES` (addresses or CIDRs; never `*`); then the address is the right-most one
  that is not itself a trusted proxy, so a client cannot pick it by sending its own header.
* `RateLimiter`: token buckets keyed by (scope, key). A limit of N per W seconds allows a
  burst of N and then N/W per second. In memory by default; in Redis when
  `RATE_LIMIT_REDIS_URL` (or else `LOCK_STORE_URL`) is set, so replicas share their counts.
  When Redis does not answer, requests are let through (logged): a rate limit must never
  take the assistant down.
* `LoginBackoff`: failed logins per key (an account, an address); after `free` failures each
  further one blocks the key for twice as long as the one before, up to `cap` seconds, and
  never for good. Check-and-count is one atomic step, so parallel attempts cannot race it.

Settings (bot.settings, `rate_limits`): RATE_LIMIT_PER_SENDER (30), RATE_LIMIT_SENDER_WINDOW
(60 s), RATE_LIMIT_PER_ADDRESS (1200), RATE_LIMIT_ADDRESS_WINDOW (60 s), RATE_LIMIT_REDIS_URL,
TRUSTED_PROXIES. A limit of 0 switches that limit off.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.settings import Settings, redis_lock_store
from bot.settings.parsing import IPNetwork

logger = logging.getLogger(__name__)

# Scopes, so one key (an address) has separate buckets per kind of request.
SENDER = "sender"
ADDRESS = "address"
TELEGRAM_CHAT = "telegram-chat"
TELEGRAM_NOTICE = "telegram-notice"

SLOW_DOWN = "You're sending messages quickly; please wait a few seconds and try again."


# --- The client address ------------------------------------------------------------------------


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip('"')
    if value.startswith("["):  # [v6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Any, trusted: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in trusted)


def _forwarded_for(forwarded: Iterable[str]) -> list[str]:
    """The `for=` values of RFC 7239 `Forwarded` headers, in order."""
    hops = []
    for header in forwarded:
        for element in header.split(","):
            for pair in element.split(";"):
                name, _, value = pair.partition("=")
                if name.strip().lower() == "for":
                    hops.append(value.strip())
    return hops


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str] = (),
    forwarded: Iterable[str] = (),
    trusted: Sequence[IPNetwork] | None = None,
) -> str:
    """The client's address: the direct `peer`, unless the peer is a trusted proxy; then the
    right-most hop of X-Forwarded-For (else of `Forwarded`) that is not a trusted proxy.
    A hop that is not an address ends the walk at the proxy that sent it. `trusted`
    defaults to TRUSTED_PROXIES (bot.settings)."""
    trusted = Settings.from_env().rate_limits.trusted_proxies if trusted is None else trusted
    peer_ip = _ip(peer or "")
    if peer_ip is None:
        return (peer or "unknown")[:64]
    if not _is_trusted(peer_ip, trusted):
        return str(peer_ip)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if not hops:
        hops = _forwarded_for(forwarded)
    current = peer_ip
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break
        current = address
        if not _is_trusted(address, trusted):
            break
    return str(current)


# --- Limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """`count` requests per `seconds`: a burst of `count`, refilled at count/seconds."""

    count: int
    seconds: float

    @property
    def off(self) -> bool:
        return self.count <= 0 or self.seconds <= 0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, at least 1, for a `Retry-After` header."""
        return str(max(1, math.ceil(self.retry_after)))


class Backend(Protocol):
    def take(self, key: str, limit: Limit) -> float:
        """Take one token; 0 if there was one, else the seconds until there is."""

    def backoff_attempt(
        self, keys: Sequence[str], free: int, base: float, cap: float, forget: float
    ) -> float:
        """Refuse (seconds to wait) if any key is blocked; else count a failure on each."""

    def backoff_clear(self, keys: Sequence[str]) -> None: ...


class MemoryBackend:
    """Per process: right for one server (`make run`), not shared by replicas."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._backoff: dict[str, tuple[int, float, float]] = {}  # failures, blocked, expires
        self._calls = 0

    def take(self, key: str, limit: Limit) -> float:
        with self._lock:
            now = self._clock()
            self._prune(now, limit)
            rate = limit.count / limit.seconds
            tokens, updated = self._buckets.get(key, (float(limit.count), now))
            tokens = min(float(limit.count), tokens + (now - updated) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    def _prune(self, now: float, limit: Limit) -> None:
        # Full buckets carry no information: drop them now and then, so memory stays bounded.
        self._calls += 1
        if self._calls % 10_000:
            return
        self._buckets = {
            k: (t, u) for k, (t, u) in self._buckets.items() if now - u < limit.seconds
        }
        self._backoff = {k: v for k, v in self._backoff.items() if v[2] > now}

    def backoff_attempt(
        self, keys: Sequence[str], free: int, base: float, cap: float, forget: float
    ) -> float:
        with self._lock:
            now = self._clock()
            states = {}
            for key in keys:
                failures, blocked, expires = self._backoff.get(key, (0, 0.0, 0.0))
                if expires <= now:
                    failures, blocked = 0, 0.0
                if blocked > now:
                    return blocked - now
                states[key] = failures
            for key, failures in states.items():
                failures += 1
                blocked = now + _backoff_seconds(failures, free, base, cap)
                self._backoff[key] = (failures, blocked, max(blocked, now) + forget)
            return 0.0

    def backoff_clear(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._backoff.pop(key, None)


def _backoff_seconds(failures: int, free: int, base: float, cap: float) -> float:
    if failures < free:
        return 0.0
    return min(cap, base * 2 ** (failures - free))


# Redis: the same algorithms as one script each, on the server's clock, so they are atomic
# across replicas.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local count = tonumber(ARGV[1])
local seconds = tonumber(ARGV[2])
local rate = count / seconds
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(state[1]) or count
local updated = tonumber(state[2]) or now
tokens = math.min(count, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(seconds * 1000) + 1000)
return tostring(wait)
"""

_BACKOFF = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local free, base, cap, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local failures = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'f', 'b')
  local blocked = tonumber(state[2]) or 0
  if blocked > now then return tostring(blocked - now) end
  failures[i] = tonumber(state[1]) or 0
end
for i, key in ipairs(KEYS) do
  local f = failures[i] + 1
  local wait = 0
  if f >= free then wait = math.min(cap, base * 2 ^ (f - free)) end
  redis.call('HSET', key, 'f', f, 'b', tostring(now + wait))
  redis.call('PEXPIRE', key, math.ceil((wait + forget) * 1000))
end
return '0'
"""


class RedisBackend:
    """Shared by every process that uses the same Redis and `prefix`."""

    def __init__(self, client: Any, prefix: str = "ecrin:rl") -> None:
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)
        self._backoff = client.register_script(_BACKOFF)

    @classmethod
    def from_url(cls, url: str, prefix: str = "ecrin:rl") -> RedisBackend:
        import redis

        section = redis_lock_store(url)
        client = redis.Redis(
            host=str(section["url"]),
            port=int(section["port"]),  # type: ignore[call-overload]
            db=int(section["db"]),  # type: ignore[call-overload]
            username=section.get("username"),  # type: ignore[arg-type]
            password=section.get("password"),  # type: ignore[arg-type]
            ssl=bool(section["use_ssl"]),
            socket_connect_timeout=1,
            socket_timeout=1,
        )
        return cls(client, f"{section['key_prefix']}:rl")

    def take(self, key: str, limit: Limit) -> float:
        return float(self._take(keys=[f"{self.prefix}:{key}"], args=[limit.count, limit.seconds]))

    def backoff_attempt(
        self, keys: Sequence[str], free: int, base: float, cap: float, forget: float
    ) -> float:
        full = [f"{self.prefix}:{key}" for key in keys]
        return float(self._backoff(keys=full, args=[free, base, cap, forget]))

    def backoff_clear(self, keys: Sequence[str]) -> None:
        self.client.delete(*[f"{self.prefix}:{key}" for key in keys])


class RateLimiter:
    """`check(scope, key)` → Decision, with one Limit per scope (scopes without one pass)."""

    def __init__(self, limits: Mapping[str, Limit], backend: Backend | None = None) -> None:
        self.limits = dict(limits)
        self.backend: Backend = backend or MemoryBackend()

    def check(self, scope: str, key: str) -> Decision:
        limit = self.limits.get(scope)
        if limit is None or limit.off or not key:
            return Decision(True)
        try:
            wait = self.backend.take(f"{scope}:{key}", limit)
        except Exception:  # Redis down or slow: let the request through, say so
            logger.warning("Rate limit store unavailable; %s not limited", scope, exc_info=True)
            return Decision(True)
        return Decision(wait <= 0, wait)

    def check_all(self, checks: Iterable[tuple[str, str]]) -> Decision:
        """Each (scope, key) in turn; the first refusal wins."""
        for scope, key in checks:
            decision = self.check(scope, key)
            if not decision.allowed:
                return decision
        return Decision(True)


def limits_from_env(env: Mapping[str, str] | None = None) -> dict[str, Limit]:
    """The limit of each scope, from the settings of `env` (default: this process's)."""
    limits = Settings.from_env(env).rate_limits
    per_sender = Limit(limits.per_sender, limits.sender_window)
    return {
        SENDER: per_sender,
        TELEGRAM_CHAT: per_sender,
        ADDRESS: Limit(limits.per_address, limits.address_window),
        # At most one "please slow down" per chat per window: a flood gets one notice.
        TELEGRAM_NOTICE: Limit(1, limits.sender_window),
    }


def backend_from_env(env: Mapping[str, str] | None = None) -> Backend:
    """Redis when RATE_LIMIT_REDIS_URL (or LOCK_STORE_URL) names one, else this process's
    memory."""
    url = Settings.from_env(env).rate_limits.store_url
    return RedisBackend.from_url(url) if url else MemoryBackend()


_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def shared_backend() -> Backend:
    """One backend per process, from the environment, made at first use."""
    with _shared_lock:
        if "backend" not in _shared:
            _shared["backend"] = backend_from_env()
        return _shared["backend"]


def limiter_from_env() -> RateLimiter:
    return RateLimiter(limits_from_env(), shared_backend())


# --- Login back-off ----------------------------------------------------------------------------


@dataclass
class LoginBackoff:
    """Failed logins per key, with exponential back-off and no permanent lock-out.

    `attempt(keys)` is called before the password is checked: it refuses (seconds to wait)
    when any key is blocked, and otherwise counts the attempt as a failure on every key, in
    one atomic step; `succeeded(keys)` forgets them. From the `free`-th failure on, a key is
    blocked for base, 2·base, 4·base … seconds, at most `cap`; `forget` seconds after the last
    block ends, the count starts again.
    """

    backend: Backend
    free: int = 10
    base: float = 1.0
    cap: float = 60.0
    forget: float = 3600.0

    def attempt(self, keys: Sequence[str]) -> float:
        try:
            return self.backend.backoff_attempt(
                [f"login:{k}" for k in keys], self.free, self.base, self.cap, self.forget
            )
        except Exception:  # the store is down: the database throttle still applies
            logger.warning("Login back-off store unavailable", exc_info=True)
            return 0.0

    def succeeded(self, keys: Sequence[str]) -> None:
        try:
            self.backend.backoff_clear([f"login:{k}" for k in keys])
        except Exception:
            logger.warning("Login back-off store unavailable", exc_info=True)
