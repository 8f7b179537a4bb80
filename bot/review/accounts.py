"""Staff accounts: argon2 password hashes, two roles, and login throttling.

Throttling has two layers, both counted before the password is checked so that parallel
attempts cannot slip through together:

* per (username, address): `max_failures` failures in `window_seconds` and the pair is
  refused until the window moves on (the database; each attempt is recorded, committed, then
  counted);
* per username and per address on their own (bot.ratelimit.LoginBackoff, in Redis when one is
  configured): from the 10th failure, exponential back-off from 1 s to at most 60 s, so
  guessing from many addresses is slowed down, but staff are never locked out for good.

The address is the one bot.ratelimit.client_address gives (forwarded headers only from
TRUSTED_PROXIES). Hashing runs at most REVIEW_HASH_CONCURRENCY (2) at a time: each argon2
hash takes 64 MiB, and many logins at once must not exhaust memory.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from bot.ratelimit import LoginBackoff, MemoryBackend, shared_backend
from bot.settings import current
from bot.tracker_db.schema import ROLES, login_attempts, staff

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[\w.@+-]{2,80}$")

_hasher = PasswordHasher()
_hash_slots: threading.BoundedSemaphore | None = None
_hash_slots_lock = threading.Lock()


def _hashing() -> threading.BoundedSemaphore:
    """At most REVIEW_HASH_CONCURRENCY (bot.settings) hashes at a time in this process: made
    once, at the first hash, under a lock so that logins arriving together share one."""
    global _hash_slots
    with _hash_slots_lock:
        if _hash_slots is None:
            _hash_slots = threading.BoundedSemaphore(current().review.hash_concurrency)
        return _hash_slots


def _hash(password: str) -> str:
    with _hashing():
        return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    # Verified when the username is unknown, so a wrong name costs as long as a wrong
    # password and response times do not tell which names exist.
    return _hash("not-a-real-password")


_backoffs: weakref.WeakKeyDictionary[Engine, LoginBackoff] = weakref.WeakKeyDictionary()
_backoffs_lock = threading.Lock()


def login_backoff(engine: Engine) -> LoginBackoff:
    """The back-off for logins to `engine`'s accounts: shared through Redis when
    RATE_LIMIT_REDIS_URL / LOCK_STORE_URL is set, otherwise kept in this process."""
    with _backoffs_lock:
        if engine not in _backoffs:
            backend = shared_backend() if current().rate_limits.store_url else MemoryBackend()
            _backoffs[engine] = LoginBackoff(backend)
        return _backoffs[engine]


class AccountError(ValueError):
    """A staff account cannot be created or changed; the message says why."""


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_edit(self) -> bool:
        """May change the assistant's data (events, partners): editors and admins."""
        return self.role in ("editor", "admin")


class LoginOutcome(Enum):
    OK = "ok"
    WRONG = "wrong"
    THROTTLED = "throttled"


class Login(NamedTuple):
    """What a login attempt came to; `retry_after`: when THROTTLED, the seconds until an
    attempt from this account and address is checked again."""

    outcome: LoginOutcome
    staff: Staff | None
    retry_after: int = 0


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_new_account(username: str, password: str, role: str) -> str:
    """The normalised username, or AccountError for a bad name, password or role."""
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise AccountError(
            "A username is 2 to 80 letters, digits or . _ @ + - (no spaces), e.g. jane.doe"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}")
    return name


def add_staff(engine: Engine, username: str, password: str, role: str = "reviewer") -> Staff:
    name = check_new_account(username, password, role)
    with engine.begin() as connection:
        exists = connection.execute(sa.select(staff.c.id).where(staff.c.username == name)).first()
        if exists:
            raise AccountError(f"{name} already has an account")
        staff_id = connection.execute(
            staff.insert().values(
                username=name,
                password_hash=_hash(password),
                role=role,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]
    return Staff(staff_id, name, role)


def remove_staff(engine: Engine, username: str) -> bool:
    """Remove an account (its sessions end at their next request); False if there was none."""
    with engine.begin() as connection:
        result = connection.execute(
            staff.delete().where(staff.c.username == normalise_username(username))
        )
        return bool(result.rowcount)


def list_staff(engine: Engine) -> list[Staff]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(staff.c.id, staff.c.username, staff.c.role).order_by(staff.c.username)
        )
        return [Staff(*row) for row in rows]


def get_staff(engine: Engine, staff_id: int) -> Staff | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(staff.c.id, staff.c.username, staff.c.role).where(staff.c.id == staff_id)
        ).first()
    return Staff(*row) if row else None


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    ip: str,
    max_failures: int = 5,
    window_seconds: int = 15 * 60,
    now: float | None = None,
    backoff: LoginBackoff | None = None,
) -> Login:
    """Check a login, throttled per (username, address): after `max_failures` failures within
    `window_seconds` every attempt is refused, right or wrong, until the window moves on; and
    per username and per address with back-off (see the module's docstring)."""
    now = time.time() if now is None else now
    name = normalise_username(username)[:80]
    ip = ip[:64]
    backoff = backoff or login_backoff(engine)
    keys = [f"account:{name}", f"address:{ip}"]
    wait = backoff.attempt(keys)
    if wait > 0:
        return Login(LoginOutcome.THROTTLED, None, math.ceil(wait))

    # Recorded as a failure and committed before counting: of attempts made at the same
    # moment, each one counts all those before it, so no more than `max_failures` get through.
    with engine.begin() as connection:
        # Forget attempts nobody needs any more, so the table stays small.
        connection.execute(
            login_attempts.delete().where(login_attempts.c.attempted_at < now - 86_400)
        )
        attempt_id = connection.execute(
            login_attempts.insert().values(username=name, ip=ip, attempted_at=now, succeeded=False)
        ).inserted_primary_key[0]
    mine = login_attempts.c.id == attempt_id
    with engine.begin() as connection:
        failures = connection.execute(
            sa.select(sa.func.count()).where(
                login_attempts.c.username == name,
                login_attempts.c.ip == ip,
                login_attempts.c.attempted_at >= now - window_seconds,
                login_attempts.c.succeeded.is_(False),
            )
        ).scalar_one()
        if failures > max_failures:
            connection.execute(login_attempts.delete().where(mine))
            # Refused until the oldest failure in the window leaves it.
            oldest = connection.execute(
                sa.select(sa.func.min(login_attempts.c.attempted_at)).where(
                    login_attempts.c.username == name,
                    login_attempts.c.ip == ip,
                    login_attempts.c.attempted_at >= now - window_seconds,
                    login_attempts.c.succeeded.is_(False),
                )
            ).scalar_one()
            wait = (oldest or now) + window_seconds - now
            return Login(LoginOutcome.THROTTLED, None, max(1, math.ceil(wait)))
        row = connection.execute(
            sa.select(staff.c.id, staff.c.username, staff.c.role, staff.c.password_hash).where(
                staff.c.username == name
            )
        ).first()

    ok = _verify(row.password_hash if row else _dummy_hash(), password) and row is not None
    if not ok:
        return Login(LoginOutcome.WRONG, None)
    assert row is not None
    with engine.begin() as connection:
        connection.execute(login_attempts.update().where(mine).values(succeeded=True))
        if _hasher.check_needs_rehash(row.password_hash):
            connection.execute(
                staff.update().where(staff.c.id == row.id).values(password_hash=_hash(password))
            )
        # A success clears this pair's failures: a colleague's typos don't lock them out later.
        connection.execute(
            login_attempts.delete().where(
                login_attempts.c.username == name,
                login_attempts.c.ip == ip,
                login_attempts.c.succeeded.is_(False),
            )
        )
    backoff.succeeded([f"account:{name}"])
    return Login(LoginOutcome.OK, Staff(row.id, row.username, row.role))


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _hashing():
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
